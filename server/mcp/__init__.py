"""The MCP face: the server (generated tools, resources, prompts) and what it keeps between calls."""

from customer_health.server.mcp.server import build_server, serve

__all__ = ["build_server", "serve"]
