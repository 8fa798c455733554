"""What the MCP server keeps between calls: the workspace, the current dataset, answers already computed, and the
full result tables (a CSV under the workspace and a `table://` resource) that the bounded answers point to.

The workspace remembers the dataset a session loaded: a new server on the same workspace picks it up on the first
call that needs a dataset (unless it was started with paths to load), so a new conversation carries on where the
last one stopped.

Over HTTP several clients share one server: `Sessions` keeps one `Session` per MCP session (keyed by its
Mcp-Session-Id, which server/mcp/http.py puts in `current_key` for each request), each with its own dataset, answers,
client roots and output folder, over one shared workspace and one lock. Idle sessions are forgotten and their number
is capped, so memory stays bounded."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date
from pathlib import Path

from customer_health.server.mcp.view import MAX_CHARS
from customer_health.server.render.output import to_csv
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace, example_dir

log = logging.getLogger("customer_health.mcp")
MAX_PASTE = 2_000_000  # characters of pasted CSV
_TABLE_NAME = re.compile(r"^[a-z0-9_\-]{1,80}$")
IDLE_SECONDS = 30 * 60  # the SDK's own idle limit for an HTTP session
MAX_SESSIONS = 50
# the MCP session a request belongs to (HTTP); None over stdio and in memory, where there is only one
current_key: ContextVar[str | None] = ContextVar("customer_health_mcp_session", default=None)


class Session:
    """One server's state. Calls may arrive on several threads (HTTP): one lock serialises the DuckDB work."""

    def __init__(
        self,
        home: Path | None = None,
        allow: list[str] | tuple[str, ...] = (),
        preload: list[str] | tuple = (),
        *,
        workspace: Workspace | None = None,
        lock: threading.RLock | None = None,
        outputs_name: str | None = None,
    ) -> None:
        """A session of its own (stdio), or one of several sharing a `workspace` and its `lock` (HTTP), writing
        its tables under outputs/mcp/`outputs_name`."""
        self._home = home
        self._allow = list(allow)
        self._preload = list(preload)  # loaded on first use, so start-up stays fast
        self.restore_pending = True  # the remembered dataset is picked up on first use too
        self._restore_note: str | None = None  # why it could not be, when it could not
        self.client_roots: list[Path] = []  # folders the MCP client offered (its roots)
        self._ws = workspace
        self._shared = workspace is not None  # closed by its owner, not by this session
        self._outputs_name = outputs_name
        self._loaded = None
        self._dataset = None
        self._cache: dict[tuple, dict] = {}
        self.lock = lock or threading.RLock()

    # --- workspace and dataset -------------------------------------------------------------------------------
    @property
    def workspace(self):
        if self._ws is None:
            self._ws = Workspace(self._home)
        return self._ws

    @property
    def outputs(self) -> Path:
        folder = self.workspace.home / "outputs" / "mcp"
        if self._outputs_name:
            folder = folder / self._outputs_name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def roots(self):
        roots = AllowedRoots.from_env([*self._allow, *self.client_roots])
        roots.roots.append((self.workspace.home / "pasted").resolve())
        return roots

    def load_more(self, path: str):
        """Another export (an outcomes file) as a dataset of its own, without changing the current one."""
        return self.workspace.dataset(self.workspace.load([path], roots=self.roots(), today=date.today()))

    def restore(self) -> None:
        """Pick up the dataset this workspace remembers, once; if it cannot be, start empty and keep the reason."""
        self.restore_pending = False
        try:
            restored = self.workspace.restore(roots=self.roots(), today=date.today())
        except Exception as exc:  # an unreadable workspace record must not stop the server serving
            log.warning("could not pick up the remembered dataset", exc_info=True)
            self._restore_note = (
                f"The dataset remembered in this workspace could not be picked up again ({exc})."
            )
            return
        if restored.result is not None:
            self._use(restored.result)
        self._restore_note = restored.note if restored.result is None else None

    def load(self, paths: list[str], progress: Callable[[int, int, str], None] | None = None):
        """Load paths (cached by content hash) and make them the current dataset."""
        result = self.workspace.load(
            paths, roots=self.roots(), today=date.today(), progress=progress, remember=True
        )
        self.restore_pending, self._restore_note = (
            False,
            None,
        )  # an explicit load replaces what was remembered
        self._use(result)
        return result

    def _use(self, result) -> None:
        self._loaded, self._dataset = result, self.workspace.dataset(result)
        self._cache.clear()

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
        if self._dataset is None and self.restore_pending:
            self.restore()
        if self._dataset is None:
            remembered = f" {self._restore_note}" if self._restore_note else ""
            raise InputError(
                f"no dataset is loaded yet.{remembered}",
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
        if self._ws is not None and not self._shared:
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


class Sessions:
    """One `Session` per MCP session, chosen by `current_key`; used where a `Session` is (attributes not its own
    are the current session's), so the tools need not know. Sessions share the workspace (one DuckDB file, so one
    lock); one closed by its client, idle longer than `idle_seconds`, or the least recently used beyond `cap` is
    forgotten with its answers (its tables stay on disk) — its client's next call starts afresh, picking up the
    remembered dataset."""

    _OWN = frozenset({"lock", "_args", "_workspace", "_sessions", "_guard", "idle_seconds", "cap"})

    def __init__(
        self,
        home: Path | None = None,
        allow: list[str] | tuple[str, ...] = (),
        preload: list[str] | tuple = (),
        *,
        idle_seconds: float = IDLE_SECONDS,
        cap: int = MAX_SESSIONS,
    ) -> None:
        self._args = (home, list(allow), list(preload))
        self._workspace = Workspace(home)  # connects on first use
        self.lock = threading.RLock()
        self.idle_seconds, self.cap = idle_seconds, cap
        self._sessions: OrderedDict[str, tuple[Session, float]] = OrderedDict()  # least recently used first
        self._guard = threading.Lock()

    def current(self) -> Session:
        key = current_key.get() or "local"
        now = time.monotonic()
        with self._guard:
            entry = self._sessions.pop(key, None)
            session = entry[0] if entry else self._new(key)
            gone = [k for k, (_, seen) in self._sessions.items() if now - seen > self.idle_seconds]
            self._sessions[key] = (session, now)
            while len(self._sessions) - len(gone) > self.cap:
                gone.append(next(k for k in self._sessions if k not in gone))
            for k in gone:  # what they held leaves memory with them; their tables stay on disk
                del self._sessions[k]
        return session

    def forget(self, key: str) -> None:
        """The MCP session `key` ended (its client closed it): its data goes now rather than when idle."""
        with self._guard:
            self._sessions.pop(key, None)

    def _new(self, key: str) -> Session:
        home, allow, preload = self._args
        # the session id is as good as a password while the session lasts: never in a path
        name = hashlib.sha256(key.encode()).hexdigest()[:16]
        return Session(home, allow, preload, workspace=self._workspace, lock=self.lock, outputs_name=name)

    def __len__(self) -> int:
        return len(self._sessions)

    def __getattr__(self, name: str):
        if name in self._OWN:  # not set yet (during construction): never look it up in a session
            raise AttributeError(name)
        return getattr(self.current(), name)

    def __setattr__(self, name: str, value) -> None:
        if name in self._OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self.current(), name, value)

    def close(self) -> None:
        with self._guard:
            self._sessions.clear()
        self._workspace.close()


def capped(text: str, limit: int = MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 40] + "\n… (cut at 20,000 characters)"
