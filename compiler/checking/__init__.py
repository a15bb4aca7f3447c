"""Checking: the checker, the frozen checked project it returns, the lint pass, the program."""
