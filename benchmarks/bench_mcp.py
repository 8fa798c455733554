"""MCP benchmark: each analysis tool beside the library call it wraps, in the same process, plus `initialize`.

    python benchmarks/bench_mcp.py [--accounts 10000] [--events 1000000] [--keep DIR]

The example generator (seeded) writes the portfolio; the workspace loads it once (not timed here). Then, for every
analysis declared in server/analyses.py, with its default arguments:
- library: `analysis.run(...)` on a fresh dataset handle (nothing memoised) — the computation alone;
- tool, first call: the MCP tool through `mcp.Client` in memory on a fresh server — the computation plus the
  conversation view (rows that fit 20,000 characters), the full-table CSV and the protocol;
- tool, again: the same call repeated (the answer is kept for the loaded dataset).
The tool's answer is checked to carry the library's first rows before anything is reported. `initialize` is timed
over stdio against `customer-health serve`, best of five.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import anyio


def initialize_seconds(repeat: int = 5) -> float:
    command = Path(sys.executable).parent / "customer-health"
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "b", "version": "0"},
        },
    }
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen([str(command), "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        proc.stdin.write((json.dumps(hello) + "\n").encode())
        proc.stdin.flush()
        assert b'"result"' in proc.stdout.readline()
        best = min(best, time.perf_counter() - start)
        proc.kill()
        proc.wait()
    return best


def main() -> None:
    from customer_health.examples.generate import generate
    from customer_health.server.analyses import ANALYSES, Inputs
    from customer_health.server.mcp.server import build_server
    from customer_health.tools.data.workspace import AllowedRoots, Workspace
    from mcp import Client

    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", help="Generate into (and reuse) this folder instead of a temporary one.")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="chbench-mcp-"))
    data = root / f"data-{args.accounts}-{args.events}"
    if not data.exists():
        generate(data, n_accounts=args.accounts, target_events=args.events)
    ws = Workspace(root / "ws")
    loaded = ws.load([data], roots=AllowedRoots([root.resolve()]), today=date.today())
    print(f"{args.accounts:,} accounts, {sum(t.rows for t in loaded.tables if t.kind == 'events'):,} events")
    print(f"initialize over stdio: {initialize_seconds():.2f} s (best of 5)\n")
    print(f"{'analysis':12s} {'library':>9s} {'tool 1st':>9s} {'tool again':>10s}  rows shown / total")

    async def tool_calls(name: str, arguments: dict) -> tuple[float, float, dict]:
        server = build_server(home=root / "ws-mcp", allow=[str(root)])
        async with Client(server) as client:
            await client.call_tool("load_data", {"paths": [str(data)]})
            start = time.perf_counter()
            result = await client.call_tool(name, arguments)
            first = time.perf_counter() - start
            start = time.perf_counter()
            await client.call_tool(name, arguments)
            again = time.perf_counter() - start
        server.session_state.close()
        assert not result.is_error, result.content[0].text
        return first, again, result.structured_content

    for analysis in ANALYSES:
        arguments = (
            {"steps": ["import_data", "build_report", "share_report"]} if analysis.name == "funnel" else {}
        )
        if analysis.name == "account":
            arguments = {"account_id": "ACC-00073" if args.accounts >= 10_000 else "ACC-0073"}
        if analysis.name == "validate":
            continue  # a backtest over every month: measured by its own tests, not a per-call target
        ds = ws.dataset(loaded)  # a fresh handle: nothing memoised
        start = time.perf_counter()
        result = analysis.run(Inputs(ds, lambda path: None), **analysis.arguments(arguments, "mcp"))
        library = time.perf_counter() - start
        first, again, shown = anyio.run(tool_calls, analysis.tool, arguments)
        rows = analysis.rows[0] if analysis.rows else None
        if rows and "." not in rows:
            ours = [r.model_dump(mode="json") for r in getattr(result, rows)[: len(shown[rows])]]
            keys = [k for k in ("account_id", "step", "health_score") if ours and k in ours[0]]
            assert [[r[k] for k in keys] for r in ours] == [[r[k] for k in keys] for r in shown[rows]]
        count = f"{len(shown[rows.split('.')[0]]) if rows and '.' not in rows else '-'} / {shown.get('total_rows')}"
        print(f"{analysis.name:12s} {library:8.2f}s {first:8.2f}s {again:9.3f}s  {count}")
    ws.close()


if __name__ == "__main__":
    main()
