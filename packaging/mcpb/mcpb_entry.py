"""Entry point of the Claude Desktop bundle: the MCP server over stdio.

The host runs it inside the bundle's uv project (pyproject.toml + uv.lock); the exports folder the user chose arrives
as CUSTOMER_HEALTH_ALLOW (see manifest.json), which the server already treats as an allowed root.
"""

import sys

from customer_health.server.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
