"""What went wrong with the workspace's storage, told apart from what is wrong with a source file.

DuckDB and the operating system report a full disk, a read-only folder, a damaged database file and a lock held by
another process as exceptions whose only common ground is their text and errno. `storage_fault` sorts them into
those four kinds, so a load never mistakes a full disk for an unreadable export (and skips it), and each kind gets
its own message and fix.
"""

from __future__ import annotations

import errno
from typing import Literal

Fault = Literal["full", "read_only", "damaged", "busy"]

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
# DuckDB's wording, lower-cased; the errno texts cover the OS errors it passes on
_PATTERNS: tuple[tuple[Fault, tuple[str, ...]], ...] = (
    ("busy", ("could not set lock on file", "conflicting lock")),
    ("full", ("no space left on device", "disk quota exceeded", "disk full", "out of disk")),
    ("read_only", ("read-only file system", "permission denied", "operation not permitted")),
    (
        "damaged",
        (
            "not a valid duckdb database file",
            "could not read enough bytes",
            "corrupt database file",
            "checksum",
            "failed to deserialize",
            "serialization error",
            "invalid database",
            "database file was created with",
            "trying to read a database file with version number",
            "wal file",
            "the database file is truncated",
        ),
    ),
)


def storage_fault(exc: BaseException) -> Fault | None:
    """The kind of storage fault `exc` reports, or None when it is about something else (a malformed export)."""
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno in _FULL_ERRNOS:
            return "full"
        if exc.errno in _READ_ONLY_ERRNOS:
            return "read_only"
    text = str(exc).lower()
    for fault, patterns in _PATTERNS:
        if any(p in text for p in patterns):
            return fault
    return None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


_ADVICE: dict[str, str] = {
    "full": "the disk holding the workspace filled up during the command. Fix: free some space, or set "
    "CUSTOMER_HEALTH_HOME to a folder on a disk with room, then run it again.",
    "read_only": "the workspace folder cannot be written to. Fix: make it writable, or set CUSTOMER_HEALTH_HOME to "
    "a folder you can write to.",
    "damaged": "the workspace file is damaged. Fix: move or delete workspace.duckdb in CUSTOMER_HEALTH_HOME (it only "
    "caches the sources, which are read again) and run the command again.",
    "busy": "the workspace is busy: another customer-health process has it open. Fix: retry when it has finished.",
}


def storage_advice(exc: BaseException) -> str | None:
    """What to tell the user when a storage fault surfaces outside a load (during an analysis); None otherwise."""
    fault = storage_fault(exc)
    return None if fault is None else f"{_ADVICE[fault]} ({first_line(exc)})"
