"""Front ends over the compiled doctrines: the CLI's tools, interviews, the web app and MCP."""
