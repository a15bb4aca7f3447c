"""The checker, the checked program it produces (ir), and the logic it reasons with."""
