"""What the command-line tests share."""

from __future__ import annotations

import pytest


@pytest.fixture
def work_in(monkeypatch):
    """`work_in(folder)`: run the CLI from `folder`, its workspace inside it, and with no API key (template drafts)."""

    def enter(folder):
        monkeypatch.chdir(folder)
        monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(folder / "ws"))
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        return folder

    return enter
