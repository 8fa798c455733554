"""What the MCP server keeps between calls: the workspace, the current dataset, answers already computed, and the
full result tables (a CSV under the workspace and a `table://` resource) that the bounded answers point to.

The workspace remembers the dataset a session loaded: a new server on the same workspace picks it up on the first
call that needs a dataset (unless it was started with paths to load), so a new conversation carries on where the
last one stopped.

Over HTTP several clients share one server: `Sessions` keeps one `Session` per MCP session (keyed by its
Mcp-Session-Id, which server/mcp/http.py puts in `current_key` for each request), each with its own dataset, answers,
client roots and output folder, over one shared workspace and one lock. Idle sessions are forgotten and their number
is capped, so memory stays bounded.

What an HTTP session writes for itself — its full result tables and its pasted text — lives in a scratch folder of its
own (<home>/sessions/<hash of its id>-<random>/), removed when the session ends (its client closes it), expires (idle,
or pushed out by the cap) or the server stops; one a killed server left is swept at the next start once idle too
long. What the user asked a tool to write is kept: a fitted profile and the dashboard go to the session's outputs
folder (<home>/outputs/mcp/<hash>/), and a path the user named stays where it is; only an empty outputs folder is
removed. When each person holds a token of their own, nobody picks up the dataset another person loaded."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import shutil
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
IDLE_ENV, MAX_SESSIONS_ENV = "CUSTOMER_HEALTH_SESSION_IDLE_SECONDS", "CUSTOMER_HEALTH_MAX_SESSIONS"
# the MCP session a request belongs to (HTTP); None over stdio and in memory, where there is only one
current_key: ContextVar[str | None] = ContextVar("customer_health_mcp_session", default=None)


class Holders:
    """Who loaded the dataset the workspace remembers, as far as this server knows. When each person holds a token
    of their own (`apart`), a new session picks up the remembered dataset only if its own holder loaded it."""

    def __init__(self) -> None:
        self.apart = False
        self.last: str | None = None  # None: loaded before this server started, by someone it cannot name


_NOT_YOURS = (
    "The dataset remembered in this workspace may be another person's (this server keeps each token holder's data "
    "apart), so it is not picked up."
)


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
        holder: str = "",
        holders: Holders | None = None,
    ) -> None:
        """A session of its own (stdio), or one of several sharing a `workspace` and its `lock` (HTTP), writing
        what the user asked for under outputs/mcp/`outputs_name` and its scratch under sessions/`outputs_name`."""
        self._home = home
        self._allow = list(allow)
        self._preload = list(preload)  # loaded on first use, so start-up stays fast
        self.restore_pending = True  # the remembered dataset is picked up on first use too
        self._restore_note: str | None = None  # why it could not be, when it could not
        self.client_roots: list[Path] = []  # folders the MCP client offered (its roots)
        self._ws = workspace
        self._shared = workspace is not None  # closed by its owner, not by this session
        self._outputs_name = outputs_name
        # a scratch folder of this session object's own: a later session under the same key never shares it
        self._scratch_name = f"{outputs_name}-{secrets.token_hex(4)}" if outputs_name else None
        self._holder, self._holders = holder, holders
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

    def _outputs_path(self) -> Path:
        folder = self.workspace.home / "outputs" / "mcp"
        return folder / self._outputs_name if self._outputs_name else folder

    @property
    def outputs(self) -> Path:
        """Where the tools write what the user asked for (a fitted profile, the dashboard): kept after the session."""
        folder = self._outputs_path()
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def scratch(self) -> Path | None:
        """This HTTP session's own folder, removed when it ends; None for the one session of a stdio server."""
        return self.workspace.home / "sessions" / self._scratch_name if self._scratch_name else None

    def _folder(self, part: str, *, create: bool = True) -> Path:
        """The folder for the full tables or the pasted text: under the scratch folder when there is one."""
        scratch = self.scratch
        if scratch is None:
            return self.outputs if part == "tables" else self.workspace.home / part
        folder = scratch / part
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        return folder

    def discard(self) -> None:
        """Remove what this session wrote for itself (its scratch folder) and its outputs folder if it is empty;
        every file a user asked for stays."""
        scratch = self.scratch
        if scratch is None:
            return
        shutil.rmtree(scratch, ignore_errors=True)
        with contextlib.suppress(OSError):
            self._outputs_path().rmdir()  # only an empty folder can be removed

    def roots(self):
        roots = AllowedRoots.from_env([*self._allow, *self.client_roots])
        roots.roots.append(self._folder("pasted", create=False).resolve())
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

    def load(
        self,
        paths: list[str],
        progress: Callable[[int, int, str], None] | None = None,
        engine: str = "duckdb",
    ):
        """Load paths (cached by content hash), or a database (engine), and make them the current dataset."""
        result = self.workspace.load(
            paths, roots=self.roots(), today=date.today(), progress=progress, remember=True, engine=engine
        )
        self.restore_pending, self._restore_note = (
            False,
            None,
        )  # an explicit load replaces what was remembered
        if self._holders is not None:
            self._holders.last = self._holder
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
        folder = self._folder("pasted")
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
            holders = self._holders
            if holders is not None and holders.apart and holders.last != self._holder:
                self.restore_pending, self._restore_note = False, _NOT_YOURS
            else:
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
        path = self._folder("tables") / f"{name}.csv"
        path.write_text(to_csv(rows), encoding="utf-8")
        return path

    def read_table(self, name: str) -> str:
        if not _TABLE_NAME.match(name):
            raise InputError(f"'{name}' is not a table name.", fix="Use the full_table_uri a tool returned.")
        folder = self._folder("tables")
        path = folder / f"{name}.csv"
        if not path.is_file():
            known = sorted(p.stem for p in folder.glob("*.csv"))
            raise InputError(f"no table named '{name}' has been written yet.", options=known[:10])
        return path.read_text(encoding="utf-8")


