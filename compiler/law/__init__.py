"""Legal notions over the library: which rule governs, precedents, stages."""
