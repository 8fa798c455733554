"""Facts packs: for each narrative kind, one model holding every number a draft may use, gathered by the same
computations as the tools — so that a narrative can quote them and a grounding check can trace every claim.

Kinds: `qbr` (one account's quarterly review), `risk` (the at-risk document), `summary` (the one-sentence account
summary), `diagnosis` (where the core workflow stalls; one account or the portfolio) and `board` (the portfolio
over a period). The argument is an account (id or name) for the account kinds, and a period for `board`.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from customer_health.tools.base.errors import InputError
from customer_health.tools.data.accounts import account_labels, accounts_with_names, resolve_account
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.health.profiles import Profile, load_profile
from customer_health.tools.narrative.facts_account import QbrFacts, SummaryFacts, qbr_facts, summary_facts
from customer_health.tools.narrative.facts_board import PERIOD_FORMATS, BoardFacts, board_facts, parse_period
from customer_health.tools.narrative.facts_common import FactKind, Facts, Money, Share
from customer_health.tools.narrative.facts_risk import DiagnosisFacts, RiskFacts, diagnosis_facts, risk_facts

KINDS: tuple[FactKind, ...] = ("qbr", "risk", "board", "summary", "diagnosis")
ACCOUNT_KINDS = ("qbr", "risk", "summary")  # the diagnosis may also cover the whole portfolio


def build_facts(
    ds: Dataset,
    kind: Literal["qbr", "risk", "board", "summary", "diagnosis"],
    argument: str | None = None,
    as_of: date | str | None = None,
    profile: Profile | str | None = None,
) -> Facts:
    """The facts pack of one narrative kind: `argument` is an account id or name, or for `board` a period.

    Scores and risk come from the analysis pipeline for `as_of` and `profile` (a preset name, a YAML path or a
    Profile; default enterprise), the same numbers the score, account and risk views give for them."""
    if kind not in KINDS:
        raise InputError(f"unknown narrative kind '{kind}'.", column="kind", options=list(KINDS))
    argument = argument.strip() if isinstance(argument, str) and argument.strip() else None
    # resolved once, so that a bad profile name fails before any work and every part uses the same profile
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    if kind == "board":
        return board_facts(ds, argument, as_of, prof)
    day = resolve_as_of(ds, as_of)
    if kind == "diagnosis":
        return diagnosis_facts(ds, resolve_account(ds, argument) if argument else None, day, prof)
    if argument is None:
        raise InputError(
            f"a {kind} is about one account, and none was given.",
            column="account_id",
            options=account_labels(accounts_with_names(ds)[:10]),
            fix="Pass an account id or the start of its name.",
        )
    account = resolve_account(ds, argument)
    builders = {"qbr": qbr_facts, "risk": risk_facts, "summary": summary_facts}
    return builders[kind](ds, account, day, prof)


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
]
