"""Issue 11, item 6: for the same workspace, as-of date and profile, every face gives the same numbers — the CLI's
JSON, the MCP tools' structured content, the facts packs and the dashboard.

Two datasets: the bundled example, and a vendor-shaped portfolio (Salesforce, Segment, Zendesk; tests/parity_data.py)
with no revenue, NPS or outcomes table and a mid-month as-of date. The profile is `self_serve`, not the default, so a
face that drops the profile shows. The faces share one workspace, as a user's would; each dataset is computed once
per face (module fixtures): the CLI commands, an MCP session in memory, and the library calls behind the facts packs
and the dashboard.

MCP results are bounded (the first rows that fit 20,000 characters), so each MCP row is compared with the CLI row of
the same key, and at least a few rows must be there. The accessors at the top are the only code that knows a face's
result shape; the comparisons go by meaning (account_id, health_score, …), never whole-dict equality.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from customer_health.server.analyses import BY_NAME
from customer_health.server.cli.main import main as cli_main
from customer_health.server.dashboard import charts
from customer_health.server.dashboard.build import write_dashboard
from customer_health.server.dashboard.usage import FLAGS
from customer_health.server.mcp.server import build_server
from customer_health.tools.data.workspace import AllowedRoots, Workspace, example_dir
from customer_health.tools.narrative.facts import build_facts
from mcp import Client

from tests.parity_data import AS_OF as VENDOR_AS_OF
from tests.parity_data import STEPS as VENDOR_STEPS
from tests.parity_data import write_vendor_portfolio
from tests.server.dashboard.dashboard_page import Page

# how many signals per row the conversation shows (the trims declared with each analysis)
SHOWN = {name: BY_NAME[name].trim["accounts.signals"] for name in ("score", "signals")}

PROFILE = "self_serve"
MIN_ROWS = 5  # an MCP answer must carry at least this many rows (or all of them, when there are fewer)
LOOKBACK = 90  # the dashboard's and the facts packs' funnel: attempts started in the last 90 days
HOME = "ws"  # the one workspace every face uses


@dataclass(frozen=True)
class Spec:
    folder: str
    as_of: str
    steps: tuple[str, ...]
    accounts: tuple[str, ...]  # cards and facts packs
    by_name: tuple[str, str]  # (name, id of one of `accounts`): an account named instead of identified
    horizon_days: int  # the backtest's lead time (the vendor events cover five months only)


SPECS = {
    "example": Spec(
        "sample",
        "2026-08-31",  # the example's latest event day
        ("import_data", "build_report", "share_report"),
        ("ACC-0073",),
        ("Willow Transport", "ACC-0073"),
        90,
    ),
    "vendor": Spec(
        "vendor",
        VENDOR_AS_OF,
        tuple(VENDOR_STEPS),
        # declining, new, silent for 40 days, churned before as_of
        ("0015g00000PAR017AA", "0015g00000PAR013AA", "0015g00000PAR025AA", "0015g00000PAR028AA"),
        ("redwood hotels", "0015g00000PAR017AA"),  # Redwood Hotels, in another case
        30,
    ),
}


# --- accessors: the only code that knows each face's result shape ---------------------------------------------------
@dataclass(frozen=True)
class Failed:
    """A face that could not answer: exit code and stderr, or the tool's error text."""

    why: str


def rows(result: dict, key: str = "accounts") -> list[dict]:
    return list(result.get(key) or [])


def by_id(items: list[dict], key: str = "account_id") -> dict[str, dict]:
    return {r[key]: r for r in items}


def signal_ids(row: dict | None) -> list[str]:
    """Signal ids, whether a face lists them as ids or as signal objects."""
    return [s if isinstance(s, str) else s["id"] for s in (row or {}).get("signals") or []]


def same_signals(d, key: str, full: list[str], shown: list[str], keep: int) -> None:
    """The conversation shows the first `keep` signals of a row (a trim declared in server/analyses.py)."""
    d.check(key, full[: max(len(shown), min(len(full), keep))], shown)


def next_action(row: dict | None) -> str | None:
    action = (row or {}).get("next_action")
    return action.get("action") if isinstance(action, dict) else action


def card_parts(card: dict) -> dict[str, Any]:
    """An account card (CLI JSON or MCP structured content) as score, seats, adoption, trend and risk rows."""
    return {k: card.get(k) for k in ("account_id", "score", "seats", "adoption", "trend", "risk")}


def cohort_cells(result: dict) -> dict[tuple[str, str], dict]:
    """(metric, cohort) → size, low_confidence, values, partial_last_month, from the result's tables, or from flat
    cohort rows (metric, cohort, size, m0, m1, …) when a face flattens them."""
    cells: dict[tuple[str, str], dict] = {}
    for key in ("logo", "revenue", "active_users"):
        table = result.get(key)
        for r in (table or {}).get("rows") or []:
            cells[(table["metric"], r["cohort"])] = {
                "size": r["size"],
                "low_confidence": r["low_confidence"],
                "values": r["values"],
                "partial_last_month": r.get("partial_last_month"),
            }
    for r in result.get("cohort_rows") or []:
        values, m = [], 0
        while f"m{m}" in r:
            values.append(r[f"m{m}"])
            m += 1
        cells.setdefault(
            (r["metric"], r["cohort"]),
            {
                "size": r["size"],
                "low_confidence": r["low_confidence"],
                "values": values,
                "partial_last_month": r.get("partial_last_month"),
            },
        )
    return cells


