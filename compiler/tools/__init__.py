"""The front ends: the CLI, fmt, graph, highlighter, import hook, LSP, plugins, ask, serve, mcp."""