class Sessions:
    """One `Session` per MCP session, chosen by `current_key`; used where a `Session` is (attributes not its own
    are the current session's), so the tools need not know. Sessions share the workspace (one DuckDB file, so one
    lock); one closed by its client, idle longer than `idle_seconds`, or the least recently used beyond `cap` is
    forgotten with its answers and its scratch folder (what the user asked to keep stays) — its client's next call
    starts afresh, picking up the remembered dataset. `idle_seconds` and `cap` default to CUSTOMER_HEALTH_SESSION_
    IDLE_SECONDS and CUSTOMER_HEALTH_MAX_SESSIONS when set (the HTTP app refuses a session beyond the cap)."""

    _OWN = frozenset(
        {"lock", "_args", "_workspace", "_sessions", "_guard", "idle_seconds", "cap", "_cleaners", "_holders"}
    )

    def __init__(
        self,
        home: Path | None = None,
        allow: list[str] | tuple[str, ...] = (),
        preload: list[str] | tuple = (),
        *,
        idle_seconds: float | None = None,
        cap: int | None = None,
    ) -> None:
        self._args = (home, list(allow), list(preload))
        self._workspace = Workspace(home)  # connects on first use
        self.lock = threading.RLock()
        self.idle_seconds = idle_seconds if idle_seconds is not None else _setting(IDLE_ENV, IDLE_SECONDS)
        self.cap = cap if cap is not None else int(_setting(MAX_SESSIONS_ENV, MAX_SESSIONS))
        self._sessions: OrderedDict[str, tuple[Session, float]] = OrderedDict()  # least recently used first
        self._guard = threading.Lock()
        self._cleaners: list[threading.Thread] = []
        self._holders = Holders()
        self._sweep_stale()

    def keep_holders_apart(self) -> None:
        """Each token names a person: none of them picks up a dataset another one loaded."""
        self._holders.apart = True

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
            ended = [self._sessions.pop(k)[0] for k in gone]  # what they held leaves memory with them
        self._discard(ended)
        return session

    def forget(self, key: str) -> None:
        """The MCP session `key` ended (its client closed it): its data goes now rather than when idle."""
        with self._guard:
            entry = self._sessions.pop(key, None)
        self._discard([entry[0]] if entry else [])

    def _discard(self, ended: list[Session]) -> None:
        """Remove what ended sessions wrote for themselves, in the background once no computation runs (they all
        share one lock), so a request never waits for another session's work to finish."""
        if not ended:
            return

        def remove() -> None:
            with self.lock:
                for session in ended:
                    session.discard()

        cleaner = threading.Thread(target=remove, name="customer-health-session-cleanup", daemon=True)
        self._cleaners = [t for t in self._cleaners if t.is_alive()] + [cleaner]
        cleaner.start()

    def _sweep_stale(self) -> None:
        """Scratch folders a stopped (or killed) server left behind, untouched for longer than the idle limit."""
        folder = self._workspace.home / "sessions"
        if not folder.is_dir():
            return
        cutoff = time.time() - self.idle_seconds
        for scratch in folder.iterdir():
            with contextlib.suppress(OSError):
                newest = max(p.stat().st_mtime for p in [scratch, *scratch.rglob("*")])
                if newest < cutoff:
                    shutil.rmtree(scratch, ignore_errors=True)

    def _new(self, key: str) -> Session:
        home, allow, preload = self._args
        # the session id is as good as a password while the session lasts: never in a path
        name = hashlib.sha256(key.encode()).hexdigest()[:16]
        holder = key.partition("/")[0]  # "holder/session", or a holder's sessionless requests
        return Session(
            home,
            allow,
            preload,
            workspace=self._workspace,
            lock=self.lock,
            outputs_name=name,
            holder=holder,
            holders=self._holders,
        )

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
        """The server stops: every session's scratch folder goes (what users asked to keep stays)."""
        with self._guard:
            ended = [session for session, _ in self._sessions.values()]
            self._sessions.clear()
        for cleaner in self._cleaners:
            cleaner.join(timeout=30)
        with self.lock:
            for session in ended:
                session.discard()
        self._workspace.close()


def _setting(name: str, default: float) -> float:
    """A positive number from the environment variable `name`, or `default` when it is not set."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (0 < value < float("inf")):
        raise InputError(
            f"{name} is {raw[:40]!r}, not a positive number.", fix=f"Set {name} to e.g. {default:g}."
        )
    return value


def capped(text: str, limit: int = MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 40] + "\n… (cut at 20,000 characters)"
