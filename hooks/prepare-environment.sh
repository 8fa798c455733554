#!/bin/sh
# SessionStart hook of the customer-health-analyst plugin: install (or update) the server's Python environment
# from the committed uv.lock, so that `uv run --frozen` in plugin.json starts the server without installing anything.
# The environment lives in the plugin's data folder, which survives plugin updates. Quiet on stdout (a SessionStart
# hook's stdout is added to the conversation); a problem is reported on stderr and never blocks the session.
root="${CLAUDE_PLUGIN_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}"
data="${CLAUDE_PLUGIN_DATA:-$root/.plugin-data}"
if ! command -v uv >/dev/null 2>&1; then
    echo "customer-health-analyst: uv is not on PATH; install it (https://docs.astral.sh/uv/) to start the server." >&2
    exit 0
fi
mkdir -p "$data"
UV_PROJECT_ENVIRONMENT="$data/venv" uv sync --quiet --frozen --no-dev --compile-bytecode --project "$root" >&2 \
    || echo "customer-health-analyst: 'uv sync' failed; the server will try again when it starts." >&2
exit 0
