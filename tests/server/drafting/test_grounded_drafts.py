"""Every template draft of the example passes the grounding check on the path `draft`, `check` and MCP share, and an
invented figure in one fails it."""

from __future__ import annotations

import shutil

import pytest
from customer_health.server.drafting.check import check_against
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
    report = check_against(draft, rendered.facts, names)
    assert report.passed, [(c.text, c.sentence) for c in report.unsupported]
    assert len(report.claims) >= 10


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
