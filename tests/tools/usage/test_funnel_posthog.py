"""PostHog's own ordered-funnel cases, replayed on our funnel: the same event sequences, the same per-step counts.

Each case names the PostHog test it comes from (repository PostHog/posthog, files
posthog/hogql_queries/insights/funnels/test/test_funnel.py and test_funnel_udf.py). Their events carry property
filters and actions; here a step is an event name, so a step that PostHog matched with a property filter is an
event named after it (`event2 a`). PostHog creates events one after another, so here they are a minute apart,
unless the PostHog test froze the clock (then they share one instant); their funnels there run in 14 days.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.usage.funnel import compute_funnel

T0 = datetime(2026, 3, 2, 9, 0)
SIGNUP, PAY, MOVIE, PV = "user signed up", "paid", "watched movie", "$pageview"


def _rows(journeys: dict[str, list[str]], same_instant: bool) -> list[tuple[str, str, str]]:
    """Each user's events in order, a minute apart (or all at T0), as (timestamp, user, event) rows."""
    rows = []
    for user, events in journeys.items():
        for i, event in enumerate(events):
            t = T0 if same_instant else T0 + timedelta(minutes=i)
            rows.append((f"{t:%Y-%m-%dT%H:%M:%S}", user, event))
    return rows


CASES = [
    pytest.param(  # test_funnel_events: wrong order and a lone later step do not convert
        [SIGNUP, PAY, MOVIE],
        {
            "stopped_after_signup": [SIGNUP],
            "stopped_after_pay": [SIGNUP, PAY],
            "completed_movie": [SIGNUP, PAY, MOVIE],
            "just_did_movie": [MOVIE],
            "wrong_order": [PAY, SIGNUP, MOVIE],
        },
        False,
        [4, 2, 1],
        id="test_funnel_events",
    ),
    pytest.param(  # test_funnel_with_messed_up_order: a movie before signing up does not count, one after does
        [SIGNUP, MOVIE],
        {
            "stopped_after_signup": [SIGNUP],
            "stopped_after_pay": [SIGNUP],
            "completed_movie": [MOVIE, SIGNUP, MOVIE],
            "just_did_movie": [MOVIE],
            "wrong_order": [MOVIE, SIGNUP],
        },
        False,
        [4, 1],
        id="test_funnel_with_messed_up_order",
    ),
    pytest.param(  # test_funnel_skipped_step: skipping step 2 stops the funnel there
        [SIGNUP, PAY, MOVIE],
        {"wrong_order": [SIGNUP, MOVIE], "someone_paying": [PAY]},
        False,
        [1, 0, 0],
        id="test_funnel_skipped_step",
    ),
    pytest.param(  # test_funnel_multiple_actions: the third step's event (event2 with prop c) never occurs
        ["event1", "event2 a", "event2 c"],
        {"person1": ["event1", "event2 a"]},
        False,
        [1, 1, 0],
        id="test_funnel_multiple_actions",
    ),
    pytest.param(  # test_funnel_filter_test_accounts (the user left after the filter): one event1, two steps
        ["event1", "event1"],
        {"person2": ["event1"], "person3": ["event1", "event1"]},
        False,
        [2, 1],
        id="test_funnel_filter_test_accounts",
    ),
    pytest.param(  # test_basic_funnel_with_repeat_steps: a repeated step needs a second event
        [SIGNUP, SIGNUP],
        {"stopped_after_signup1": [SIGNUP, SIGNUP], "stopped_after_signup2": [SIGNUP]},
        False,
        [2, 1],
        id="test_basic_funnel_with_repeat_steps",
    ),
    pytest.param(  # the same, with the events at one instant (PostHog tells events apart by identity)
        [SIGNUP, SIGNUP],
        {"stopped_after_signup1": [SIGNUP, SIGNUP], "stopped_after_signup2": [SIGNUP]},
        True,
        [2, 1],
        id="test_basic_funnel_with_repeat_steps-same_instant",
    ),
    pytest.param(  # test_advanced_funnel_with_repeat_steps: other events in between do not break the chain
        [SIGNUP, PV, PV, PV, PV],
        {
            "stopped_after_signup1": [SIGNUP],
            "stopped_after_pageview1": [SIGNUP, PV],
            "stopped_after_pageview2": [SIGNUP, PV, "blaah blaa", PV],
            "stopped_after_pageview3": [SIGNUP, PV, "blaah blaa", PV, PV, "blaah blaa"],
            "stopped_after_pageview4": [SIGNUP, PV, PV, PV, PV],
        },
        False,
        [5, 4, 3, 2, 1],
        id="test_advanced_funnel_with_repeat_steps",
    ),
    pytest.param(  # test_advanced_funnel_with_repeat_steps_out_of_order_events: page views before signing up
        [SIGNUP, PV, PV, PV, PV],
        {
            "stopped_after_signup1": [PV, SIGNUP],
            "stopped_after_pageview1": [SIGNUP, PV],
            "stopped_after_pageview2": [PV, SIGNUP, "blaah blaa", PV],
            "stopped_after_pageview3": ["blaah blaa", PV, "blaah blaa", PV, SIGNUP, PV],
            "stopped_after_pageview4": [SIGNUP, PV, "blaah blaa", PV, PV, PV],
            "stopped_after_pageview5": [PV, "blaah blaa", PV, PV, PV],
        },
        False,
        [5, 4, 1, 1, 1],
        id="test_advanced_funnel_with_repeat_steps_out_of_order_events",
    ),
    pytest.param(  # test_funnel_with_different_actions_at_same_time_count_as_converted (clock frozen)
        ["sign up", PV],
        {"stopped_after_signup1": ["sign up", PV], "stopped_after_signup2": ["sign up"]},
        True,
        [2, 1],
        id="test_funnel_with_different_actions_at_same_time_count_as_converted",
    ),
    pytest.param(  # test_events_same_timestamp_no_exclusions (test_funnel_udf.py): ten events at one instant,
        # logged in the funnel's order, fill its ten steps, names repeating
        ["one_ten", "two_three_seven", "two_three_seven", "four_five_eight", "four_five_eight", "six_nine"]
        + ["two_three_seven", "four_five_eight", "six_nine", "one_ten"],
        {
            "test": ["one_ten", "two_three_seven", "two_three_seven", "four_five_eight", "four_five_eight"]
            + ["six_nine", "two_three_seven", "four_five_eight", "six_nine", "one_ten"]
        },
        True,
        [1] * 10,
        id="test_events_same_timestamp_no_exclusions",
    ),
]


