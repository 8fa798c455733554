"""The `customer-health` command."""

from customer_health.server.cli.main import main

__all__ = ["main"]
