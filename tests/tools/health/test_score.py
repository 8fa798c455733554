"""The health score: normalization, weighting, redistribution, tiers, drivers, profiles and the seed example."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.health.profiles import (
    PRESETS,
    MetricSpec,
    Tiers,
    load_profile,
    preset,
    profile_from_dict,
)
from customer_health.tools.health.score import normalize, score_accounts, score_frame, score_values
from hypothesis import given
from hypothesis import strategies as st

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_the_seed_snapshot_scores_in_the_seeds_order_and_colours(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([EXAMPLES / "snapshot"], roots=AllowedRoots([EXAMPLES.resolve()])))
        result = score_accounts(ds, as_of="2026-01-01")
    order = [(a.account_id, a.colour) for a in sorted(result.accounts, key=lambda a: -a.health_score)]
    assert order == [
        ("ACME-Corp", "green"),
        ("Gamma-Ltd", "yellow"),
        ("Beta-Inc", "red"),
        ("Delta-Co", "red"),
    ]


def test_snapshot_scores_by_hand(tmp_path):
    """Enterprise weights with growth and financial missing: usage 30, engagement 30, support 15 → 40/40/20 %."""
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([EXAMPLES / "snapshot"], roots=AllowedRoots([EXAMPLES.resolve()])))
        acme = next(a for a in score_accounts(ds, as_of="2026-01-01").accounts if a.account_id == "ACME-Corp")
    # usage: features 8 of target 8 → 100 (w10), logins 45 ≥ 40 → 100 (w5), 2 days since login → 100 (w10)
    # engagement: NPS 9 → band 100; support: 1 open ticket on a 6 → 0 line → 83.33
    assert acme.components == {
        "usage": 100.0,
        "engagement": 100.0,
        "growth": None,
        "support": 83.3,
        "financial": None,
    }
    assert acme.health_score == round(0.4 * 100 + 0.4 * 100 + 0.2 * (100 - 100 / 6), 1)
    assert acme.weight_coverage == 0.75


def test_drivers_add_up_to_the_score_and_come_biggest_drag_first(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        ds = ws.dataset(ws.load([EXAMPLES / "snapshot"], roots=AllowedRoots([EXAMPLES.resolve()])))
        beta = next(a for a in score_accounts(ds, as_of="2026-01-01").accounts if a.account_id == "Beta-Inc")
    assert sum(d.points for d in beta.drivers) == pytest.approx(beta.health_score, abs=0.1)
    assert sum(d.weight for d in beta.drivers) == pytest.approx(100, abs=0.1)
    assert [d.lost for d in beta.drivers] == sorted((d.lost for d in beta.drivers), reverse=True)
    assert beta.drivers[0].metric == "nps" and beta.drivers[0].text == "NPS (0–10): -1"


@pytest.mark.parametrize(
    ("score", "tier"),
    [
        (100, "thriving"),
        (85, "thriving"),
        (84.9, "healthy"),
        (70, "healthy"),
        (69.9, "neutral"),
        (50, "neutral"),
        (49.9, "at_risk"),
        (30, "at_risk"),
        (29.9, "critical"),
        (0, "critical"),
    ],
)
def test_tier_boundaries_are_exact(score, tier):
    assert Tiers().tier(score) == tier


@pytest.mark.parametrize("name", PRESETS)
def test_presets_weights_sum_to_100(name):
    prof = preset(name)
    assert sum(c.weight for c in prof.components.values()) == 100


def test_linear_bands_and_percentile_normalization_by_hand():
    values = pd.Series([0.0, 0.35, 0.7, 0.9, math.nan])
    lin = normalize(values, MetricSpec(method="linear", weight=1, floor=0.0, target=0.7))
    assert list(lin.round(2))[:4] == [0.0, 50.0, 100.0, 100.0] and math.isnan(lin.iloc[4])
    inverse = normalize(
        pd.Series([0.0, 3.0, 6.0, 9.0]), MetricSpec(method="linear", weight=1, floor=6, target=0)
    )
    assert list(inverse) == [100.0, 50.0, 0.0, 0.0]
    bands = normalize(
        pd.Series([-1.0, 4.0, 6.9, 7.0, 10.0]),
        MetricSpec(method="bands", weight=1, bands=[(0, 0), (5, 20), (7, 65), (9, 100)]),
    )
    assert list(bands) == [0.0, 0.0, 20.0, 65.0, 100.0]
    pct = normalize(
        pd.Series([1.0, 2.0, 3.0, 10.0]),
        MetricSpec(method="percentile", weight=1),
        pd.Series(["a", "a", "a", "b"]),
    )
    assert list(pct[:3]) == [0.0, 50.0, 100.0] and math.isnan(pct.iloc[3])


def _frame(**cols):
    return pd.DataFrame(cols, index=pd.Index([f"A{i}" for i in range(len(next(iter(cols.values()))))]))


def _usage_and_support():
    """Half usage (breadth, linear 0 → 1), half support (open tickets, linear 4 → 0)."""
    return load_profile(
        {
            "name": "t",
            "components": {
                "usage": {
                    "weight": 50,
                    "metrics": {"breadth": {"method": "linear", "weight": 1, "floor": 0, "target": 1}},
                },
                "support": {
                    "weight": 50,
                    "metrics": {"open_tickets": {"method": "linear", "weight": 1, "floor": 4, "target": 0}},
                },
            },
        }
    )


def test_missing_components_redistribute_their_weight():
    prof = _usage_and_support()
    rows = score_frame(_frame(breadth=[0.5, 0.5], open_tickets=[2.0, math.nan], segment=["x", "x"]), prof)
    assert (rows[0].health_score, rows[0].weight_coverage) == (50.0, 1.0)
    assert (rows[1].health_score, rows[1].weight_coverage) == (50.0, 0.5)  # support dropped out
    assert rows[1].components["support"] is None


def test_young_accounts_are_labelled_and_scored_on_the_same_scale_as_established_ones():
    prof = preset("enterprise")
    assert prof.onboarding is None  # no separate formula: one scale for every tenure
    frame = _frame(
        activated=[1.0, 1.0],
        adopted_utilization=[0.5, 0.5],
        breadth=[0.8, 0.8],
        days_since_last_activity=[0.0, 0.0],
        tenure_days=[30, 400],
        nps=[9.0, 9.0],
        core_trend=[None, -0.9],
        segment=["x", "x"],
    )
    new, old = score_frame(frame, prof)
    assert new.lifecycle == "onboarding" and old.lifecycle == "established"
    assert set(new.components) == set(old.components) and "onboarding" not in new.components
    # the same adoption earns the same usage points whatever the age: (25 × 0.45/0.65 + 10 × 0.75 + 10 × 1) / 45
    assert (
        new.components["usage"]
        == old.components["usage"]
        == round((25 * 0.45 / 0.65 + 7.5 + 10) / 45 * 100, 1)
    )


def test_a_stalled_new_account_scores_below_an_established_one_with_the_same_use():
    # both use the product alike; the new one has not activated at 60 days, when 80% of the accounts that came
    # through onboarding had (activation_pace 0.2) and made no core action yet when 90% had (first_value_pace 0.1)
    prof = preset("enterprise")
    frame = _frame(
        adopted_utilization=[0.3, 0.3],
        breadth=[0.4, 0.4],
        days_since_last_activity=[3.0, 3.0],
        activation_pace=[0.2, None],
        first_value_pace=[0.1, None],
        tenure_days=[60, 400],
        tenure_months=[60 / 30.44, 400 / 30.44],
        segment=["x", "x"],
    )
    new, old = score_frame(frame, prof)
    assert new.health_score < old.health_score
    usage = lambda pace, first: 25 * 0.25 / 0.65 + 10 * 0.25 + 10 * 27 / 28 + 20 * pace + 10 * first  # noqa: E731
    assert new.components["usage"] == round(usage(0.2, 0.1) / 75 * 100, 1)
    assert old.components["usage"] == round((25 * 0.25 / 0.65 + 10 * 0.25 + 10 * 27 / 28) / 45 * 100, 1)


def test_trend_adjustment_scales_the_score_when_enabled():
    base = {
        "name": "t",
        "components": {
            "usage": {
                "weight": 100,
                "metrics": {"breadth": {"method": "linear", "weight": 1, "floor": 0, "target": 1}},
            }
        },
    }
    frame = _frame(breadth=[0.6], core_trend=[-0.5], segment=["x"])
    assert score_frame(frame, load_profile(base))[0].health_score == 60.0
    adjusted = load_profile({**base, "trend_adjustment": {"enabled": True, "factor": 0.2}})
    assert score_frame(frame, adjusted)[0].health_score == 54.0  # 60 × (1 − 0.5 × 0.2)


def test_segment_overrides_change_weights_and_tiers():
    prof = load_profile(
        {
            "name": "t",
            "components": {
                "usage": {
                    "weight": 50,
                    "metrics": {"breadth": {"method": "linear", "weight": 1, "floor": 0, "target": 1}},
                },
                "support": {
                    "weight": 50,
                    "metrics": {"open_tickets": {"method": "linear", "weight": 1, "floor": 4, "target": 0}},
                },
            },
            "segments": {
                "Enterprise": {
                    "weights": {"usage": 100, "support": 0},
                    "tiers": {"thriving": 95, "healthy": 80, "neutral": 60, "at_risk": 40},
                }
            },
        }
    )
    smb, ent = score_frame(
        _frame(breadth=[0.9, 0.9], open_tickets=[0.0, 0.0], segment=["SMB", "Enterprise"]), prof
    )
    assert (smb.health_score, smb.tier) == (95.0, "thriving")
    assert (ent.health_score, ent.tier) == (90.0, "healthy")


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"extends": "enterprise", "components": {"usage": {"weight": 50}}}, "sum to 100"),
        (
            {
                "extends": "enterprise",
                "components": {
                    "usage": {
                        "metrics": {
                            "logins_total": {"method": "linear", "weight": 1, "floor": 0, "target": 1}
                        }
                    }
                },
            },
            "logins_total",
        ),
        (
            {"extends": "enterprise", "tiers": {"thriving": 60, "healthy": 70, "neutral": 50, "at_risk": 30}},
            "tiers",
        ),
        (
            {
                "extends": "enterprise",
                "components": {"usage": {"metrics": {"breadth": {"method": "linear", "weight": 1}}}},
            },
            "floor",
        ),
    ],
)
def test_a_bad_profile_is_an_error_naming_the_key(doc, key):
    with pytest.raises(InputError) as err:
        profile_from_dict(doc, "my-profile.yaml")
    assert key in err.value.message and "my-profile.yaml" in err.value.message


def test_an_unknown_preset_lists_the_presets():
    with pytest.raises(InputError) as err:
        load_profile("saas")
    assert all(p in err.value.message for p in PRESETS)


DRIVER = dict(  # one driver's fields, as the score computes them
    metric="nps",
    component="engagement",
    label="NPS (0–10)",
    value=6.5,
    points_scale=20.0,
    weight=12.0,
    points=2.4,
    lost=9.6,
    segment_median=8.0,
    text="NPS (0–10): 6.5 vs 8 SMB median",
)


def test_trusted_rows_equal_validated_ones_and_refuse_a_missing_field():
    from customer_health.tools.base.models import trusted
    from customer_health.tools.health.score import Driver

    fast = trusted(Driver, **DRIVER)
    assert fast == Driver(**DRIVER) and fast.model_dump() == Driver(**DRIVER).model_dump()
    assert fast.model_dump_json() == Driver(**DRIVER).model_dump_json()
    with pytest.raises(TypeError, match="segment_median"):
        trusted(Driver, **{k: v for k, v in DRIVER.items() if k != "segment_median"})


def test_the_constructor_builds_what_trusted_builds_and_refuses_a_missing_field():
    from customer_health.tools.base.models import constructor, trusted
    from customer_health.tools.health.score import Driver

    make = constructor(Driver)
    built = make(dict(DRIVER, segment_median=None))
    assert built.model_dump_json() == trusted(Driver, **dict(DRIVER, segment_median=None)).model_dump_json()
    other = make(dict(DRIVER))
    other.text = "changed"  # instances share one fields-set; a change to one leaves the others alone
    assert built.text == DRIVER["text"] and built.model_fields_set == set(DRIVER)
    with pytest.raises(TypeError, match="text"):
        make({k: v for k, v in DRIVER.items() if k != "text"})


@given(
    st.lists(st.floats(min_value=-1e9, max_value=1e9) | st.just(math.nan), max_size=50),
    st.sampled_from([1, 2, 4]),
)
def test_rounding_a_whole_array_gives_what_rounding_each_value_gives(values, decimals):
    from customer_health.tools.base.numbers import rnd, rounded

    halves = [round(v, decimals) + 0.5 * 10.0**-decimals for v in values if v == v]  # the hard cases
    for xs in (values, halves):
        assert rounded(xs, decimals) == [rnd(v, decimals) for v in xs]


def test_the_garbage_collector_is_paused_only_inside_and_restored():
    import gc

    from customer_health.tools.base.models import paused_gc

    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_column_arithmetic_gives_what_the_formula_gives_account_by_account(tmp_path):
    """The vectorized score against the formula written out for one account at a time, on the example."""
    from customer_health.tools.data.semantics import resolve_semantics
    from customer_health.tools.health.metrics import account_metrics

    ws = Workspace(tmp_path / "ws")
    ds = ws.dataset(ws.load([EXAMPLES / "sample"], roots=AllowedRoots([EXAMPLES.resolve()])))
    frame = account_metrics(ds, ds.default_as_of(), resolve_semantics(ds))
    prof = load_profile(None)
    rows = {r.account_id: r for r in score_frame(frame, prof)}
    segments = frame["segment"].fillna("(none)")
    points = {
        (c, m): normalize(
            pd.to_numeric(frame[m], errors="coerce")
            if m in frame
            else pd.Series(math.nan, index=frame.index),
            spec,
            segments,
        )
        for c, comp in [*prof.components.items(), ("onboarding", prof.onboarding)]
        if comp is not None
        for m, spec in comp.metrics.items()
    }
    for i, acct in enumerate(frame.index):
        new = frame["tenure_days"].iloc[i] < prof.onboarding_days
        weights = dict(prof.weights_for(segments.iloc[i] if segments.iloc[i] != "(none)" else None))
        if new and prof.onboarding is not None:
            weights["onboarding"] = weights.pop("usage") + weights.pop("growth")
        comps = {}
        for c in weights:
            spec_of = (prof.onboarding if c == "onboarding" else prof.components[c]).metrics
            got = [
                (s.weight, points[(c, m)].iloc[i])
                for m, s in spec_of.items()
                if points[(c, m)].iloc[i] == points[(c, m)].iloc[i]
            ]
            if got:
                comps[c] = sum(w * p for w, p in got) / sum(w for w, _ in got)
        total = sum(weights[c] for c in comps if weights[c] > 0)
        score = sum(weights[c] * s for c, s in comps.items() if weights[c] > 0) / total
        r = rows[acct]
        assert r.health_score == round(score, 1), acct
        assert r.components == {c: round(s, 1) for c, s in comps.items()} | {
            c: None for c in weights if c not in comps
        }, acct
        assert r.lifecycle == ("onboarding" if new else "established")
        assert sum(d.points for d in r.drivers) == pytest.approx(r.health_score, abs=0.3)
    ws.close()


def test_a_new_accounts_pace_is_the_share_of_established_accounts_that_had_not_reached_the_milestone_at_its_age():
    from customer_health.tools.health.metrics import on_pace

    start = pd.Series(pd.to_datetime(["2026-01-01"] * 6), index=list("ABCDEF"))
    # established A–D reached the milestone at ages 5, 10, 40 days and never; new E (30 days old, not reached)
    # and F (20 days old, reached on day 3)
    reached = pd.Series(
        pd.to_datetime(["2026-01-06", "2026-01-11", "2026-02-10", None, None, "2026-01-04"]),
        index=start.index,
    )
    tenure = pd.Series([200, 200, 200, 200, 30, 20], index=start.index)
    pace = on_pace(reached, start, tenure)
    # at 30 days, 2 of the 4 had not reached it yet (the 40-day one and the one that never did): 0.5
    assert pace["E"] == 0.5 and pace["F"] == 1.0
    assert pace[list("ABCD")].isna().all()  # established accounts are not measured on pace
    # an account that started before the events begin (C, 2025-12-01) reaches milestones late in appearance only
    start["C"] = pd.Timestamp("2025-12-01")
    observed = on_pace(reached, start, tenure, observed_from=pd.Timestamp("2026-01-01").date())
    assert observed["E"] == round(1 / 3, 4)  # of A, B, D at 30 days only D had not reached it


def test_score_values_are_the_scores_score_frame_gives_without_the_rows():
    prof = _usage_and_support()
    frame = _frame(breadth=[0.5, 0.8], open_tickets=[2.0, math.nan], segment=["x", "x"])
    # A0: (50 × 50 + 50 × 50) ÷ 100 = 50; A1: support has no data, so usage alone: 80
    assert score_values(frame, prof) == {"A0": 50.0, "A1": 80.0}
    assert score_values(frame, prof) == {r.account_id: r.health_score for r in score_frame(frame, prof)}
