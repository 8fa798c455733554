"""Every template draft of the example passes the grounding check on the path `draft`, `check` and MCP share, and an
invented figure in one fails it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from customer_health.server.drafting.check import check_against
from customer_health.server.drafting.citations import show_citations
from customer_health.server.drafting.prompts import PROMPTS, render_prompt, render_template_draft
from customer_health.tools.data.workspace import AllowedRoots, Workspace, example_dir


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("grounded")
    shutil.copytree(example_dir(), root / "sample")
    ws = Workspace(root / "ws")
    ds = ws.dataset(ws.load([root / "sample"], roots=AllowedRoots([root])))
    names = [r[0] for r in ds.con.execute(f"SELECT name FROM {ds.view('accounts')}").fetchall()]
    yield ds, names
    ws.close()


CASES = [
    (n, a) for n, spec in PROMPTS.items() for a in (["ACC-0073", "ACC-0221"] if spec.required else [None])
]


@pytest.mark.parametrize(("name", "argument"), CASES)
def test_every_template_draft_of_the_example_is_grounded(sample, name, argument):
    ds, names = sample
    rendered = render_prompt(ds, name, argument)
    draft = render_template_draft(PROMPTS[name].kind, rendered.facts)
    for style in ("inline", "footnotes"):  # strict, as `draft` checks: every figure cites its fact
        shown = show_citations(draft, rendered.facts, style)
        report = check_against(shown, rendered.facts, names, strict=True)
        assert report.passed, (style, [(c.text, c.verdict, c.sentence) for c in report.unsupported])
        assert len(report.claims) >= 10 and report.counts.get("supported") == len(report.claims)


@pytest.fixture(scope="module")
def fixture_book(tmp_path_factory):
    data = Path(__file__).resolve().parents[2] / "data"
    with Workspace(tmp_path_factory.mktemp("fixture") / "ws") as ws:
        yield ws.dataset(ws.load([data / "facts"], roots=AllowedRoots([data])))


@pytest.mark.parametrize(
    ("name", "argument"),
    [(n, a) for n, a in CASES if a is None]
    + [(n, a) for n, spec in PROMPTS.items() if spec.required for a in ("A1", "A2")],
)
def test_every_template_draft_of_the_test_fixture_passes_the_strict_check(fixture_book, name, argument):
    rendered = render_prompt(fixture_book, name, argument)
    draft = render_template_draft(PROMPTS[name].kind, rendered.facts)
    report = check_against(draft, rendered.facts, fixture_book.account_names(), strict=True)
    assert report.passed, [(c.text, c.verdict, c.sentence) for c in report.unsupported]


@pytest.mark.parametrize(
    "invented",
    [
        "Churn risk rose to 97.3% this quarter.",
        "The account saved $4,711,000 last year.",
        "Usage grew 613 actions since March 3, 2019.",
    ],
)
def test_an_invented_figure_in_a_real_draft_fails_with_its_sentence(sample, invented):
    ds, names = sample
    rendered = render_prompt(ds, "qbr_narrative", "ACC-0073")
    draft = render_template_draft("qbr", rendered.facts) + "\n" + invented + "\n"
    report = check_against(draft, rendered.facts, names)
    assert not report.passed
    assert {c.sentence for c in report.unsupported} == {invented}


def test_another_accounts_name_in_a_real_draft_fails(sample):
    ds, names = sample
    rendered = render_prompt(ds, "account_summary", "ACC-0073")
    draft = render_template_draft("summary", rendered.facts).replace("Willow Transport", "Cedar Academy", 1)
    report = check_against(draft, rendered.facts, names)
    assert not report.passed and report.unsupported[0].text == "Cedar Academy"
