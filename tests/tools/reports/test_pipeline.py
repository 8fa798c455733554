"""The one analysis pipeline: how it treats Python's cycle collector while it builds a portfolio's result."""

from __future__ import annotations

import gc
from pathlib import Path

from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.reports.pipeline import analyze

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_analyze_runs_no_collection_over_what_it_builds_and_leaves_the_collector_on(tmp_path):
    ws = Workspace(tmp_path)
    try:
        ds = ws.dataset(ws.load([EXAMPLES / "sample"], roots=AllowedRoots([EXAMPLES.resolve()])))
        collections: list[int] = []

        def count(phase: str, info: dict) -> None:
            if phase == "start":
                collections.append(info["generation"])

        gc.collect()
        gc.callbacks.append(count)
        try:
            result = analyze(ds)
        finally:
            gc.callbacks.remove(count)
        assert result.scores.accounts and result.risk.accounts
        assert collections == []  # each step used to end with a collection walking every row built so far
        assert gc.isenabled()
    finally:
        ws.close()
