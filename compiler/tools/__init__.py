"""The front ends: command line, formatter, graph, highlighter, import hook, LSP, plugins."""
