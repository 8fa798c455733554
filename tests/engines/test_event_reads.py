"""Every read of the events goes through the dataset's engine, so events that live only in PostgreSQL work.

The example's events, users and accounts are copied into a real PostgreSQL server (conftest, test_postgres). The remote dataset
keeps its other tables in the workspace, as a remote load does, but its events view names a relation that does
not exist in the workspace: any read of the events that does not go through the engine fails, so every answer
below that matches the files' was computed from PostgreSQL's events.
"""

from __future__ import annotations

import dataclasses

import duckdb
import pandas as pd
import pytest
from customer_health.tools.data.accounts import account_frame
from customer_health.tools.data.lifecycle import lifecycle
from customer_health.tools.data.semantics import resolve_semantics
from customer_health.tools.health.validation import validate_health_model
from customer_health.tools.narrative.facts_board import board_facts
from customer_health.tools.reports.pipeline import analyze
from customer_health.tools.usage.adoption import feature_adoption
from customer_health.tools.usage.personas import persona_activity

from tests.engines.conftest import TOOL_RUNS, assert_same_event_inputs
from tests.engines.test_postgres import example_in_postgres

NOWHERE = "events_not_in_this_workspace"


def _fresh(ds, **changes):
    return dataclasses.replace(ds, _memo={}, _columns={}, **changes)


@pytest.fixture(scope="module")
def pair(pg, tmp_path_factory):
    """(the example from files, the same with its events only in PostgreSQL)."""
    ds, engine = example_in_postgres(pg, tmp_path_factory, "event_reads")
    remote = _fresh(ds, views=ds.views | {"events": NOWHERE}, engine=engine)
    return ds, remote


def _without(ds, kind):
    """The dataset with one table left out (each read of the events has a path for data without it)."""
    return _fresh(ds, views={k: v for k, v in ds.views.items() if k != kind})


def test_what_the_dataset_knows_of_its_events_comes_from_the_engine(pair):
    ds, remote = pair
    with pytest.raises(duckdb.CatalogException):  # there are no events to read in the workspace
        remote.con.execute(f"SELECT * FROM {remote.view('events')}")
    assert remote.columns("events") == ds.columns("events")
    assert remote.events_tied() is ds.events_tied() is True
    assert remote.account_level_events() is ds.account_level_events() is False
    assert remote.events_span() == ds.events_span()
    first, last = ds.events_span()
    assert first < last and remote.events_first_day() == first


def test_lifecycle_stages_and_the_account_list_are_identical_with_or_without_an_accounts_table(pair):
    ds, remote = pair
    day = ds.default_as_of()
    for local, far in ((ds, remote), (_without(ds, "accounts"), _without(remote, "accounts"))):
        pd.testing.assert_frame_equal(lifecycle(far, day).sort_index(), lifecycle(local, day).sort_index())
        pd.testing.assert_frame_equal(account_frame(far, day, True), account_frame(local, day, True))
    assert len(account_frame(_without(remote, "accounts"), day, True)) > 0


def test_configured_and_inferred_semantics_are_identical(pair):
    ds, remote = pair
    assert resolve_semantics(remote) == resolve_semantics(ds)
    inferred = resolve_semantics(_fresh(remote, semantics=None))
    assert inferred == resolve_semantics(_fresh(ds, semantics=None))
    assert inferred.core_features and inferred.core_features != resolve_semantics(ds).core_features


def test_adoption_and_personas_are_identical(pair):
    ds, remote = pair
    assert feature_adoption(remote, everyone=True).model_dump(mode="json") == feature_adoption(
        ds, everyone=True
    ).model_dump(mode="json")
    assert persona_activity(remote).model_dump(mode="json") == persona_activity(ds).model_dump(mode="json")


def test_seats_trends_funnel_workflows_cohorts_and_the_scores_inputs_are_identical(pair):
    ds, remote = pair
    assert_same_event_inputs(ds, remote, len(ds.frame("accounts")))
    for run in TOOL_RUNS:
        assert run(remote).model_dump(mode="json") == run(ds).model_dump(mode="json")


def test_the_score_risk_validation_and_board_facts_are_identical(pair):
    ds, remote = pair
    local, far = analyze(ds, everyone=True), analyze(remote, everyone=True)
    assert far.scores.model_dump(mode="json") == local.scores.model_dump(mode="json")
    assert far.risk.model_dump(mode="json") == local.risk.model_dump(mode="json")
    assert validate_health_model(remote).model_dump(mode="json") == validate_health_model(ds).model_dump(
        mode="json"
    )
    assert board_facts(remote, None).model_dump(mode="json") == board_facts(ds, None).model_dump(mode="json")
