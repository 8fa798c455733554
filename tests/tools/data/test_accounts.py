"""Resolving the account a user names: one rule (tools/data/accounts.py) for the card, trends, funnel and facts.

The book: ACC-1 Willow Transport, ACC-2 and ACC-3 both "Acme Corp" (a subsidiary under its parent's name), ACC-4
Birch Logistics, ACC-10 Cedar Health, and twelve "Filler Co" accounts with no activity. Every active account's two
users do import_data → build_report → share_report each Monday of March 2026.
"""

from __future__ import annotations

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.accounts import resolve_account
from customer_health.tools.data.workspace import AllowedRoots, Workspace
from customer_health.tools.reports.account import account_card
from customer_health.tools.usage.funnel import compute_funnel
from customer_health.tools.usage.trends import usage_trends

STEPS = ["import_data", "build_report", "share_report"]
ACTIVE = {
    "ACC-1": "Willow Transport",
    "ACC-2": "Acme Corp",
    "ACC-3": "Acme Corp",
    "ACC-4": "Birch Logistics",
    "ACC-10": "Cedar Health",
}
FILLERS = {f"FIL-{i:02d}": f"Filler Co {i}" for i in range(1, 13)}
TWINS = ["ACC-2 (Acme Corp)", "ACC-3 (Acme Corp)"]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("accounts")
    folder = root / "book"
    folder.mkdir()
    (folder / "accounts.csv").write_text(
        "account_id,name,segment,seats_purchased\n"
        + "".join(f"{a},{n},SMB,5\n" for a, n in {**ACTIVE, **FILLERS}.items())
    )
    events = [
        f"2026-03-{day:02d}T10:{k:02d}:00,u-{a}-{u},{event},{a}\n"
        for a in ACTIVE
        for u in range(2)
        for day in (2, 9, 16, 23, 30)
        for k, event in enumerate(STEPS)
    ]
    (folder / "events.csv").write_text("timestamp,user_id,event,account_id\n" + "".join(events))
    (folder / "customer-health.yaml").write_text(f"core_features: [{', '.join(STEPS)}]\n")
    with Workspace(root / "ws") as ws:
        yield ws.dataset(ws.load([folder], roots=AllowedRoots([root.resolve()])))


# --- the rule ---


@pytest.mark.parametrize(
    "token, expected",
    [
        ("ACC-1", "ACC-1"),  # an id, exactly (not the prefix of ACC-10)
        ("acc-1", "ACC-1"),  # an id, any case
        (" ACC-10 ", "ACC-10"),
        ("Willow Transport", "ACC-1"),  # the exact name
        ("willow TRANSPORT", "ACC-1"),  # the name, any case
        ("willow-transport", "ACC-1"),  # … and punctuation
        ("acc10", "ACC-10"),  # an id without its punctuation
        ("wil", "ACC-1"),  # a unique prefix of a name
        ("transport", "ACC-1"),  # a unique word of a name
        ("ced", "ACC-10"),
    ],
)
def test_an_account_is_found_by_id_name_case_insensitive_name_prefix_or_word(book, token, expected):
    assert resolve_account(book, token) == expected


@pytest.mark.parametrize("token", ["Acme Corp", "acme corp", "acme"])
def test_a_shared_name_is_an_error_listing_exactly_the_accounts_that_bear_it(book, token):
    with pytest.raises(InputError) as err:
        resolve_account(book, token)
    assert err.value.options == TWINS
    assert "matches 2 accounts" in err.value.message and err.value.column == "account_id"
    assert err.value.fix.startswith("Use the account id")


def test_an_ambiguous_name_lists_at_most_ten_candidates_and_says_how_many_match(book):
    with pytest.raises(InputError) as err:
        resolve_account(book, "filler co")
    assert "matches 12 accounts" in err.value.message
    assert err.value.options == [f"FIL-{i:02d} (Filler Co {i})" for i in range(1, 11)]


def test_an_unknown_account_lists_the_nearest_ids_and_names(book):
    with pytest.raises(InputError) as err:
        resolve_account(book, "Wilow Transprt")
    assert "no account has the id or name 'Wilow Transprt'" in err.value.message
    assert err.value.options[0] == "ACC-1 (Willow Transport)"
    assert len(err.value.options) == 10 and err.value.column == "account_id"


def test_no_account_is_an_error_listing_accounts(book):
    with pytest.raises(InputError) as err:
        resolve_account(book, "  ")
    assert err.value.options[0] == "ACC-1 (Willow Transport)" and err.value.column == "account_id"


# --- every computation that takes an account resolves it by the rule ---


def test_the_card_trends_and_funnel_accept_a_name_and_return_the_resolved_id(book):
    by_id, by_name = account_card(book, "ACC-1"), account_card(book, "willow transport")
    assert by_name.account_id == by_id.account_id == "ACC-1"
    assert by_name.score == by_id.score and by_name.name == "Willow Transport"
    trends = usage_trends(book, account="Willow Transport")
    assert [r.account_id for r in trends.accounts] == ["ACC-1"]
    assert trends.accounts == usage_trends(book, account="ACC-1").accounts
    funnel, by_id_funnel = (
        compute_funnel(book, STEPS, account="willow"),
        compute_funnel(book, STEPS, account="ACC-1"),
    )
    assert funnel.filters["account"] == by_id_funnel.filters["account"] == "ACC-1"
    assert funnel.users_started == by_id_funnel.users_started == 2  # ACC-1's two users, not everyone's ten


@pytest.mark.parametrize(
    "compute",
    [
        lambda ds, a: account_card(ds, a),
        lambda ds, a: usage_trends(ds, account=a),
        lambda ds, a: compute_funnel(ds, STEPS, account=a),
    ],
    ids=["account_card", "usage_trends", "compute_funnel"],
)
def test_the_card_trends_and_funnel_refuse_a_shared_name_listing_its_accounts(book, compute):
    with pytest.raises(InputError) as err:
        compute(book, "Acme Corp")
    assert err.value.options == TWINS and err.value.column == "account_id"
    assert "matches 2 accounts" in err.value.message
