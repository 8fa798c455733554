"""The check by meaning: a cited figure must be its fact, an uncited one must fit the unit and subject its sentence
gives it, and a threshold of the rules never proves a claim about an account. Every planted error in the template
drafts of two datasets is caught, and the unmodified drafts pass strictly."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import httpx2
import pytest
from customer_health.server.drafting.claude import draft_with_claude
from customer_health.server.drafting.prompts import render_template_draft
from customer_health.tools.data.workspace import AllowedRoots, Workspace, example_dir
from customer_health.tools.narrative.facts import build_facts
from customer_health.tools.narrative.grounding import check_draft, citations, cite_draft, strip_citations

DATA = Path(__file__).parents[2] / "data"


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    root = tmp_path_factory.mktemp("meaning")
    shutil.copytree(example_dir(), root / "sample")
    shutil.copytree(DATA / "facts", root / "facts")
    ws = Workspace(root / "ws")
    out = {}
    for name in ("sample", "facts"):
        ds = ws.dataset(ws.load([root / name], roots=AllowedRoots([root])))
        names = [r[0] for r in ds.con.execute(f"SELECT name FROM {ds.view('accounts')}").fetchall()]
        out[name] = (ds, names)
    yield out
    ws.close()


def qbr(books):
    ds, names = books["sample"]
    facts = build_facts(ds, "qbr", "ACC-0073")
    return render_template_draft("qbr", facts), facts, names


# --- the examples of issue 14 ------------------------------------------------------------------------------------
def test_a_decline_changed_to_the_critical_threshold_fails_cited_or_not(books):
    draft, facts, names = qbr(books)
    cited = "-51% [f:trend.month_over_month.core_actions]"
    assert cited in draft
    report = check_draft(draft.replace(cited, cited.replace("-51%", "-50%"), 1), facts, account_names=names)
    assert not report.passed
    [bad] = report.unsupported
    assert (bad.text, bad.verdict, bad.expected) == ("-50%", "wrong_value", "-51%")
    uncited = check_draft(strip_citations(draft).replace("-51%", "-50%", 1), facts, account_names=names)
    assert "-50%" in [c.text for c in uncited.unsupported]  # it equals trend.critical_decline: not evidence
    assert "threshold" in next(c.note for c in uncited.unsupported if c.text == "-50%")


PACK = {
    "account": {"name": "Willow Transport"},
    "health": {"score": 48.8, "previous_score": 61.9, "components": {"financial": 50.0}},
    "seats": {"present_users": 21, "window_days": 30},
    "adoption": {"features_in_use": 8},
    "personas": {"personas": [{"persona": "analyst", "target": {"ratio": 0.7, "percent": 70.0}}]},
}


@pytest.mark.parametrize(
    ("sentence", "verdict"),
    [
        ("50 people were active.", "wrong_unit"),  # 50 is the financial component score
        ("Analysts are below a target of 50%.", "wrong_unit"),  # so is this 50
        ("NPS rose to 62.", "wrong_unit"),  # 61.9 is the previous health score, not an NPS
        ("Its NPS is 8.", "wrong_unit"),  # 8 is a count of features
        ("Willow Transport has 61.9 points of health.", "other_subject"),  # the previous score, said of now
    ],
)
def test_a_number_that_exists_with_another_meaning_does_not_support_a_claim(sentence, verdict):
    report = check_draft(sentence, PACK)
    assert not report.passed
    assert [c.verdict for c in report.unsupported] == [verdict]


@pytest.mark.parametrize(
    "sentence",
    [
        "21 people were active in the last 30 days.",
        "Willow Transport scores 48.8, down from 61.9.",
        "Analysts are below their target of 70% [f:personas.personas.0.target].",
        "NPS rose to 62 [f:nps].",
    ],
)
def test_a_figure_whose_unit_and_subject_fit_passes(sentence):
    facts = {**PACK, "nps": 62.0}
    assert check_draft(sentence, facts).passed


def test_an_uncited_figure_fails_only_in_strict_mode_and_a_cited_one_passes_both():
    assert check_draft("21 people were active.", PACK).passed
    strict = check_draft("21 people were active.", PACK, strict=True)
    assert not strict.passed and strict.unsupported[0].verdict == "uncited"
    cited = check_draft("21 [f:seats.present_users] people were active.", PACK, strict=True)
    assert cited.passed and cited.claims[0].verdict == "supported"


@pytest.mark.parametrize(
    ("sentence", "verdict"),
    [
        ("22 [f:seats.present_users] people were active.", "wrong_value"),
        ("$21 [f:seats.present_users] was spent.", "wrong_unit"),
        ("21 [f:seats.nobody] people were active.", "unknown_citation"),
    ],
)
def test_a_cited_figure_must_be_its_fact(sentence, verdict):
    report = check_draft(sentence, PACK)
    assert [c.verdict for c in report.unsupported] == [verdict]


def test_citations_are_listed_and_stripped_for_the_reader():
    text = "Score 48.8 [f:health.score], 21 [f:seats.present_users; seats.window_days] people."
    assert citations(text) == ["health.score", "seats.present_users", "seats.window_days"]
    assert strip_citations(text) == "Score 48.8, 21 people."
    assert cite_draft("Score 48.8 and 21 people.", PACK) == (
        "Score 48.8 [f:health.score] and 21 [f:seats.present_users] people."
    )


# --- the adversarial corpus --------------------------------------------------------------------------------------
CASES = [
    ("sample", "qbr", "ACC-0073", "ACC-0221"),
    ("sample", "risk", "ACC-0073", "ACC-0221"),
    ("sample", "summary", "ACC-0073", "ACC-0221"),
    ("sample", "diagnosis", "ACC-0073", "ACC-0221"),
    ("sample", "board", None, None),
    ("facts", "qbr", "A1", "B1"),
    ("facts", "risk", "A1", "B1"),
    ("facts", "summary", "A1", "B1"),
    ("facts", "diagnosis", "A1", "B1"),
    ("facts", "board", None, None),
]
TALLY: dict[str, int] = {"drafts": 0, "false_alarms": 0, "planted": 0, "caught": 0}


def _shown(claim, value: float) -> str:
    """`value` written the way `claim` writes its figure."""
    decimals = len(claim.text.split(".")[1].rstrip("%")) if "." in claim.text else 0
    if claim.kind == "percent":
        return f"{value * 100:.{decimals}f}%"
    if claim.kind == "money":
        return f"${value:,.0f}"
    return f"{value:.{decimals}f}"


def _plants(draft: str, facts, other, names: list[str]):
    """(what was planted, the planted draft) for each kind of error this draft offers."""
    report = check_draft(draft, facts, strict=True)
    cited = [c for c in report.claims if c.cited and c.kind in ("number", "percent", "money")]
    by_id = {f.id: f for f in _flat(facts)}
    out = []

    def swap(claim, new: str, label: str):
        old = f"{claim.text} [f:{claim.cited[0]}]"
        if old in draft and new != claim.text:
            out.append((label, new, draft.replace(old, f"{new} [f:{claim.cited[0]}]", 1)))

    for claim in cited[:: max(1, len(cited) // 4)][:4]:  # a value changed to another value of the facts
        fact = by_id.get(claim.cited[0])
        same = (
            [f for f in by_id.values() if f.unit == fact.unit and isinstance(f.value, float)] if fact else []
        )
        for f in same:
            new = _shown(claim, f.value)
            if not check_draft(f"{new} [f:{fact.id}]", facts).passed:
                swap(claim, new, "value")
                break
    for claim in cited:  # another period's figure
        twin = re.sub(r"last_30|\.score$", lambda m: "prior_30" if m.group(0) == "last_30" else ".previous_score",
                      claim.cited[0])  # fmt: skip
        if twin != claim.cited[0] and twin in by_id and isinstance(by_id[twin].value, float):
            new = _shown(claim, by_id[twin].value)
            if not check_draft(f"{new} [f:{claim.cited[0]}]", facts).passed:
                swap(claim, new, "other_period")
                break
    other_ids = {f.id: f for f in _flat(other)} if other is not None else {}
    for claim in cited:  # another account's figure
        if claim.cited[0] in other_ids and isinstance(other_ids[claim.cited[0]].value, float):
            new = _shown(claim, other_ids[claim.cited[0]].value)
            if not check_draft(f"{new} [f:{claim.cited[0]}]", facts).passed:
                swap(claim, new, "other_account")
                break
    for claim in cited:  # a wrong unit: a count written as money
        if claim.kind == "number" and claim.unit in ("people", "count"):
            swap(claim, "$" + claim.text, "wrong_unit")
            break
    if cited:  # an invented figure
        swap(cited[-1], "9,417" if cited[-1].kind != "percent" else "94.17%", "invented")
    dates = [c for c in report.claims if c.cited and re.fullmatch(r"\d{4}-\d{2}-\d{2}", c.text)]
    if dates:  # a shifted date
        shifted = (date.fromisoformat(dates[0].text) + timedelta(days=1)).isoformat()
        swap(dates[0], shifted, "shifted_date")
    own = {c.text for c in report.claims if c.kind == "account"}
    stranger = next(
        n for n in names if n not in own and len(n) > 3 and not any(n in o or o in n for o in own)
    )
    if own:  # another account's name
        name = sorted(own)[0]
        out.append(("other_name", stranger, draft.replace(name, stranger, 1)))
    return out


def _flat(facts):
    from customer_health.tools.narrative.fact_list import flatten

    return flatten(facts)


@pytest.mark.parametrize(("book", "kind", "account", "other_account"), CASES)
def test_every_planted_error_is_caught_and_no_template_draft_raises_a_false_alarm(
    books, book, kind, account, other_account
):
    ds, names = books[book]
    facts = build_facts(ds, kind, account)
    other = build_facts(ds, kind, other_account) if other_account else None
    draft = render_template_draft(kind, facts)
    clean = check_draft(draft, facts, account_names=names, strict=True)
    TALLY["drafts"] += 1
    TALLY["false_alarms"] += len(clean.unsupported)
    assert clean.passed, [(c.text, c.verdict, c.note, c.sentence) for c in clean.unsupported]
    assert clean.counts.get("supported", 0) >= 5
    plants = _plants(draft, facts, other, names)
    assert {label for label, _, _ in plants} >= {"value", "wrong_unit", "invented", "other_name"}
    for label, new, planted in plants:
        report = check_draft(planted, facts, account_names=names, strict=True)
        TALLY["planted"] += 1
        caught = not report.passed and any(new in c.sentence for c in report.unsupported)
        TALLY["caught"] += caught
        assert caught, (label, new, [(c.text, c.verdict) for c in report.claims if new in c.sentence])


def test_the_corpus_tally_is_reported(capsys):
    if TALLY["drafts"]:  # after the corpus ran in this process
        with capsys.disabled():
            print(f"\nadversarial corpus: {json.dumps(TALLY)}")
        assert TALLY["caught"] == TALLY["planted"] and TALLY["false_alarms"] == 0


def test_a_recorded_model_draft_replayed_through_the_fake_transport_raises_no_false_alarm():
    body = (DATA / "anthropic" / "message.json").read_bytes()
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, content=body))
    draft = draft_with_claude("r", "p", api_key="k", http_client=httpx2.Client(transport=transport))
    text = draft if isinstance(draft, str) else draft.text
    facts = {
        "account": {"name": "Willow Transport"},
        "seats": {"active": 21, "purchased": 50, "window_days": 30},
    }
    report = check_draft(text, facts)
    assert report.passed and report.counts == {"supported": 1, "uncited": 3}


def test_an_underscore_inside_a_word_stays_while_emphasis_goes():
    from customer_health.tools.narrative.claims import sentences

    text = "**Seats.** import_data most widely, _very_ __bold__ at Acme_Corp, `code`.\n"
    assert sentences(text) == [("Seats. import_data most widely, very bold at Acme_Corp, code.", 0)]