@pytest.fixture
def load(tmp_path):
    """Write (timestamp, user, event) rows as an events export, load it, and return the dataset."""
    opened: list[Workspace] = []

    def _load(rows):
        folder = tmp_path / f"export{len(opened)}"
        folder.mkdir()
        lines = ["timestamp,user_id,event", *(",".join(r) for r in rows)]
        (folder / "events.csv").write_text("\n".join(lines) + "\n")
        ws = Workspace(tmp_path / f"ws{len(opened)}")
        opened.append(ws)
        return ws.dataset(ws.load([folder], roots=AllowedRoots([tmp_path.resolve()])))

    yield _load
    for ws in opened:
        ws.close()


@pytest.mark.parametrize(("steps", "journeys", "same_instant", "expected"), CASES)
def test_posthogs_ordered_funnel_cases_give_posthogs_counts(load, steps, journeys, same_instant, expected):
    ds = load(_rows(journeys, same_instant))
    assert [s.users for s in compute_funnel(ds, steps, as_of=T0.date()).steps] == expected


@pytest.mark.parametrize(("steps", "journeys", "same_instant", "expected"), CASES)
def test_the_cases_read_the_same_whatever_the_order_of_rows_in_the_file(
    load, steps, journeys, same_instant, expected
):
    ds = load(list(reversed(_rows(journeys, same_instant))))
    assert [s.users for s in compute_funnel(ds, steps, as_of=T0.date()).steps] == expected


def test_a_step_past_the_conversion_window_does_not_count(load):
    # test_excluded_after_time_expires (test_funnel_udf.py), without its exclusion and in days: step two comes 12
    # days after step one, and the window is 10 days
    rows = [("2026-03-01T00:00:00", "user_one", "step one"), ("2026-03-13T00:00:00", "user_one", "step two")]
    ds = load(rows)
    result = compute_funnel(ds, ["step one", "step two"], window_days=10, as_of="2026-03-13")
    assert [s.users for s in result.steps] == [1, 0]
    assert [s.users for s in compute_funnel(ds, ["step one", "step two"], window_days=12).steps] == [1, 1]
