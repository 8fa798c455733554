"""Core-feature breadth, depth and concentration on the hand-built portfolio (see conftest)."""

from __future__ import annotations

from customer_health.tools.usage.adoption import feature_adoption


def _rows(ds, **kw):
    return {r.account_id: r for r in feature_adoption(ds, **kw).accounts}


def test_breadth_is_the_share_of_core_features_used(portfolio):
    rows = _rows(portfolio)
    assert rows["P1"].breadth == 0.3333  # build_report only, of 3 core features
    assert rows["P2"].breadth == 0.0
    assert rows["P3"].breadth == 0.3333


def test_depth_per_feature_against_seats_and_active_users(portfolio):
    build = next(f for f in _rows(portfolio)["P1"].features if f.feature == "build_report")
    assert (build.users, build.actions) == (2, 8.0)
    assert build.share_of_seats == 0.5  # 2 of 4 seats
    assert build.share_of_active == 0.6667  # 2 of 3 active users
    assert not build.underused


def test_features_used_by_under_30_percent_of_seats_are_flagged(portfolio):
    rows = _rows(portfolio)
    assert rows["P1"].underused_features == ["import_data", "share_report"]
    assert rows["P3"].underused_features == ["build_report", "share_report"]  # import_data: 3 of 2 seats


def test_concentration_of_core_work(portfolio):
    p1 = _rows(portfolio)["P1"]
    # p1a did 6 of the 8 core actions in the window, p1b the other 2
    assert (p1.top1_share, p1.top2_share, p1.top_user) == (0.75, 1.0, "p1a")
    assert p1.single_point_of_failure
    p3 = _rows(portfolio)["P3"]
    assert p3.top1_share == 0.3333 and not p3.single_point_of_failure


def test_segment_percentile_of_breadth(portfolio):
    rows = _rows(portfolio)
    assert (rows["P1"].breadth_segment_percentile, rows["P2"].breadth_segment_percentile) == (1.0, 0.0)


def test_summary_names_the_single_points_of_failure(portfolio):
    result = feature_adoption(portfolio)
    assert "1 depend on a single user" in result.summary
    assert result.caveats == []  # core features are configured in the fixture
