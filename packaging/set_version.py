"""Cut a release's version: write VERSION into pyproject.toml and copy it into every manifest that carries one.

    python packaging/set_version.py 0.2.0

pyproject.toml is the source (the CLI reads it at run time through importlib.metadata); .claude-plugin/plugin.json,
server.json (the server and its PyPI package) and packaging/mcpb/manifest.json repeat it because their formats
require a literal, and tests/test_packaging.py fails if any of them drifts.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEMVER = re.compile(r"\d+\.\d+\.\d+(?:[-.]?(?:a|b|rc|dev|post)\d*)?")


def set_version(version: str, root: Path = ROOT) -> list[Path]:
    if not SEMVER.fullmatch(version):
        raise SystemExit(f"set_version: {version!r} is not a version like 1.2.3 or 1.2.3rc1.")
    pyproject = root / "pyproject.toml"
    text, n = re.subn(
        r'(?m)^version = "[^"]*"$', f'version = "{version}"', pyproject.read_text(encoding="utf-8"), count=1
    )
    if n != 1:
        raise SystemExit('set_version: no `version = "…"` line in pyproject.toml\'s [project] table.')
    pyproject.write_text(text, encoding="utf-8")
    written = [pyproject]
    for parts in (
        (".claude-plugin", "plugin.json"),
        ("server.json",),
        ("packaging", "mcpb", "manifest.json"),
    ):
        path = root.joinpath(*parts)
        data = json.loads(path.read_text(encoding="utf-8"))
        data["version"] = version
        for package in data.get("packages", []):
            package["version"] = version
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for path in set_version(sys.argv[1]):
        print(path)
