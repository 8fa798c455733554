"""The one analysis pipeline: as of a date and with a profile, every account's lifecycle status, health score,
drivers, previous score and risk. The CLI, the MCP tools, the facts packs and prompts, the dashboard and `demo` all
call `analyze`, so the same workspace, date and profile give the same answer wherever the user asks.

The previous score is the score 30 days earlier where events allow it, else the account's score from an earlier
upload kept in the workspace's score history (a snapshot export has no past of its own). Each run is remembered
there in turn. The answer is kept with the dataset, so asking again (another tool, a card, a draft) costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from customer_health.tools.base.models import paused_gc
from customer_health.tools.data.dataset import Dataset, resolve_as_of
from customer_health.tools.health.profiles import Profile, load_profile
from customer_health.tools.health.score import HealthScores, apply_previous, score_accounts
from customer_health.tools.risk.signals import RiskSignals, attach_signals, risk_signals


@dataclass(frozen=True)
class Analysis:
    """Scores (with previous scores, signals and next actions attached) and the risk assessment of one date."""

    as_of: date
    profile: Profile
    scores: HealthScores
    risk: RiskSignals


def analyze(
    ds: Dataset,
    *,
    as_of: date | str | None = None,
    profile: Profile | str | None = None,
    everyone: bool = False,
) -> Analysis:
    """Score the customers on `as_of` (with `everyone`, every account with its lifecycle stage) with `profile` (a
    preset name, a YAML path, or a Profile; default enterprise), add the previous scores and the risk signals.
    Computed once per dataset, date, profile and population."""
    day = resolve_as_of(ds, as_of)
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    return ds.memo(
        ("analysis", day, prof.model_dump_json(), everyone), lambda: _analyze(ds, day, prof, everyone)
    )


def _analyze(ds: Dataset, day: date, prof: Profile, everyone: bool) -> Analysis:
    """With the cycle collector paused throughout, and what was built handed to its oldest generation at the end
    (`gc.freeze` then `gc.unfreeze`, which move objects without examining them): the ~150,000 drivers and the risk
    rows would otherwise be walked by a collection at the end of each step (about 0.2 s at 10,000 accounts, more
    with another result alive). Cyclic garbage among them is still collected, by the next full collection."""
    import gc

    with paused_gc():
        analysis = _steps(ds, day, prof, everyone)
        gc.freeze()
        gc.unfreeze()
    return analysis


def _steps(ds: Dataset, day: date, prof: Profile, everyone: bool) -> Analysis:
    scores = score_accounts(ds, as_of=day, profile=prof, everyone=everyone)
    if ds.history is not None:
        earlier = ds.history.earlier_scores(ds.dataset_id, scores)
        apply_previous(scores.accounts, {a: score for a, (score, _) in earlier.items()})
        ds.history.remember_scores(ds.dataset_id, scores)
    risk = risk_signals(ds, as_of=day, scores=scores)
    attach_signals(scores, risk)
    return Analysis(as_of=day, profile=prof, scores=scores, risk=risk)


__all__ = ["Analysis", "analyze"]
