"""Code generation: a checked program to a Python module, written to disk or loaded."""
