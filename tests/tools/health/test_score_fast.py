"""The score's column-at-a-time path gives what the formula gives account by account: drivers (numbers, sentences,
order), lifecycle and calendar fields on the rows, and the value sentences, checked against a plain per-account
implementation written here and against hand-worked text."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from customer_health.tools.base.numbers import rnd
from customer_health.tools.data.lifecycle import lifecycle
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.health.metrics import CATALOGUE
from customer_health.tools.health.profiles import COMPONENTS, PRESETS, load_profile
from customer_health.tools.health.score import (
    driver_text,
    format_value,
    normalize,
    score_accounts,
    score_frame,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def reference_drivers(metrics: pd.DataFrame, prof) -> dict[str, list[tuple]]:
    """Each account's drivers the slow, obvious way: one account at a time, in the formula's order, then sorted
    by points lost (most first) and metric name, ties in the order found."""
    segments = metrics["segment"].fillna("(none)").astype(str)
    parts = [(c, prof.components[c]) for c in COMPONENTS if c in prof.components]
    points = {
        (c, m): normalize(pd.to_numeric(metrics[m], errors="coerce"), spec, segments).tolist()
        for c, comp in parts
        for m, spec in comp.metrics.items()
    }
    out = {}
    for i, acct in enumerate(metrics.index):
        seg = segments.iloc[i]
        weights = prof.weights_for(None if seg == "(none)" else seg)
        comp_total, comp_num = {}, {}
        for c, comp in parts:
            total = num = 0.0
            for m, spec in comp.metrics.items():
                p = points[(c, m)][i]
                if not math.isnan(p):
                    num += spec.weight * p
                    total += spec.weight
            comp_total[c], comp_num[c] = total, num
        counted = [c for c, _ in parts if comp_total[c] > 0 and weights.get(c, 0) > 0]
        denom = 0.0
        for c in counted:
            denom += weights[c]
        found = []
        for c, comp in parts:
            if c not in counted:
                continue
            for m, spec in comp.metrics.items():
                p = points[(c, m)][i]
                if math.isnan(p):
                    continue
                eff = weights[c] / denom * spec.weight / comp_total[c] * 100
                raw = metrics[m].iloc[i]
                value = None if pd.isna(raw) else float(raw)
                peers = metrics[m][(segments == seg).to_numpy()].dropna()
                median = float(peers.median()) if len(peers) else None
                found.append(
                    (
                        m,
                        c,
                        rnd(value),
                        rnd(p, 1),
                        rnd(eff, 2),
                        rnd(eff * p / 100, 2),
                        rnd(eff * (100 - p) / 100, 2),
                        rnd(median),
                        driver_text(m, value, median, seg),
                    )
                )
        out[str(acct)] = sorted(found, key=lambda d: (-d[6], d[0]))
    return out


def as_tuples(drivers) -> list[tuple]:
    return [
        (
            d.metric,
            d.component,
            d.value,
            d.points_scale,
            d.weight,
            d.points,
            d.lost,
            d.segment_median,
            d.text,
        )
        for d in drivers
    ]


# a metric value: small integers often (ties in points lost, whole numbers in the sentences), fractions, missing
VALUES = st.one_of(
    st.integers(min_value=0, max_value=60).map(float),
    st.floats(min_value=-2, max_value=200, allow_nan=False),
    st.just(float("nan")),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    preset=st.sampled_from(PRESETS),
    rows=st.lists(
        st.tuples(st.sampled_from(["SMB", "Enterprise", None]), st.lists(VALUES, min_size=40, max_size=40)),
        min_size=1,
        max_size=12,
    ),
)
def test_every_accounts_drivers_are_what_the_formula_gives_account_by_account(preset, rows):
    prof = load_profile(preset)
    names = sorted({m for c in prof.components.values() for m in c.metrics})
    frame = pd.DataFrame(
        [dict(zip(names, values, strict=False)) for _, values in rows],
        index=[f"A{i:02d}" for i in range(len(rows))],
    )
    frame["segment"] = [seg for seg, _ in rows]
    frame[names[0]] = frame[names[0]].fillna(1.0)  # every account has something to be scored on
    expected = reference_drivers(frame, prof)
    for account in score_frame(frame, prof):
        assert as_tuples(account.drivers) == expected[account.account_id]


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (None, "share", "no data"),
        (0.42, "share", "42%"),
        (0.12, "change", "+12%"),
        (-0.43, "change", "-43%"),
        (0.6, "flag", "yes"),
        (0.4, "flag", "no"),
        (12.4, "days", "12 days"),
        (7.0, "months", "7 months"),
        (3.0, "count", "3"),
        (2.5, "count", "2.5"),
    ],
)
def test_values_read_as_a_csm_would_say_them(value, unit, text):
    assert format_value(value, unit) == text


def test_a_driver_sentence_names_the_metric_its_value_and_the_segment_median():
    label = CATALOGUE["nps"].label
    assert driver_text("nps", 6.0, 8.0, "SMB") == f"{label}: 6 vs 8 SMB median"
    assert driver_text("nps", 6.0, 8.0, "(none)") == f"{label}: 6"


def test_score_rows_carry_the_lifecycle_and_calendar_of_their_own_account(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([EXAMPLES / "sample"], roots=AllowedRoots([EXAMPLES.resolve()])))
        day = ds.latest_date
        rows = score_accounts(ds, as_of=day, everyone=True).accounts
        stages = lifecycle(ds, day)
        accounts = ds.con.execute(
            f"SELECT account_id, csm_owner, renewal_date FROM {ds.view('accounts')}"
        ).fetchall()
    calendar = {str(a): (o, r) for a, o, r in accounts}
    assert len(rows) > 100
    for r in rows:
        stage = stages.loc[r.account_id]
        assert (r.stage, r.stage_since, r.stage_evidence) == (
            stage["stage"],
            stage["since"],
            stage["evidence"],
        )
        owner, renewal = calendar[r.account_id]
        renewal = pd.Timestamp(renewal).date() if renewal is not None and not pd.isna(renewal) else None
        assert r.csm_owner == owner
        assert r.renewal_date == renewal
        assert r.days_to_renewal == ((renewal - day).days if renewal else None)


def test_young_accounts_rates_change_only_their_own_rows_and_no_young_account_changes_nothing():
    from customer_health.tools.health.metrics import per_window_of_life

    old = pd.DataFrame(
        {"tenure_days": [200, 400], "logins_30d": np.array([3, 5]), "core_trend": [0.5, np.nan]}
    )
    frame = old.copy()
    per_window_of_life(frame)
    pd.testing.assert_frame_equal(frame, old)  # nobody under 60 days: values and integer counts untouched
    frame = pd.DataFrame({"tenure_days": [4, 400], "logins_30d": [3.0, 5.0], "name": ["a", "b"]})
    per_window_of_life(frame)
    assert frame["logins_30d"].tolist() == [3.0 * 30 / 5, 5.0]  # 5 days lived
    assert frame["name"].tolist() == ["a", "b"]


@pytest.mark.parametrize("unit", ["", "share", "change", "days", "months", "count"])
def test_a_negative_zero_is_written_as_zero(unit):
    assert format_value(-0.0, unit) == format_value(0.0, unit)
    assert not format_value(-0.0, unit).startswith("-")
