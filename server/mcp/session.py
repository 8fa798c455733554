"""What the MCP server keeps between calls: the workspace, the current dataset, answers already computed, and the
full result tables (a CSV under the workspace and a `table://` resource) that the bounded answers point to."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

from customer_health.server.mcp.view import MAX_CHARS
from customer_health.server.render.output import to_csv
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace, example_dir

MAX_PASTE = 2_000_000  # characters of pasted CSV
_TABLE_NAME = re.compile(r"^[a-z0-9_\-]{1,80}$")


class Session:
    """One server's state. Calls may arrive on several threads (HTTP): one lock serialises the DuckDB work."""

    def __init__(
        self,
        home: Path | None = None,
        allow: list[str] | tuple[str, ...] = (),
        preload: list[str] | tuple = (),
    ) -> None:
        self._home = home
        self._allow = list(allow)
        self._preload = list(preload)  # loaded on first use, so start-up stays fast
        self._ws = None
        self._loaded = None
        self._dataset = None
        self._cache: dict[tuple, dict] = {}
        self.lock = threading.RLock()

    # --- workspace and dataset -------------------------------------------------------------------------------
    @property
    def workspace(self):
        if self._ws is None:
            self._ws = Workspace(self._home)
        return self._ws

    @property
    def outputs(self) -> Path:
        folder = self.workspace.home / "outputs" / "mcp"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def roots(self):
        roots = AllowedRoots.from_env(self._allow)
        roots.roots.append((self.workspace.home / "pasted").resolve())
        return roots

    def load_more(self, path: str):
        """Another export (an outcomes file) as a dataset of its own, without changing the current one."""
        return self.workspace.dataset(self.workspace.load([path], roots=self.roots(), today=date.today()))

    def load(self, paths: list[str], progress: Callable[[int, int, str], None] | None = None):
        """Load paths (cached by content hash) and make them the current dataset."""
        result = self.workspace.load(paths, roots=self.roots(), today=date.today(), progress=progress)
        self._loaded, self._dataset = result, self.workspace.dataset(result)
        self._cache.clear()
        return result

    def paste(self, text: str, name: str | None) -> Path:
        """Pasted CSV text becomes a file in the workspace (keyed by its hash), which is then loaded like any other."""
        if len(text) > MAX_PASTE:
            raise InputError(
                f"the pasted text is {len(text):,} characters; at most {MAX_PASTE:,} can be pasted.",
                fix="Save the export to a file in the working directory and pass its path instead.",
            )
        if "\n" not in text.strip() and "," not in text:
            raise InputError(
                "the pasted text does not look like CSV (a header line and at least one row).",
                fix="Paste the export with its header row, or pass a file path.",
            )
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        stem = re.sub(r"[^A-Za-z0-9_\-]", "_", name or "pasted")[:40]
        folder = self.workspace.home / "pasted"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}-{digest}.csv"
        if not path.exists():
            path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        return path

    @property
    def dataset(self):
        if self._dataset is None and self._preload:
            paths, self._preload = self._preload, []
            self.load(paths)
        if self._dataset is None:
            raise InputError(
                "no dataset is loaded yet.",
                fix=f"Call load_data with the paths of your exports (files or folders), or with paths "
                f"['{example_dir()}'] to try the bundled example portfolio.",
            )
        return self._dataset

    @property
    def loaded(self):
        self.dataset  # noqa: B018 - raises the how-to-load error when nothing is loaded
        return self._loaded

    def cached(self, key: tuple, compute: Callable[[], dict]) -> dict:
        """The answer for `key` on the current dataset, computed once (a dataset never changes once loaded)."""
        with self.lock:
            full = (self.dataset.dataset_id, *key)
            if full not in self._cache:
                self._cache[full] = compute()
            return self._cache[full]

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    # --- full tables -----------------------------------------------------------------------------------------
    def full_table(self, name: str, rows: list[dict]) -> dict[str, str]:
        """Write every row of a result as a CSV in the workspace; the keys that say where it is."""
        table = re.sub(r"[^a-z0-9_\-]", "_", name.lower())[:80]
        return {"full_table": str(self.write_table(table, rows)), "full_table_uri": f"table://{table}"}

    def write_table(self, name: str, rows: list[dict]) -> Path:
        path = self.outputs / f"{name}.csv"
        path.write_text(to_csv(rows), encoding="utf-8")
        return path

    def read_table(self, name: str) -> str:
        if not _TABLE_NAME.match(name):
            raise InputError(f"'{name}' is not a table name.", fix="Use the full_table_uri a tool returned.")
        path = self.outputs / f"{name}.csv"
        if not path.is_file():
            known = sorted(p.stem for p in self.outputs.glob("*.csv"))
            raise InputError(f"no table named '{name}' has been written yet.", options=known[:10])
        return path.read_text(encoding="utf-8")


def capped(text: str, limit: int = MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 40] + "\n… (cut at 20,000 characters)"