def steps_of(funnel: dict) -> list[dict]:
    return list(funnel.get("steps") or [])


def facts_json(facts: Any) -> dict:
    return facts.model_dump(mode="json") if hasattr(facts, "model_dump") else dict(facts)


def ratio(share: dict | None) -> float | None:
    """A facts pack's Share (ratio and percent) as its ratio."""
    return None if share is None else share["ratio"]


def amount(money: dict | None) -> float | None:
    return None if money is None else money["amount"]


def cell(row: dict, column: str) -> str | None:
    """A dashboard cell's computed value (data-v)."""
    return row[column][0]


def cell_float(row: dict, column: str) -> float | None:
    v = cell(row, column)
    return None if v in (None, "") else float(v)


# --- comparison ------------------------------------------------------------------------------------------------------
def same(a: Any, b: Any, tol: float = 1e-9) -> bool:
    """Equal by meaning: numbers within `tol`, ints equal to floats, dicts and lists element by element."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=0, abs_tol=tol) or (a != a and b != b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], tol) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y, tol) for x, y in zip(a, b, strict=True))
    return a == b


class Diffs:
    """Every difference found by one test, reported together: 'where: left != right'."""

    def __init__(self, left: str, right: str) -> None:
        self.left, self.right, self.items = left, right, []

    def check(self, where: str, a: Any, b: Any, tol: float = 1e-9) -> None:
        if not same(a, b, tol):
            self.items.append(f"{where}: {self.left} {a!r} != {self.right} {b!r}")

    def fields(self, where: str, a: dict | None, b: dict | None, names: tuple[str, ...], tol: float = 1e-9):
        if a is None or b is None:
            if (a is None) != (b is None):
                self.items.append(
                    f"{where}: {self.left} {a is not None} present, {self.right} {b is not None}"
                )
            return
        for name in names:  # a key missing on both sides is a difference too: a renamed key must not pass
            self.check(f"{where}.{name}", a.get(name, "<missing>"), b.get(name, "<missing>"), tol)
            if name not in a and name not in b:
                self.items.append(f"{where}.{name}: missing from {self.left} and {self.right}")

    def assert_none(self) -> None:
        shown = "\n".join(self.items[:25]) + (
            f"\n… and {len(self.items) - 25} more" if len(self.items) > 25 else ""
        )
        assert not self.items, f"{len(self.items)} difference(s):\n{shown}"


def enough(mcp_rows: list, cli_rows: list, what: str) -> None:
    assert len(mcp_rows) >= min(MIN_ROWS, len(cli_rows)), (
        f"MCP {what}: {len(mcp_rows)} of {len(cli_rows)} rows"
    )


# --- the faces ------------------------------------------------------------------------------------------------------
def cli_runs(spec: Spec) -> dict[str, tuple[list[str], bool]]:
    """Name → (CLI arguments, takes --profile). Every run also gets --format json, and --as-of unless it backtests."""
    steps = ",".join(spec.steps)
    name = spec.by_name[0]
    runs = {
        "score": (["score"], True),
        "score_all": (["score", "--all-accounts"], True),
        "signals": (["signals"], True),
        "portfolio": (["portfolio"], True),
        "seats": (["seats"], False),
        "seats_all": (["seats", "--all-accounts"], False),
        "adoption": (["adoption"], False),
        "adoption_all": (["adoption", "--all-accounts"], False),
        "trends": (["trends"], False),
        "trends_all": (["trends", "--all-accounts"], False),
        "funnel": (["funnel", "--steps", steps], False),
        "funnel_recent": (
            ["funnel", "--steps", steps, "--lookback-days", str(LOOKBACK), "--by", "role"],
            False,
        ),
        "workflows": (["workflows"], False),
        "cohorts": (["cohorts"], False),
        "validate": (["validate", "--horizon-days", str(spec.horizon_days)], True),
        "card_by_name": (["account", "--id", name], True),
        "trends_by_name": (["trends", "--account", name], False),
    }
    for a in spec.accounts:
        runs[f"card:{a}"] = (["account", "--id", a], True)
        runs[f"funnel:{a}"] = (
            ["funnel", "--steps", steps, "--account", a, "--by", "role", "--lookback-days", str(LOOKBACK)],
            False,
        )
    return runs


def mcp_calls(spec: Spec) -> dict[str, tuple[str, dict]]:
    """The same analyses as MCP tool calls, named as in `cli_runs`."""
    day, steps = {"as_of": spec.as_of}, list(spec.steps)
    scored = {"profile": PROFILE, **day}
    name = spec.by_name[0]
    recent = {"steps": steps, "lookback_days": LOOKBACK, "by": "role", **day}
    calls = {
        "score": ("score_accounts", scored),
        "score_all": ("score_accounts", {**scored, "include_all": True}),
        "signals": ("risk_signals", scored),
        "portfolio": ("portfolio_summary", scored),
        "seats": ("seat_utilization", day),
        "seats_all": ("seat_utilization", {**day, "include_all": True}),
        "adoption": ("feature_adoption", day),
        "adoption_all": ("feature_adoption", {**day, "include_all": True}),
        "trends": ("usage_trends", day),
        "trends_all": ("usage_trends", {**day, "include_all": True}),
        "funnel": ("analyze_funnel", {"steps": steps, **day}),
        "funnel_recent": ("analyze_funnel", recent),
        "workflows": ("workflow_completion", day),
        "cohorts": ("cohort_retention", day),
        "validate": ("validate_health_model", {"profile": PROFILE, "horizon_days": spec.horizon_days}),
        "card_by_name": ("get_account_card", {"account_id": name, **scored}),
        "trends_by_name": ("usage_trends", {"account_id": name, **day}),
    }
    for a in spec.accounts:
        calls[f"card:{a}"] = ("get_account_card", {"account_id": a, **scored})
        calls[f"funnel:{a}"] = ("analyze_funnel", {**recent, "account_id": a})
    return calls


def run_cli(argv: list[str]) -> dict | Failed:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main(argv)
        except SystemExit as exc:  # argparse rejects an unknown flag before the command runs
            code = exc.code
    if code != 0:
        return Failed(f"customer-health {' '.join(argv)} exited {code}: {err.getvalue().strip()}")
    return json.loads(out.getvalue())


def run_mcp(root: Path, key: str, spec: Spec) -> dict[str, dict | Failed]:
    async def go() -> dict[str, dict | Failed]:
        server = build_server(home=root / HOME)
        out: dict[str, dict | Failed] = {}
        try:
            async with Client(server) as client:
                loaded = await client.call_tool("load_data", {"paths": [spec.folder]})
                assert not loaded.is_error, loaded.content
                for name, (tool, args) in mcp_calls(spec).items():
                    result = await client.call_tool(tool, args)
                    if result.is_error:
                        text = result.content[0].text if result.content else ""
                        out[name] = Failed(f"{tool}({args}) failed: {text}")
                    else:
                        out[name] = result.structured_content
        finally:
            state = getattr(server, "session_state", None)
            if state is not None:
                state.close()
        return out

    return anyio.run(go)


@dataclass
class Faces:
    key: str
    spec: Spec
    cli: dict[str, dict | Failed]
    mcp: dict[str, dict | Failed]
    ds: Any  # the library face's dataset, for the facts packs
    dashboard: Page | Failed
    _facts: dict = field(default_factory=dict)

    def got(self, face: str, name: str) -> dict:
        """One face's answer, or the test fails with why that face could not answer."""
        found = getattr(self, face)[name]
        if isinstance(found, Failed):
            pytest.fail(f"[{self.key}] {face}: {found.why}")
        return found

    def page(self) -> Page:
        if isinstance(self.dashboard, Failed):
            pytest.fail(f"[{self.key}] dashboard: {self.dashboard.why}")
        return self.dashboard

    def facts(self, kind: str, argument: str | None = None) -> dict:
        """A facts pack for the same date and profile (built on first use, kept for the module)."""
        if (kind, argument) not in self._facts:
            try:
                pack = build_facts(self.ds, kind, argument, as_of=self.spec.as_of, profile=PROFILE)
                self._facts[(kind, argument)] = facts_json(pack)
            except TypeError as exc:  # build_facts without a profile keyword
                self._facts[(kind, argument)] = Failed(f"build_facts(..., profile=...): {exc}")
        found = self._facts[(kind, argument)]
        if isinstance(found, Failed):
            pytest.fail(f"[{self.key}] facts {kind} {argument or ''}: {found.why}")
        return found


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A working directory holding both datasets (loads are allowed under the cwd) and the workspace."""
    root = tmp_path_factory.mktemp("parity")
    shutil.copytree(example_dir(), root / "sample")
    write_vendor_portfolio(root / "vendor")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("CUSTOMER_HEALTH_HOME", str(root / HOME))
        mp.delenv("ANTHROPIC_API_KEY", raising=False)
        yield root


@pytest.fixture(scope="module", params=list(SPECS))
def faces(request, root):
    key, spec = request.param, SPECS[request.param]
    cli = {}
    for name, (argv, profiled) in cli_runs(spec).items():
        extra = ["--profile", PROFILE] if profiled else []
        extra += [] if argv[0] == "validate" else ["--as-of", spec.as_of]
        cli[name] = run_cli([argv[0], spec.folder, *argv[1:], *extra, "--format", "json"])
    mcp = run_mcp(root, key, spec)
    with Workspace(root / HOME) as ws:  # the CLI and MCP runs have closed it; this load is a cache hit
        ds = ws.dataset(ws.load([root / spec.folder], roots=AllowedRoots([root.resolve()])))
        try:
            with pytest.MonkeyPatch.context() as mp:
                # the charts draw the tables' numbers; drawing them (matplotlib, seconds) is the dashboard tests' job
                mp.setattr(charts, "render", lambda *args: None)
                files = write_dashboard(ds, root / f"dashboard-{key}", as_of=spec.as_of, profile=PROFILE)
            page: Page | Failed = Page(Path(files.html).read_text(encoding="utf-8"))
        except Exception as exc:  # reported by the dashboard tests, not as an error of every test
            page = Failed(f"write_dashboard: {type(exc).__name__}: {exc}")
        yield Faces(key, spec, cli, mcp, ds, page)


# --- scores and risk --------------------------------------------------------------------------------------------------
SCORE_FIELDS = ("health_score", "tier", "previous_score", "trend", "components", "status", "weight_coverage")
RISK_FIELDS = ("health_score", "tier", "previous_score", "risk_level")


def test_score_and_risk_are_for_the_same_date_and_profile_on_every_face(faces):
    d = Diffs("cli", "mcp")
    for name in ("score", "signals", "portfolio"):
        cli, mcp = faces.got("cli", name), faces.got("mcp", name)
        d.check(f"{name}.as_of", cli["as_of"], faces.spec.as_of)
        d.check(f"{name}.as_of", mcp.get("as_of"), faces.spec.as_of)
    d.check("score.profile", faces.got("cli", "score")["profile"], PROFILE)
    d.check("score.profile", faces.got("mcp", "score").get("profile"), PROFILE)
    d.assert_none()


def test_score_rows_agree_between_cli_and_mcp(faces):
    cli = by_id(rows(faces.got("cli", "score")))
    mcp = rows(faces.got("mcp", "score"))
    enough(mcp, list(cli), "score_accounts")
    d = Diffs("cli", "mcp")
    for m in mcp:
        c = cli[m["account_id"]]
        d.fields(m["account_id"], c, m, SCORE_FIELDS)
        same_signals(d, f"{m['account_id']}.signals", signal_ids(c), signal_ids(m), SHOWN["score"])
        d.check(f"{m['account_id']}.next_action", next_action(c), next_action(m))
    d.check(
        "tier_counts", faces.got("cli", "score")["tier_counts"], faces.got("mcp", "score").get("tier_counts")
    )
    d.assert_none()


def test_risk_rows_agree_between_cli_and_mcp_and_with_the_score_rows(faces):
    cli_risk, mcp_risk = faces.got("cli", "signals"), faces.got("mcp", "signals")
    cli, mcp = by_id(rows(cli_risk)), rows(mcp_risk)
    enough(mcp, [r for r in cli.values() if r["risk_level"] != "none"], "risk_signals")
    d = Diffs("cli", "mcp")
    for m in mcp:
        c = cli[m["account_id"]]
        d.fields(m["account_id"], c, m, RISK_FIELDS)
        same_signals(d, f"{m['account_id']}.signals", signal_ids(c), signal_ids(m), SHOWN["signals"])
        d.check(f"{m['account_id']}.next_action", next_action(c), next_action(m))
    for key in ("risk_counts", "signal_counts", "arr_at_risk"):
        d.check(key, cli_risk[key], mcp_risk.get(key))
    scores = by_id(rows(faces.got("cli", "score")))
    for a, c in cli.items():  # within the CLI: the score rows carry the signals command's signals
        d.check(f"score row {a}.signals", signal_ids(scores[a]), signal_ids(c))
        d.check(f"score row {a}.health_score", scores[a]["health_score"], c["health_score"])
    d.assert_none()


PORTFOLIO_FIELDS = ("customers", "total_arr", "at_risk_arr", "at_risk_share")
KPI_FIELDS = (
    "source",
    "grr",
    "nrr",
    "logo_retention",
    "expansion_rate",
    "start_accounts",
    "retained_accounts",
)


def test_portfolio_kpis_agree_between_cli_and_mcp(faces):
    cli, mcp = faces.got("cli", "portfolio"), faces.got("mcp", "portfolio")
    d = Diffs("cli", "mcp")
    d.fields("portfolio", cli, mcp, PORTFOLIO_FIELDS)
    d.fields("revenue_kpis", cli["revenue_kpis"], mcp.get("revenue_kpis"), KPI_FIELDS)
    tiers = {t["tier"]: t for t in mcp.get("health_distribution") or []}
    assert tiers, "MCP portfolio_summary has no health distribution"
    for t in cli["health_distribution"]:
        d.fields(f"tier {t['tier']}", t, tiers.get(t["tier"]), ("accounts", "arr", "arr_share"))
    for due in ("next_60", "next_90"):
        d.fields(
            f"renewals.{due}", cli["renewals"][due], (mcp.get("renewals") or {}).get(due), ("count", "arr")
        )
    d.fields("top_red_accounts", cli["top_red_accounts"], mcp.get("top_red_accounts"), ("count", "arr"))
    d.assert_none()


# --- usage analytics ------------------------------------------------------------------------------------------------
ROW_FIELDS = {
    "seats": (
        "seats_purchased",
        "present_users",
        "adopted_users",
        "present_utilization",
        "adopted_utilization",
        "adoption_gap",
        "flag",
        "present_not_adopted",
    ),
    "adoption": (
        "active_users",
        "core_users",
        "breadth",
        "top1_share",
        "top2_share",
        "single_point_of_failure",
        "underused_features",
    ),
    "trends": ("weekly", "mom", "wow", "last_30", "prior_30", "slopes", "decline_flag", "divergence"),
}


@pytest.mark.parametrize("analysis", list(ROW_FIELDS))
def test_account_rows_agree_between_cli_and_mcp(faces, analysis):
    cli_result, mcp_result = faces.got("cli", analysis), faces.got("mcp", analysis)
    cli, mcp = by_id(rows(cli_result)), rows(mcp_result)
    enough(mcp, list(cli), analysis)
    d = Diffs("cli", "mcp")
    d.check("as_of", cli_result["as_of"], mcp_result.get("as_of"))
    for m in mcp:
        d.fields(m["account_id"], cli[m["account_id"]], m, ROW_FIELDS[analysis])
    d.assert_none()


FUNNEL_FIELDS = ("users", "conversion_from_start", "conversion_from_previous", "median_time_to_step_hours")


def _same_funnel(d: Diffs, where: str, cli: dict, mcp: dict) -> None:
    d.check(f"{where}.users_started", cli["users_started"], mcp.get("users_started"))
    d.check(f"{where}.broken_step", cli["broken_step"], mcp.get("broken_step"))
    d.check(f"{where}.steps", [s["step"] for s in steps_of(cli)], [s["step"] for s in steps_of(mcp)])
    for c, m in zip(steps_of(cli), steps_of(mcp), strict=False):
        d.fields(f"{where}.{c['step']}", c, m, FUNNEL_FIELDS)
    for group, steps in (cli.get("breakdown") or {}).items():
        theirs = (mcp.get("breakdown") or {}).get(group)
        d.check(f"{where}.by {group}", [s["users"] for s in steps], [s["users"] for s in theirs or []])


@pytest.mark.parametrize("name", ["funnel", "funnel_recent"])
def test_funnel_agrees_between_cli_and_mcp(faces, name):
    cli, mcp = faces.got("cli", name), faces.got("mcp", name)
    assert steps_of(mcp), f"MCP analyze_funnel ({name}) has no steps"
    d = Diffs("cli", "mcp")
    _same_funnel(d, name, cli, mcp)
    d.check(f"{name}.filters", cli.get("filters"), mcp.get("filters"))
    d.assert_none()


def test_one_accounts_recent_funnel_agrees_between_cli_and_mcp(faces):
    d = Diffs("cli", "mcp")
    for a in faces.spec.accounts:
        _same_funnel(d, a, faces.got("cli", f"funnel:{a}"), faces.got("mcp", f"funnel:{a}"))
    d.assert_none()


WORKFLOW_FIELDS = (
    "target_users",
    "completers",
    "completion_rate",
    "completions",
    "completions_per_user_week",
    "meets_target",
    "stopped_at",
    "stop_step",
)


def test_workflow_completion_agrees_between_cli_and_mcp(faces):
    cli_result, mcp_result = faces.got("cli", "workflows"), faces.got("mcp", "workflows")
    cli, mcp = by_id(rows(cli_result)), rows(mcp_result)
    enough(mcp, list(cli), "workflow_completion")
    d = Diffs("cli", "mcp")
    totals = {w["workflow"]: w for w in mcp_result.get("totals") or []}
    for w in cli_result["totals"]:
        d.fields(f"totals.{w['workflow']}", w, totals.get(w["workflow"]), WORKFLOW_FIELDS)
    for m in mcp:
        theirs = {w["workflow"]: w for w in m["workflows"]}
        for w in cli[m["account_id"]]["workflows"]:
            d.fields(f"{m['account_id']}.{w['workflow']}", w, theirs.get(w["workflow"]), WORKFLOW_FIELDS)
    d.assert_none()


def test_cohort_retention_agrees_between_cli_and_mcp_partial_month_included(faces):
    cli_result, mcp_result = faces.got("cli", "cohorts"), faces.got("mcp", "cohorts")
    cli, mcp = cohort_cells(cli_result), cohort_cells(mcp_result)
    enough(list(mcp), list(cli), "cohort_retention")
    d = Diffs("cli", "mcp")
    for key, m in mcp.items():
        d.fields("/".join(key), cli.get(key), m, ("size", "low_confidence", "values", "partial_last_month"))
    tiers = by_id(mcp_result.get("arr_tiers") or [], "tier")
    for t in cli_result["arr_tiers"]:
        d.fields(f"arr tier {t['tier']}", t, tiers.get(t["tier"]), ("accounts", "churned", "logo_retention"))
    d.assert_none()


VALIDATION_FIELDS = (
    "n_accounts",
    "n_churned",
    "auc",
    "top_decile_lift",
    "flag_threshold",
    "precision",
    "recall",
    "surprise_churn_rate",
    "calibration_error",
    "recommended_threshold",
    "profile",
)


def test_the_backtest_agrees_between_cli_and_mcp(faces):
    cli, mcp = faces.got("cli", "validate"), faces.got("mcp", "validate")
    d = Diffs("cli", "mcp")
    d.fields("validation", cli, mcp, VALIDATION_FIELDS)
    theirs = {(r["account_id"], r["as_of"]): r for r in rows(mcp)}
    enough(list(theirs), rows(cli), "validate_health_model")
    for c in rows(cli):
        if (c["account_id"], c["as_of"]) in theirs:
            d.fields(
                c["account_id"],
                c,
                theirs[(c["account_id"], c["as_of"])],
                ("health_score", "churn_probability"),
            )
    d.assert_none()


# --- the account card -----------------------------------------------------------------------------------------------
def _card_against_rows(d: Diffs, face: str, a: str, card: dict, faces: Faces) -> None:
    """A card's score, seats, adoption, trend and risk are the rows of the same face's portfolio-wide answers."""
    parts = card_parts(card)
    score_rows = by_id(rows(faces.got(face, "score")))
    if a in score_rows:
        d.fields(f"{face} card {a} vs score row", parts["score"], score_rows[a], SCORE_FIELDS)
    risk_rows = by_id(rows(faces.got(face, "signals")))
    if a in risk_rows:
        d.check(
            f"{face} card {a}.risk_level", (parts["risk"] or {}).get("risk_level"), risk_rows[a]["risk_level"]
        )
        full, shown = signal_ids(parts["risk"]), signal_ids(risk_rows[a])
        same_signals(
            d, f"{face} card {a}.signals", full, shown, SHOWN["signals"] if face == "mcp" else len(full)
        )
    for name, part in (("seats", "seats"), ("adoption", "adoption"), ("trends", "trend")):
        table = by_id(rows(faces.got(face, name)))
        if a in table:
            d.fields(f"{face} card {a}.{part} vs {name} row", parts[part], table[a], ROW_FIELDS[name])


def test_the_account_card_agrees_between_cli_and_mcp_and_with_the_rows(faces):
    d = Diffs("left", "right")
    for a in faces.spec.accounts:
        cli, mcp = card_parts(faces.got("cli", f"card:{a}")), card_parts(faces.got("mcp", f"card:{a}"))
        d.check(f"{a} account_id", cli["account_id"], mcp["account_id"])
        d.fields(f"card {a}.score cli/mcp", cli["score"], mcp["score"], SCORE_FIELDS)
        d.check(
            f"card {a}.risk_level cli/mcp",
            (cli["risk"] or {}).get("risk_level"),
            (mcp["risk"] or {}).get("risk_level"),
        )
        d.check(f"card {a}.signals cli/mcp", signal_ids(cli["risk"]), signal_ids(mcp["risk"]))
        for part, name in (("seats", "seats"), ("adoption", "adoption"), ("trend", "trends")):
            d.fields(f"card {a}.{part} cli/mcp", cli[part], mcp[part], ROW_FIELDS[name])
        _card_against_rows(d, "cli", a, faces.got("cli", f"card:{a}"), faces)
        _card_against_rows(d, "mcp", a, faces.got("mcp", f"card:{a}"), faces)
    d.assert_none()


def test_an_account_named_instead_of_identified_gets_the_same_answer_on_every_face(faces):
    name, ref = faces.spec.by_name
    trends = by_id(rows(faces.got("cli", "trends")))[ref]
    d = Diffs("by name", "by id")
    for face in ("cli", "mcp"):
        by_name, by_ref = (
            card_parts(faces.got(face, "card_by_name")),
            card_parts(faces.got(face, f"card:{ref}")),
        )
        d.check(f"{face} card '{name}'.account_id", by_name["account_id"], ref)
        d.fields(f"{face} card '{name}'.score", by_name["score"], by_ref["score"], SCORE_FIELDS)
        found = rows(faces.got(face, "trends_by_name"))
        d.check(f"{face} trends '{name}' accounts", [r["account_id"] for r in found], [ref])
        if found:
            d.fields(f"{face} trends '{name}'", found[0], trends, ROW_FIELDS["trends"])
    d.assert_none()


# --- the facts packs --------------------------------------------------------------------------------------------------
def _health_facts(d: Diffs, where: str, health: dict, score: dict) -> None:
    d.check(f"{where}.health.score", health["score"], score["health_score"])
    d.check(f"{where}.health.tier", health["tier"], score["tier"])
    d.check(f"{where}.health.previous_score", health["previous_score"], score["previous_score"])
    d.check(f"{where}.health.trend", health["trend"], score["trend"])
    d.check(f"{where}.health.components", health["components"], score["components"])


def _seat_facts(d: Diffs, where: str, seats: dict | None, row: dict | None) -> None:
    if seats is None or row is None:
        d.check(f"{where}.seats present", seats is not None, row is not None)
        return
    for key in ("present_users", "adopted_users"):
        d.check(f"{where}.seats.{key}", seats[key], row[key])
    for key in ("present_utilization", "adopted_utilization"):
        d.check(f"{where}.seats.{key}", ratio(seats[key]), row[key], 1e-4)


def _funnel_facts(d: Diffs, where: str, funnel: dict | None, cli: dict) -> None:
    if funnel is None:
        d.check(f"{where}.funnel present", False, True)
        return
    d.check(f"{where}.funnel.users_started", funnel["users_started"], cli["users_started"])
    d.check(
        f"{where}.funnel.steps", [s["users"] for s in funnel["steps"]], [s["users"] for s in steps_of(cli)]
    )
    d.check(
        f"{where}.funnel.conversion_from_start",
        [ratio(s["conversion_from_start"]) for s in funnel["steps"]],
        [s["conversion_from_start"] for s in steps_of(cli)],
        1e-4,
    )
    d.check(f"{where}.funnel.broken_step", funnel["broken_step"], cli["broken_step"])


@pytest.mark.parametrize("kind", ["qbr", "risk", "summary"])
def test_account_facts_packs_hold_the_tools_numbers_for_the_same_date_and_profile(faces, kind):
    # every account: a card (and its facts) covers an account whatever its stage, churned ones included
    scores, risk = by_id(rows(faces.got("cli", "score_all"))), by_id(rows(faces.got("cli", "signals")))
    seats, adoption = (
        by_id(rows(faces.got("cli", "seats_all"))),
        by_id(rows(faces.got("cli", "adoption_all"))),
    )
    trends = by_id(rows(faces.got("cli", "trends_all")))
    d = Diffs("facts", "cli")
    for a in faces.spec.accounts:
        f, where = faces.facts(kind, a), f"{kind} {a}"
        d.check(f"{where}.as_of", f["as_of"], faces.spec.as_of)
        d.check(f"{where}.account_id", f["account"]["account_id"], a)
        _health_facts(d, where, f["health"], scores[a])
        d.check(f"{where}.risk_level", f["risk_level"], (risk.get(a) or {}).get("risk_level"))
        if "signals" in f:
            d.check(f"{where}.signals", [s["id"] for s in f["signals"]], signal_ids(risk.get(a)))
        if "seats" in f:
            _seat_facts(d, where, f["seats"], seats.get(a))
        if kind == "summary":
            d.check(f"{where}.breadth", ratio(f["breadth"]), (adoption.get(a) or {}).get("breadth"), 1e-4)
        if f.get("adoption"):
            d.check(
                f"{where}.adoption.breadth", ratio(f["adoption"]["breadth"]), adoption[a]["breadth"], 1e-4
            )
        trend = f.get("trend") or f.get("activity")
        if trend:
            mom = {k: ratio(v) for k, v in trend["month_over_month"].items()}
            d.check(f"{where}.trend.mom", mom, {k: trends[a]["mom"].get(k) for k in mom}, 1e-4)
            d.check(f"{where}.trend.last_30", trend["last_30"], trends[a]["last_30"])
        if "funnel" in f:
            _funnel_facts(d, where, f["funnel"], faces.got("cli", f"funnel:{a}"))
    d.assert_none()


def test_the_board_facts_hold_the_portfolio_numbers_for_the_same_date_and_profile(faces):
    f, cli = faces.facts("board"), faces.got("cli", "portfolio")
    kpis, risk = cli["revenue_kpis"], faces.got("cli", "signals")
    d = Diffs("facts", "cli")
    d.check("as_of", f["as_of"], faces.spec.as_of)
    d.check("customers", f["customers"], cli["customers"])
    d.check("total_arr", amount(f["total_arr"]), cli["total_arr"], 0.005)
    d.check("at_risk_arr", amount(f["at_risk_arr"]), cli["at_risk_arr"], 0.005)
    for key in ("grr", "nrr", "logo_retention"):
        d.check(f"retention.{key}", ratio(f["retention"][key]), kpis[key], 1e-4)
    d.check("retention.source", f["retention"]["source"], kpis["source"])
    d.check(
        "health_distribution",
        [(t["tier"], t["accounts"]) for t in f["health_distribution"]],
        [(t["tier"], t["accounts"]) for t in cli["health_distribution"]],
    )
    d.check("tier_floors", f["tier_floors"], faces.got("cli", "score")["tiers"])
    d.check("renewals_next_90_days", f["renewals_next_90_days"]["count"], cli["renewals"]["next_90"]["count"])
    d.check("red_accounts", f["red_accounts"]["count"], cli["top_red_accounts"]["count"])
    d.check("risk.accounts_by_level", f["risk"]["accounts_by_level"], risk["risk_counts"])
    d.assert_none()


# --- the dashboard ----------------------------------------------------------------------------------------------------
def test_the_dashboard_kpis_are_the_portfolio_and_risk_numbers(faces):
    cards, cli, risk = faces.page().kpis, faces.got("cli", "portfolio"), faces.got("cli", "signals")
    k = cli["revenue_kpis"]
    expected = {
        "customers": cli["customers"],
        "total_arr": cli["total_arr"],
        "nrr": k["nrr"],
        "grr": k["grr"],
        "logo_retention": k["logo_retention"],
        "at_risk_arr": cli["at_risk_arr"],
        "renewals_90": cli["renewals"]["next_90"]["count"],
        "urgent": risk["priority_counts"]["urgent"] + risk["priority_counts"]["high"],
    }
    d = Diffs("dashboard", "cli")
    for key, value in expected.items():
        shown = (cards.get(key) or {}).get("v")
        d.check(key, None if shown in (None, "None") else float(shown), value)
    d.assert_none()


def test_the_dashboard_tables_are_the_score_and_risk_rows(faces):
    page, cli = faces.page(), faces.got("cli", "portfolio")
    scores, risk = by_id(rows(faces.got("cli", "score"))), by_id(rows(faces.got("cli", "signals")))
    d = Diffs("dashboard", "cli")
    tiers = page.tables["tiers"]
    d.check(
        "tiers.accounts",
        [int(cell(r, "Accounts")) for r in tiers],
        [t["accounts"] for t in cli["health_distribution"]],
    )
    d.check(
        "tiers.arr",
        [cell_float(r, "ARR") for r in tiers],
        [t["arr"] for t in cli["health_distribution"]],
        0.005,
    )
    listed = 0
    for table in ("at_risk", "renewals"):
        for r in page.tables.get(table, []):
            a, listed = cell(r, "Account"), listed + 1
            d.check(f"{table} {a}.health", cell_float(r, "Health"), scores[a]["health_score"])
            d.check(f"{table} {a}.previous", cell_float(r, "30 d ago"), scores[a]["previous_score"])
            d.check(f"{table} {a}.risk", cell(r, "Risk"), risk[a]["risk_level"])
    for r in page.tables.get("urgent", []):  # the call list: urgent and high priority
        a, listed = cell(r, "Account"), listed + 1
        d.check(f"urgent {a}.health", cell_float(r, "Health"), risk[a]["health_score"])
        d.check(f"urgent {a}.priority", cell(r, "Priority"), risk[a]["priority"])
        d.check(f"urgent {a}.signals", int(cell(r, "Signals")), len(risk[a]["signals"]))
        d.check(f"urgent {a}.renews_in", cell_float(r, "Renews in"), risk[a]["days_to_renewal"])
    assert listed >= MIN_ROWS, f"the dashboard lists {listed} account rows"
    d.assert_none()


def test_the_dashboard_usage_sections_are_the_seat_adoption_funnel_and_cohort_numbers(faces):
    page = faces.page()
    customers = {a for a, s in by_id(rows(faces.got("cli", "score"))).items() if s["status"] == "customer"}
    seats = [r for r in rows(faces.got("cli", "seats")) if r["account_id"] in customers]
    adoption = faces.got("cli", "adoption")
    d = Diffs("dashboard", "cli")
    labels = {label: flag for flag, label in FLAGS.items()}
    for r in page.tables["seat_flags"]:
        label = r["Present utilization"][1]
        want = (
            sum(s["present_not_adopted"] for s in seats)
            if label not in labels
            else sum(s["flag"] == labels[label] for s in seats)
        )
        d.check(f"seat flag '{label}'", int(cell(r, "Accounts")), want)
    levels = {f: {"wide": 0, "thin": 0, "none": 0} for f in adoption["core_features"]}
    for row in rows(adoption):
        if row["account_id"] in customers:
            for use in row["features"]:
                level = "none" if use["users"] == 0 else ("thin" if use["underused"] else "wide")
                levels[use["feature"]][level] += 1
    for r in page.tables["adoption"]:
        feature = r["Core feature"][1]
        counts = [int(v[0]) for k, v in r.items() if k != "Core feature"]
        d.check(f"adoption '{feature}'", counts, list(levels[feature].values()))
    funnel = faces.got("cli", "funnel_recent")
    d.check(
        "funnel.users",
        [int(cell(r, "Users")) for r in page.tables["funnel"]],
        [s["users"] for s in steps_of(funnel)],
    )
    d.check(
        "funnel.from_start",
        [cell_float(r, "From start") for r in page.tables["funnel"]],
        [s["conversion_from_start"] for s in steps_of(funnel)],
    )
    for r in page.tables.get("funnel_by", []):
        group = next(iter(r.values()))[1]
        want = (funnel.get("breakdown") or {}).get(group) or [{"users": None}]
        d.check(f"funnel by {group}.started", int(cell(r, "Started")), want[0]["users"])
    cohorts = cohort_cells(faces.got("cli", "cohorts"))
    metrics = {
        "logo": "logo_retention",
        "revenue": "revenue_retention",
        "active_users": "active_user_retention",
    }
    compared = 0
    for key, metric in metrics.items():
        for r in page.tables.get(f"cohort_{metric}", []):
            cohort = r["Cohort"][1]
            if (metric, cohort) not in cohorts:
                continue
            compared += 1
            width = len(cohorts[(metric, cohort)]["values"])
            values = [cell_float(r, f"m{m}") if f"m{m}" in r else "<no column>" for m in range(width)]
            d.check(f"cohort {key} {cohort}", values, cohorts[(metric, cohort)]["values"])
    assert compared, "no dashboard cohort row matches a CLI cohort"
    d.assert_none()
