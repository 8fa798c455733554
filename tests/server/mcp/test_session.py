"""The server's memory across processes and the client's roots, through the SDK's client in memory.

Each `build_server` is a new server process as far as the session is concerned: it shares only the workspace folder
(CUSTOMER_HEALTH_HOME) with the one before it.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import anyio
import pytest
from customer_health.server.mcp.server import build_server
from customer_health.server.mcp.session import Session, Sessions, current_key
from customer_health.tools.base.errors import InputError
from mcp import Client
from mcp.types import ListRootsResult, Root

from tests.server.mcp.test_http import gone_within

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A working directory holding a copy of the small export folder, and a workspace beside it."""
    work = tmp_path / "work"
    shutil.copytree(DATA / "mini", work / "exports")
    monkeypatch.chdir(work)
    return work


def one_session(home: Path, calls: list[tuple[str, dict]], **client) -> list:
    """Start a server on `home`, make the calls through one client, stop it (closing the workspace)."""

    async def go():
        server = build_server(home=home)
        out = []
        try:
            async with Client(server, **client) as c:
                for name, args in calls:
                    out.append(await c.call_tool(name, args))
        finally:
            server.session_state.close()
        return out

    return anyio.run(go)


def roots_offering(*folders: Path):
    async def list_roots(context) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=f.resolve().as_uri(), name=f.name) for f in folders])

    return list_roots


def test_a_new_server_picks_up_the_last_dataset_loaded_in_its_workspace(here):
    home = here / "ws"
    (loaded,) = one_session(home, [("load_data", {"paths": ["exports"]})])
    described, scores = one_session(home, [("describe_dataset", {}), ("score_accounts", {})])
    first, again = loaded.structured_content, described.structured_content
    assert first["restored"] is False and again["restored"] is True
    assert again["dataset_id"] == first["dataset_id"]
    assert again["loaded_at"] == first["loaded_at"]  # when it was loaded, not when it was picked up
    assert again["sources"] == first["sources"] == [str((here / "exports").resolve())]
    assert f"Picked up the dataset loaded at {first['loaded_at']}" in again["summary"]
    assert not scores.is_error and scores.structured_content["accounts"]


def test_load_data_replaces_the_remembered_dataset_for_this_and_the_next_server(here):
    home = here / "ws"
    one_session(home, [("load_data", {"paths": ["exports"]})])
    replaced, described = one_session(
        home, [("load_data", {"paths": ["exports/accounts.csv"]}), ("describe_dataset", {})]
    )
    assert described.structured_content["restored"] is False
    assert [t["kind"] for t in described.structured_content["tables"]] == ["accounts"]
    (later,) = one_session(home, [("describe_dataset", {})])
    assert later.structured_content["restored"] is True
    assert later.structured_content["dataset_id"] == replaced.structured_content["dataset_id"]
    assert later.structured_content["sources"] == [str((here / "exports" / "accounts.csv").resolve())]


def test_sources_changed_since_the_load_are_read_again_and_the_summary_says_so(here):
    home = here / "ws"
    (loaded,) = one_session(home, [("load_data", {"paths": ["exports"]})])
    with (here / "exports" / "users.csv").open("a") as fh:
        fh.write("u7,A3,analyst,2025-03-01,no\n")
    (described,) = one_session(home, [("describe_dataset", {})])
    data = described.structured_content
    assert data["restored"] is True and data["dataset_id"] != loaded.structured_content["dataset_id"]
    assert {t["kind"]: t["rows"] for t in data["tables"]}["users"] == 7
    assert (
        "changed on disk since they were loaded at " + loaded.structured_content["loaded_at"]
        in data["summary"]
    )


def test_gone_sources_leave_the_new_server_empty_with_a_note_and_load_data_still_works(here):
    home = here / "ws"
    shutil.copytree(here / "exports", here / "old")
    one_session(home, [("load_data", {"paths": ["old"]})])
    shutil.rmtree(here / "old")
    first, second, loaded = one_session(
        home,
        [("score_accounts", {}), ("describe_dataset", {}), ("load_data", {"paths": ["exports"]})],
    )
    for r in (first, second):  # asked once, said every time until a load
        text = r.content[0].text
        assert r.is_error and "no dataset is loaded yet. The dataset loaded at " in text
        assert f"{(here / 'old').resolve()} could not be picked up again" in text and "does not exist" in text
        assert "Fix: Call load_data" in text
    assert not loaded.is_error and loaded.structured_content["restored"] is False


