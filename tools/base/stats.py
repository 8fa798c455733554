"""The statistics behind the backtest, in plain numpy: ranks, AUC, deciles, thresholds and logistic fits.

Conventions: `scores` are health scores (high = healthy) and `lost` is 1 for the positive class (churned), so a
lower score is the riskier one everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1…n of `values`, ascending, ties sharing the mean of their ranks."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="stable")
    sorted_vals = values[order]
    starts = np.r_[True, sorted_vals[1:] != sorted_vals[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(values)] - 1
    ranks = np.empty(len(values))
    ranks[order] = (first[group] + last[group]) / 2 + 1
    return ranks


def auc(scores: np.ndarray, lost: np.ndarray) -> float | None:
    """P(a lost account scored lower than a kept one), ties counting one half; None without both classes."""
    lost = np.asarray(lost, dtype=bool)
    n_pos, n_neg = int(lost.sum()), int((~lost).sum())
    if not n_pos or not n_neg:
        return None
    ranks = average_ranks(-np.asarray(scores, dtype=float))  # riskiest gets the highest rank
    return float((ranks[lost].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def riskiest_first(scores: np.ndarray, keys: np.ndarray | None = None) -> np.ndarray:
    """Row order from lowest score up; ties broken by `keys` so the order never depends on input order."""
    scores = np.asarray(scores, dtype=float)
    if keys is None:
        return np.argsort(scores, kind="stable")
    return np.lexsort((np.asarray(keys), scores))


@dataclass(frozen=True)
class Decile:
    decile: int
    rows: np.ndarray  # indices into the inputs
    mean_score: float
    min_score: float
    max_score: float
    observed_rate: float
    lift: float | None

    def report(self) -> dict:
        """The decile as plain rounded numbers (n instead of the row indices)."""
        return {
            "decile": self.decile,
            "n": len(self.rows),
            "mean_score": round(self.mean_score, 1),
            "min_score": self.min_score,
            "max_score": self.max_score,
            "observed_rate": round(self.observed_rate, 4),
            "lift": None if self.lift is None else round(self.lift, 2),
        }


def deciles(scores: np.ndarray, lost: np.ndarray, keys: np.ndarray | None = None) -> list[Decile]:
    """Ten groups of (near) equal size, riskiest first; with fewer than ten rows, one row per group."""
    scores, lost = np.asarray(scores, dtype=float), np.asarray(lost, dtype=float)
    if not len(scores):
        return []
    base = lost.mean()
    out = []
    for i, rows in enumerate(np.array_split(riskiest_first(scores, keys), min(10, len(scores)))):
        rate = float(lost[rows].mean())
        out.append(
            Decile(
                decile=i + 1,
                rows=rows,
                mean_score=float(scores[rows].mean()),
                min_score=float(scores[rows].min()),
                max_score=float(scores[rows].max()),
                observed_rate=rate,
                lift=rate / base if base > 0 else None,
            )
        )
    return out


def top_decile_lift(scores: np.ndarray, lost: np.ndarray, keys: np.ndarray | None = None) -> float | None:
    """Loss rate among the riskiest tenth ÷ the overall loss rate."""
    groups = deciles(scores, lost, keys)
    return groups[0].lift if groups else None


@dataclass(frozen=True)
class Confusion:
    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def flagged(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float | None:
        return self.tp / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def cost(self, fp_cost: float, fn_cost: float) -> float:
        return fp_cost * self.fp + fn_cost * self.fn

    def report(self, fp_cost: float, fn_cost: float) -> dict:
        """The threshold's counts, precision, recall and expected cost as plain rounded numbers."""
        return {
            "threshold": int(self.threshold),
            "flagged": self.flagged,
            "precision": None if self.precision is None else round(self.precision, 4),
            "recall": None if self.recall is None else round(self.recall, 4),
            "false_positives": self.fp,
            "false_negatives": self.fn,
            "expected_cost": round(self.cost(fp_cost, fn_cost), 2),
        }


def confusion(scores: np.ndarray, lost: np.ndarray, threshold: float) -> Confusion:
    """Counts when every score below `threshold` is flagged at risk."""
    flagged = np.asarray(scores, dtype=float) < threshold
    lost = np.asarray(lost, dtype=bool)
    return Confusion(
        threshold=threshold,
        tp=int((flagged & lost).sum()),
        fp=int((flagged & ~lost).sum()),
        fn=int((~flagged & lost).sum()),
        tn=int((~flagged & ~lost).sum()),
    )


