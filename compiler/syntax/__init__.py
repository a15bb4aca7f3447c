"""The source language: grammar access, parser, syntax tree, loader and unparser."""
