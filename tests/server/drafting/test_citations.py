"""Citations between drafts and facts: the fact list as a custom-content document, the API's block citations turned
into `[f:<id>]` markers, and the three ways a draft shows them — footnotes read back the same as markers."""

from __future__ import annotations

from datetime import date

import pytest
from customer_health.server.drafting.check import check_against
from customer_health.server.drafting.citations import (
    citable,
    fact_line,
    facts_document,
    footnotes_to_markers,
    mark_blocks,
    show_citations,
)
from customer_health.tools.narrative.grounding import check_draft, strip_citations

# A small pack worked by hand: 12 of 40 seats present, score 48.8 (61.9 before), a decline threshold of -50%.
FACTS = {
    "account": {"name": "Acme", "account_id": "A1", "renewal_date": date(2026, 12, 11)},
    "seats": {"present_users": 12, "seats_purchased": 40},
    "health": {"score": 48.8, "previous_score": 61.9},
    "trend": {"critical_decline": -0.5},
    "owner": "Dana",
}


def test_the_facts_document_is_one_content_block_per_citable_fact_with_citations_on():
    document, ids = facts_document(FACTS, "Facts of the summary for A1")
    assert document["type"] == "document" and document["citations"] == {"enabled": True}
    assert document["source"]["type"] == "content" and document["title"] == "Facts of the summary for A1"
    blocks = [b["text"] for b in document["source"]["content"]]
    assert ids == [
        "account.renewal_date",
        "seats.present_users",
        "seats.seats_purchased",
        "health.score",
        "health.previous_score",
        "trend.critical_decline",
    ]  # names and other text are not figures: nothing to cite
    assert blocks[1] == "seats.present_users: 12 people (Acme)"
    assert blocks[4] == "health.previous_score: 61.9 score (Acme, previous period)"
    assert blocks[5] == "trend.critical_decline: -0.5 ratio (Acme, threshold of the rules, not evidence)"
    assert [b.split(":")[0] for b in blocks] == ids == [f.id for f in citable(FACTS)]


def test_a_figure_in_a_block_citing_fact_f_is_marked_cited_f_and_other_documents_are_ignored():
    _, ids = facts_document(FACTS, "t")
    blocks = [
        ("Acme: ", []),
        ("12 of 40 seats were present", [(0, 1, 3)]),  # blocks 1 and 2: present_users, seats_purchased
        (", score 48.8 out of 100", [(0, 3, 4), (1, 0, 2)]),  # the second document is not ours
        (" and 7 [f:seats.present_users] more.", [(0, 3, 4)]),  # the model's own marker is kept
    ]
    text = mark_blocks(blocks, ids)
    assert text == (
        "Acme: 12 [f:seats.present_users, seats.seats_purchased] of 40 [f:seats.present_users, "
        "seats.seats_purchased] seats were present, score 48.8 [f:health.score] out of 100 and "
        "7 [f:seats.present_users] more."
    )
    report = check_draft(text, FACTS)
    assert [(c.text, c.verdict) for c in report.claims if c.kind != "account"] == [
        ("12", "supported"),
        ("40", "supported"),
        ("48.8", "supported"),
        ("7", "wrong_value"),
    ]


def test_footnotes_number_each_fact_set_once_list_the_facts_and_read_back_as_markers():
    inline = (
        "Acme had 12 [f:seats.present_users] of 40 [f:seats.seats_purchased] seats present; 12 "
        "[f:seats.present_users] is down. Score 48.8 [f:health.score, health.previous_score].\n"
    )
    shown = show_citations(inline, FACTS, "footnotes")
    assert shown == (
        "Acme had 12[^1] of 40[^2] seats present; 12[^1] is down. Score 48.8[^3].\n\n"
        "Sources (fact ids of the facts pack):\n\n"
        "[^1]: `seats.present_users` — 12 people (Acme)\n"
        "[^2]: `seats.seats_purchased` — 40 people (Acme)\n"
        "[^3]: `health.score`, `health.previous_score` — 48.8 score (Acme); 61.9 score (Acme, previous period)\n"
    )
    assert footnotes_to_markers(shown) == inline
    assert show_citations(inline, FACTS, "inline") == inline
    assert show_citations(inline, FACTS, "none") == strip_citations(inline)
    assert "[f:" not in show_citations(inline, FACTS, "none")


@pytest.mark.parametrize("style", ["inline", "footnotes"])
def test_a_draft_checks_the_same_whether_it_shows_markers_or_footnotes(style):
    inline = "Acme had 12 [f:seats.present_users] of 41 [f:seats.seats_purchased] seats present.\n"
    report = check_against(show_citations(inline, FACTS, style), FACTS, ["Acme"], strict=True)
    assert [(c.text, c.verdict, c.expected) for c in report.claims if c.kind != "account"] == [
        ("12", "supported", None),
        ("41", "wrong_value", "40"),
    ]
    assert not report.passed


def test_a_footnote_that_names_no_fact_id_is_left_as_written():
    text = "Acme grew 12[^1].\n\n[^1]: from the customer's own deck\n"
    assert footnotes_to_markers(text) == text
    assert not check_against(text, FACTS, ["Acme"], strict=True).passed  # uncited in strict mode


def test_a_fact_line_writes_a_figure_inside_a_sentence_as_the_sentence_writes_it():
    facts = {"account": {"name": "Acme"}, "caveats": ["Only 34% of rows had a date."]}
    assert [fact_line(f) for f in citable(facts)] == ["caveats.0#1: 34% ratio (Acme)"]


def test_a_score_followed_by_a_month_earlier_is_still_a_score():
    text = "Acme scores 48.8 [f:health.score], down from 61.9 [f:health.previous_score] a month earlier.\n"
    assert check_against(text, FACTS, ["Acme"], strict=True).passed


@pytest.mark.parametrize("when", ["thirty days before", "the quarter before", "a week ago"])
def test_a_time_phrase_after_a_figure_is_not_its_unit(when):
    text = f"Acme scores 48.8 [f:health.score], down from 61.9 [f:health.previous_score] {when}.\n"
    assert check_against(text, FACTS, ["Acme"], strict=True).passed
    wrong = f"Acme scores 48.8 [f:health.score], down from 61.9 people [f:health.previous_score] {when}.\n"
    assert not check_against(wrong, FACTS, ["Acme"], strict=True).passed  # a unit right after it still counts
