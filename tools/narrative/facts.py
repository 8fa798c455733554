"""Facts packs: for each narrative kind, one model holding every number a draft may use, gathered by the same
computations as the tools — so that a narrative can quote them and a grounding check can trace every claim.

Kinds: `qbr` (one account's quarterly review), `risk` (the at-risk document), `summary` (the one-sentence account
summary), `diagnosis` (where the core workflow stalls; one account or the portfolio) and `board` (the portfolio
over a period). The argument is an account (id or name) for the account kinds, and a period for `board`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from customer_health.tools.base.errors import InputError
from customer_health.tools.data.accounts import account_source_sql
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.narrative.facts_account import QbrFacts, SummaryFacts, qbr_facts, summary_facts
from customer_health.tools.narrative.facts_board import PERIOD_FORMATS, BoardFacts, board_facts, parse_period
from customer_health.tools.narrative.facts_common import FactKind, Facts, Money, Share
from customer_health.tools.narrative.facts_risk import DiagnosisFacts, RiskFacts, diagnosis_facts, risk_facts

KINDS: tuple[FactKind, ...] = ("qbr", "risk", "board", "summary", "diagnosis")
ACCOUNT_KINDS = ("qbr", "risk", "summary")  # the diagnosis may also cover the whole portfolio
MIN_PREFIX = 2


def build_facts(
    ds: Dataset,
    kind: Literal["qbr", "risk", "board", "summary", "diagnosis"],
    argument: str | None = None,
    as_of: date | str | None = None,
) -> Facts:
    """The facts pack of one narrative kind: `argument` is an account id or name, or for `board` a period."""
    if kind not in KINDS:
        raise InputError(f"unknown narrative kind '{kind}'.", column="kind", options=list(KINDS))
    argument = argument.strip() if isinstance(argument, str) and argument.strip() else None
    if kind == "board":
        return board_facts(ds, argument, as_of)
    day = resolve_as_of(ds, as_of)
    if kind == "diagnosis":
        return diagnosis_facts(ds, resolve_account(ds, argument) if argument else None, day)
    if argument is None:
        raise InputError(
            f"a {kind} is about one account, and none was given.",
            column="account_id",
            options=_show(_accounts(ds)[:10]),
            fix="Pass an account id or the start of its name.",
        )
    account = resolve_account(ds, argument)
    builders = {"qbr": qbr_facts, "risk": risk_facts, "summary": summary_facts}
    return builders[kind](ds, account, day)


def resolve_account(ds: Dataset, token: str) -> str:
    """The account id a user means: an id (any case), or a unique name, prefix of a name or id, or word of one
    ('acme' for 'ACME Corp'), compared without case or punctuation. Ambiguous or unknown → InputError with options."""
    rows = _accounts(ds)
    text = str(token or "").strip()
    if not text:
        raise InputError("no account given.", column="account_id", options=_show(rows[:10]))
    ids = [a for a, _ in rows]
    if text in ids:
        return text
    key = _slug(text)
    long_enough = len(key) >= MIN_PREFIX
    tests = (  # the first test with any hit decides: exact before prefix before a single word
        lambda a, n: a.casefold() == text.casefold() or _slug(a) == key,
        lambda a, n: bool(n) and _slug(n) == key,
        lambda a, n: long_enough and any(_slug(s).startswith(key) for s in (a, n) if s),
        lambda a, n: (
            long_enough and any(_slug(w) == key for s in (a, n) if s for w in re.split(r"[\W_]+", s))
        ),
    )
    for test in tests:
        hits = [(a, n) for a, n in rows if key and test(a, n)]
        if len(hits) == 1:
            return hits[0][0]
        if len(hits) > 1:
            raise InputError(
                f"'{text}' matches {len(hits)} accounts.",
                column="account_id",
                options=_show(hits[:10]),
                fix="Use the account id, or more of the name.",
            )
    raise InputError(
        f"no account has the id or name '{text}'.", column="account_id", options=_show(_nearest(text, rows))
    )


def _accounts(ds: Dataset) -> list[tuple[str, str | None]]:
    found = ds.con.execute(f"SELECT account_id, name FROM ({account_source_sql(ds, ('name',))})").fetchall()
    return sorted((str(a), None if n is None else str(n)) for a, n in found if a is not None)


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _show(rows: list[tuple[str, str | None]]) -> list[str]:
    return [f"{a} ({n})" if n else a for a, n in rows]


def _nearest(text: str, rows: list[tuple[str, str | None]], n: int = 10) -> list[tuple[str, str | None]]:
    """Accounts whose id or name is spelt closest to `text` (case and punctuation ignored), then the rest."""
    import difflib

    key = _slug(text)
    scored = sorted(
        (-max(difflib.SequenceMatcher(None, key, _slug(s)).ratio() for s in (a, nm) if s), a, nm)
        for a, nm in rows
    )
    return [(a, nm) for _, a, nm in scored[:n]]


__all__ = [
    "KINDS",
    "PERIOD_FORMATS",
    "BoardFacts",
    "DiagnosisFacts",
    "Facts",
    "Money",
    "QbrFacts",
    "RiskFacts",
    "Share",
    "SummaryFacts",
    "build_facts",
    "parse_period",
    "resolve_account",
]
