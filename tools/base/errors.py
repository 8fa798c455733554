"""Errors a user can fix: each names where the problem is and what to do about it."""

from __future__ import annotations

MAX_MESSAGE_CHARS = 2_000  # a message echoing a huge input stays readable (CLI and MCP error results alike)
TRUNCATED = "… (truncated)"


class InputError(ValueError):
    """Bad input the user can fix; faces show it as exit code 2 (CLI) or an error result (MCP)."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        fix: str | None = None,
        options: list[str] | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.column = column
        self.row = row
        self.fix = fix
        self.options = list(options or [])[:10]
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = []
        if self.file:
            where.append(_cut(self.file, 300))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{_cut(self.column, 200)}'")
        head = ", ".join(where) + ": " if where else ""
        tail = ""
        if self.options:
            tail += " Valid options: " + ", ".join(_cut(o, 100) for o in self.options) + "."
        if self.fix:
            tail += " Fix: " + _cut(self.fix, 600)
        room = max(200, MAX_MESSAGE_CHARS - len(head) - len(tail))
        return _cut(head + _cut(self.problem, room) + tail, MAX_MESSAGE_CHARS)


class InputErrors(InputError):
    """Several independent problems found in one pass, reported together."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        lines = [f"- {e.message}" for e in errors[:10]]
        if len(errors) > 10:
            lines.append(f"- … and {len(errors) - 10} more")
        super().__init__(f"{len(errors)} problems:\n" + "\n".join(lines))

    @property
    def message(self) -> str:  # the composed list is already the message
        return _cut(self.problem, MAX_MESSAGE_CHARS)


def _cut(text: str, limit: int) -> str:
    """`text` at most `limit` characters long, saying so when it was cut."""
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def nearest(value: str, candidates, n: int = 10) -> list[str]:
    """Up to `n` candidates closest to `value` (close spellings first, then the rest in order)."""
    import difflib

    pool = [str(c) for c in dict.fromkeys(candidates) if c is not None]
    close = difflib.get_close_matches(str(value), pool, n=n, cutoff=0.4)
    return (close + [c for c in pool if c not in close])[:n]