def test_sources_outside_the_folders_now_allowed_leave_the_new_server_empty_with_a_note(here, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(here / "exports", elsewhere)

    async def load_with_allow():
        server = build_server(home=here / "ws", allow=[str(elsewhere)])
        try:
            async with Client(server) as c:
                return await c.call_tool("load_data", {"paths": [str(elsewhere)]})
        finally:
            server.session_state.close()

    assert not anyio.run(load_with_allow).is_error
    (described,) = one_session(here / "ws", [("describe_dataset", {})])
    assert described.is_error and "could not be picked up again" in described.content[0].text
    assert "outside the folders this tool may read" in described.content[0].text


def test_a_folder_the_client_offers_as_a_root_may_be_loaded(here, tmp_path):
    offered = tmp_path / "offered"
    shutil.copytree(here / "exports", offered)
    calls = [("load_data", {"paths": [str(offered / "accounts.csv")]})]
    (refused,) = one_session(here / "ws", calls, mode="legacy")
    (allowed,) = one_session(here / "ws", calls, mode="legacy", list_roots_callback=roots_offering(offered))
    assert refused.is_error and "outside the folders" in refused.content[0].text
    assert not allowed.is_error and allowed.structured_content["tables"][0]["rows"] == 3


def test_the_remembered_dataset_in_a_client_root_is_picked_up_when_the_client_offers_it_again(here, tmp_path):
    offered = tmp_path / "offered"
    shutil.copytree(here / "exports", offered)
    legacy = {"mode": "legacy", "list_roots_callback": roots_offering(offered)}
    one_session(here / "ws", [("load_data", {"paths": [str(offered)]})], **legacy)
    (picked,) = one_session(here / "ws", [("describe_dataset", {})], **legacy)
    assert not picked.is_error and picked.structured_content["restored"] is True


def test_a_client_that_cannot_be_asked_for_roots_still_loads_under_the_configured_folders(here):
    # the current protocol has no back-channel for roots/list in memory; a legacy client may offer no roots at all
    for client in ({"list_roots_callback": roots_offering(here)}, {"mode": "legacy"}):
        (loaded,) = one_session(here / "ws", [("load_data", {"paths": ["exports"]})], **client)
        assert not loaded.is_error, loaded.content[0].text


def test_a_dataset_loaded_with_the_cli_load_command_is_the_one_a_new_server_picks_up(
    here, monkeypatch, capsys
):
    from customer_health.server.cli import main

    monkeypatch.setenv("CUSTOMER_HEALTH_HOME", str(here / "ws"))
    assert main(["load", "exports", "--format", "json"]) == 0
    capsys.readouterr()
    assert (
        main(["score", "exports/accounts.csv", "--format", "json"]) == 0
    )  # other commands do not replace it
    (described,) = one_session(here / "ws", [("describe_dataset", {})])
    assert described.structured_content["restored"] is True
    assert described.structured_content["sources"] == [str((here / "exports").resolve())]


# --- what an HTTP session leaves on disk ---------------------------------------------------------------------------
def _as(sessions: Sessions, key: str) -> Session:
    marked = current_key.set(key)
    try:
        return sessions.current()
    finally:
        current_key.reset(marked)


def test_a_fitted_profile_the_user_asked_for_outlives_its_session_and_the_scratch_does_not(here):
    from tests.tools.health.test_fit import write_support_churn

    data = write_support_churn(here / "history")
    sessions = Sessions(home=here / "ws")
    server = build_server(sessions=sessions)

    async def go():
        async with Client(server) as c:
            await c.call_tool("load_data", {"paths": [str(data)]})
            fits = [
                await c.call_tool("fit_health_profile", {"out": out})
                for out in ("kept.yaml", str(here / "named" / "mine.yaml"))
            ]
            described = await c.call_tool("describe_dataset", {})  # writes its table of quality issues
        return fits, described

    try:
        fits, described = anyio.run(go)
        paths = [Path(f.structured_content["profile_path"]) for f in fits]
        table = Path(described.structured_content["full_table"])
        assert all(not f.is_error for f in fits) and all(p.is_file() for p in paths) and table.is_file()
        scratch = sessions.current().scratch  # in memory every call is one session ("local")
        assert table.is_relative_to(scratch) and not paths[0].is_relative_to(scratch)
        sessions.forget("local")
        assert gone_within(scratch)
    finally:
        sessions.close()
    assert paths[0] == here / "ws" / "outputs" / "mcp" / paths[0].parent.name / "kept.yaml"
    assert paths[1] == here / "named" / "mine.yaml"
    assert all(p.is_file() for p in paths)


def test_a_session_idle_too_long_or_pushed_out_by_the_cap_loses_its_scratch_and_an_empty_outputs_folder(
    tmp_path,
):
    sessions = Sessions(home=tmp_path / "ws", cap=2, idle_seconds=3600)
    try:
        tables = {
            k: _as(sessions, k).write_table("score", [{"a": 1}]) for k in ("a", "b", "c")
        }  # "a" pushed out
        outputs = _as(sessions, "b").outputs
        assert gone_within(tables["a"].parents[1]) and tables["b"].is_file() and tables["c"].is_file()
        sessions.idle_seconds = 0.01
        time.sleep(0.05)
        _as(sessions, "d")  # "b" and "c" have been idle too long
        assert (
            gone_within(tables["b"].parents[1])
            and gone_within(tables["c"].parents[1])
            and gone_within(outputs)
        )
    finally:
        sessions.close()
    assert not list((tmp_path / "ws" / "sessions").iterdir())


def test_scratch_a_killed_server_left_is_swept_once_idle_too_long_and_fresh_scratch_is_not(tmp_path):
    stale, fresh = tmp_path / "ws" / "sessions" / "old-1", tmp_path / "ws" / "sessions" / "new-2"
    for folder in (stale, fresh):
        (folder / "tables").mkdir(parents=True)
        (folder / "tables" / "score.csv").write_text("a\n1\n")
    hour_ago = time.time() - 3600
    for p in (stale, stale / "tables", stale / "tables" / "score.csv"):
        os.utime(p, (hour_ago, hour_ago))
    Sessions(home=tmp_path / "ws", idle_seconds=1800).close()
    assert not stale.exists() and (fresh / "tables" / "score.csv").is_file()


def test_session_limits_come_from_the_environment_and_nonsense_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOMER_HEALTH_MAX_SESSIONS", "3")
    monkeypatch.setenv("CUSTOMER_HEALTH_SESSION_IDLE_SECONDS", "90")
    sessions = Sessions(home=tmp_path / "ws")
    assert (sessions.cap, sessions.idle_seconds) == (3, 90)
    sessions.close()
    for bad in ("0", "-5", "nan", "inf", "lots"):
        monkeypatch.setenv("CUSTOMER_HEALTH_MAX_SESSIONS", bad)
        with pytest.raises(InputError, match="CUSTOMER_HEALTH_MAX_SESSIONS"):
            Sessions(home=tmp_path / "ws")
