"""Which files the product may open: one policy for every path it reads (exports, folders and the files in them,
profiles, customer-health.yaml, mapping files, outcomes).

A path is resolved through its symbolic links first, then must lie under an allowed folder (the working directory,
`--allow DIR` / CUSTOMER_HEALTH_ALLOW, the bundled examples) and be a regular file or a folder: a FIFO, device or
socket would block or stream forever, so it is refused before it is opened. Errors name the path and the fix, never
what the file holds.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from customer_health.tools.base.errors import InputError

_FIX_OUTSIDE = "Move the file under the working directory, or allow its folder with --allow DIR (or CUSTOMER_HEALTH_ALLOW)."


def bundled_root() -> Path:
    """The folder of the bundled example data (works from a checkout and from an installed wheel)."""
    return Path(str(resources.files("customer_health.examples"))).resolve()


@dataclass
class AllowedRoots:
    """Folders the product may read from; a path that resolves (through links) outside all of them is refused."""

    roots: list[Path] = field(default_factory=list)

    @classmethod
    def from_env(cls, extra: Iterable[str | Path] = ()) -> AllowedRoots:
        roots = [Path.cwd()]
        env = os.environ.get("CUSTOMER_HEALTH_ALLOW", "")
        roots += [Path(p) for p in env.split(os.pathsep) if p]
        roots += [Path(p) for p in extra]
        roots.append(bundled_root())
        return cls([r.expanduser().resolve() for r in roots])

    def allows(self, real: Path) -> bool:
        return any(real == r or r in real.parents for r in self.roots)

    def resolve(self, path: str | Path, *, folder: bool = True, shown: str | None = None) -> Path:
        """The real path of `path` (links followed) when it may be read; otherwise an InputError saying why.

        `folder=False` accepts regular files only. `shown` is how the path is named in errors (default: as given).
        """
        name = shown or str(path)
        try:
            real = Path(path).expanduser().resolve()
        except RuntimeError:  # Python < 3.13 reports a symlink loop this way
            raise _loop(name) from None
        except OSError as exc:
            raise _os_error(name, exc) from None
        if not self.allows(real):
            listed = ", ".join(str(r) for r in self.roots[:4])
            raise InputError(
                f"is outside the folders this tool may read ({listed}).", file=name, fix=_FIX_OUTSIDE
            )
        try:
            info = os.stat(real)
        except OSError as exc:
            raise _os_error(name, exc) from None
        if stat.S_ISDIR(info.st_mode) and folder:
            return real
        if not stat.S_ISREG(info.st_mode):
            what = _kind(info.st_mode)
            raise InputError(
                f"is {what}, not a regular file; it is not opened.",
                file=name,
                fix="Point at an export file saved on disk (or at the folder that holds the exports).",
            )
        return real

    def listing(self, folder: Path, wanted: Callable[[str], bool]) -> list[tuple[Path, Path]]:
        """The entries of an allowed folder the caller would read (`wanted(name)`), as (path in the folder, real
        path), each passing `resolve`: a link in the folder that leads outside the allowed folders is refused."""
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            raise _os_error(str(folder), exc) from None
        out = []
        for entry in names:
            if entry.startswith((".", "~$")) or not wanted(entry):
                continue
            inside = folder / entry
            real = self.resolve(inside)
            if not real.is_dir():  # a sub-folder is not read
                out.append((inside, real))
        return out


def readable(path: Path, name: str | None = None) -> Path:
    """`path` again when it is a regular file this process can read; checked before it is opened, so a FIFO or a
    device never blocks the caller."""
    shown = name or path.name
    try:
        info = os.stat(path)
    except RuntimeError:
        raise _loop(shown) from None
    except OSError as exc:
        raise _os_error(shown, exc) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(
            f"is {_kind(info.st_mode)}, not a regular file; it is not opened.",
            file=shown,
            fix="Point at an export file saved on disk.",
        )
    return path


def read_text(path: str | Path, roots: AllowedRoots | None = None) -> tuple[Path, str]:
    """(real path, text) of a settings file (profile, customer-health.yaml, mapping) under the allowed folders."""
    real = (roots or AllowedRoots.from_env()).resolve(path, folder=False)
    return real, read_settings(real, Path(path).name)


def read_settings(real: Path, name: str | None = None, *, limit: int = 5_000_000) -> str:
    """The text of a small settings file already admitted by the policy; errors say why, never what it holds."""
    shown = name or real.name
    readable(real, shown)
    try:
        size = real.stat().st_size
        if size > limit:
            raise InputError(
                f"is {size:,} bytes; a settings file may be at most {limit:,}.",
                file=shown,
                fix="Point at the YAML settings file itself, not at an export.",
            )
        return real.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text.", file=shown, fix="Save it as UTF-8 YAML or JSON.") from None
    except OSError as exc:
        raise _os_error(shown, exc) from None


# settings text → its document: a process (a command, the MCP server) parses each settings file once, however many
# times it is read; the few most recent texts are kept
_PARSED: dict[str, object] = {}
_PARSED_MOST = 16


def parse_yaml(text: str, name: str, fix: str = "Fix the YAML syntax at that line."):
    """The document in a settings file's text; a syntax error names the line and the problem, never the text
    around it (the file may hold something the error must not show).

    Parsed by libyaml when PyYAML was built with it (several times faster than the pure-Python parser, and the
    same documents: the constructor and the resolver are the same); a text libyaml refuses, or one with characters
    the pure-Python reader refuses, goes to the pure-Python loader, so errors read as they always did. The caller
    gets its own copy of the document."""
    import copy

    if text not in _PARSED:
        while len(_PARSED) >= _PARSED_MOST:
            del _PARSED[next(iter(_PARSED))]
        _PARSED[text] = _load_yaml(text, name, fix)
    return copy.deepcopy(_PARSED[text])


def safe_yaml(text: str):
    """`yaml.safe_load(text)`, by libyaml when PyYAML was built with it: the same document; a text libyaml refuses,
    or one with characters the pure-Python reader refuses, goes to the pure-Python loader, so a `yaml.YAMLError`
    reads as it always did."""
    import yaml

    fast = getattr(yaml, "CSafeLoader", None) if yaml.__with_libyaml__ else None
    if fast is not None and not yaml.reader.Reader.NON_PRINTABLE.search(text):
        with contextlib.suppress(yaml.YAMLError):
            return yaml.load(text, Loader=fast)  # noqa: S506 - CSafeLoader is the safe loader in C
    return yaml.safe_load(text)


def _load_yaml(text: str, name: str, fix: str):
    import yaml

    try:
        return safe_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"is not valid YAML or JSON ({getattr(exc, 'problem', None) or 'syntax error'}).",
            file=name,
            row=mark.line + 1 if mark else None,
            fix=fix,
        ) from None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _loop(name: str) -> InputError:
    return InputError(
        "is a symbolic link that leads back to itself (a loop).",
        file=name,
        fix="Point the link at the real file, or remove it.",
    )


def _os_error(name: str, exc: OSError) -> InputError:
    """An operating-system refusal as an error the user can act on (the file's content is never part of it)."""
    import errno

    if exc.errno == errno.ELOOP:
        return _loop(name)
    if exc.errno == errno.ENAMETOOLONG:
        return InputError(
            "has a name longer than the file system allows.",
            file=name[:200],
            fix="Rename it with a shorter name.",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return InputError(
            "cannot be read: permission denied.",
            file=name,
            fix="Give your user read access to it (and its folder), or copy it somewhere you can read.",
        )
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return InputError("does not exist.", file=name, fix="Check the path and its spelling.")
    return InputError(
        f"cannot be read ({exc.strerror or type(exc).__name__}).",
        file=name,
        fix="Check the path and its permissions.",
    )


__all__ = ["AllowedRoots", "bundled_root", "parse_yaml", "read_settings", "read_text", "readable"]