def best_threshold(scores: np.ndarray, lost: np.ndarray, fp_cost: float, fn_cost: float) -> Confusion:
    """The integer threshold 0–100 with the lowest fp_cost × FP + fn_cost × FN; the lowest such on ties."""
    options = [confusion(scores, lost, t) for t in range(101)]
    return min(options, key=lambda c: (c.cost(fp_cost, fn_cost), c.threshold))


def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson correlation, or None when either side is constant."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx, dy = x - x.mean(), y - y.mean()
    den = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    return float((dx * dy).sum() / den) if den > 0 else None


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(z, dtype=float)))  # the tanh form never overflows


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, max_iter: int = 100, tol: float = 1e-10
) -> tuple[float, np.ndarray]:
    """Intercept and coefficients minimising Σ log-loss + l2/2 · ‖coef‖² (intercept unpenalised), by Newton/IRLS.

    `y` may hold soft targets in [0, 1]. The objective is scikit-learn's LogisticRegression with C = 1/l2.
    """
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    design = np.column_stack([np.ones(len(x)), x])
    penalty = np.full(design.shape[1], float(l2))
    penalty[0] = 0.0
    beta = np.zeros(design.shape[1])
    for _ in range(max_iter):
        p = sigmoid(design @ beta)
        grad = design.T @ (p - y) + penalty * beta
        hess = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < tol:
            break
    return float(beta[0]), beta[1:]


def platt(scores: np.ndarray, lost: np.ndarray) -> tuple[float, float]:
    """Platt scaling: (a, b) with P(lost | score) = sigmoid(a + b · score).

    Fitted on Platt's smoothed targets, (N₊+1)/(N₊+2) and 1/(N₋+2), so perfectly separated data stays finite.
    """
    scores, lost = np.asarray(scores, dtype=float), np.asarray(lost, dtype=bool)
    n_pos, n_neg = lost.sum(), (~lost).sum()
    target = np.where(lost, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    mean, sd = scores.mean(), scores.std() or 1.0
    a, b = fit_logistic((scores - mean) / sd, target, l2=1e-6)
    return float(a - b[0] * mean / sd), float(b[0] / sd)


def fill_missing(x: np.ndarray) -> np.ndarray:
    """Each missing value replaced by its column's mean (0 for a column with no data at all)."""
    x = np.asarray(x, dtype=float)
    seen = np.isfinite(x)
    mean = np.where(seen, x, 0).sum(axis=0) / np.maximum(seen.sum(axis=0), 1)
    return np.where(seen, x, mean)


def loss_coefficients(x: np.ndarray, lost: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Per-column change in the log-odds of loss per unit, from a logistic fit on standardised columns.

    Missing values count at their column's mean; a column with no data or no spread gets NaN.
    """
    x = np.asarray(x, dtype=float)
    coef = np.full(x.shape[1], np.nan)
    usable = np.isfinite(x).any(axis=0)
    x = fill_missing(x)[:, usable]
    sd = x.std(axis=0)
    spread = sd > 0
    if spread.any():
        _, fitted = fit_logistic(
            (x[:, spread] - x[:, spread].mean(axis=0)) / sd[spread], lost.astype(float), l2
        )
        coef[np.flatnonzero(usable)[spread]] = fitted / sd[spread]
    return coef


def shares_of_hundred(values: np.ndarray) -> np.ndarray:
    """Whole numbers summing to 100 in proportion to `values` (largest remainder, earlier columns on ties)."""
    values = np.asarray(values, dtype=float)
    exact = values / values.sum() * 100
    whole = np.floor(exact)
    for j in np.argsort(-(exact - whole), kind="stable")[: int(round(100 - whole.sum()))]:
        whole[j] += 1
    return whole


def percentile_in_group(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Each value's position among its group's values, 0 (lowest) … 1 (highest); ties share the mean rank.

    A group of one has no peers and gets None.
    """
    ranks = values.groupby(groups, dropna=False).rank(method="average")
    sizes = values.groupby(groups, dropna=False).transform("count")
    pct = (ranks - 1) / (sizes - 1)
    return pct.where(sizes > 1)
