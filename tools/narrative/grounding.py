"""The grounding check by meaning: every figure, date and account name in a draft must be a fact of its pack — the
fact it cites, or, uncited, a fact whose unit fits how the sentence uses the figure and whose subject fits the
sentence (this account, this period).

Citations. A fact's id is its path in the pack (see `fact_list`): `health.score`, `seats.present_users`,
`signals.0.evidence#2` for the second figure written inside a string fact. A draft cites a figure by writing the
marker `[f:<id>]` right after it — `48.8 [f:health.score]`, `-51% [f:trend.month_over_month.core_actions]` — and
several ids may share one marker (`[f:a, b]`: the figure is one of them). `citations(text)` lists the ids a draft
cites; `strip_citations(text)` gives the text a reader sees, without the markers. `cite_draft` adds markers to a
template draft, each figure to the fact it was rendered from.

Verdicts, one per claim:
- supported: a cited figure equals its fact, within the rounding the draft shows and across units (0.42 ↔ 42%,
  $1.2M ↔ 1,200,000); an account name found in the facts.
- uncited: an uncited figure that matches an evidence fact of a fitting unit and subject. It is reported all the
  same: it fails the check in strict mode.
- wrong_value (with the value the facts hold), wrong_unit (the number exists, counting something else: "50 people"
  against a score of 50, "50%" against it), other_subject (another account's or another period's figure, or another
  account's name), unknown_citation (the id is not in the pack), unsupported (nothing in the facts says it).

`passed` fails on every verdict but supported and uncited, and on uncited too when `strict` (the template drafts
cite every figure and are checked strictly; a draft written elsewhere is checked leniently unless asked). A claim in a
sentence the writer marks `[unsupported]` is listed but fails nothing.

Units of a figure in the sentence: `$`, `€`, `£` or "ARR"/"dollars" → money; `%`, "percent", "pp" → a ratio or
percentage; "people", "users", "seats", a persona → people; "accounts", "actions", "tickets" → counts; "NPS" → an
NPS fact only; "score", "health", "points" → a score; "days", "weeks", "months" → those. Thresholds and constants of
the rules (`trend.critical_decline`, persona targets, tier floors) support a figure only when cited.

What the check cannot prove: that the words around a correctly cited figure describe it (a swap of both the figure
and its citation to another true fact reads as supported), causal claims, and figures spelt in words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any, Literal

from customer_health.tools.narrative.claims import CITATION, MARKER, Found, Kind, extract, sentences, unit_cue
from customer_health.tools.narrative.fact_list import Fact, flatten
from pydantic import BaseModel, Field

Verdict = Literal[
    "supported", "uncited", "wrong_value", "wrong_unit", "other_subject", "unknown_citation", "unsupported"
]
FAILING: frozenset[str] = frozenset(
    {"wrong_value", "wrong_unit", "other_subject", "unknown_citation", "unsupported"}
)
_ANY_NUMBER = {"people", "count", "ratio", "percent", "score", "nps", "days", "weeks", "months", "number"}
_FITS: dict[str | None, set[str]] = {
    "money": {"money"},
    "percent": {"ratio", "percent", "number"},
    "nps": {"nps"},
    "score": {"score"},
    "people": {"people", "count", "number"},
    "count": {"count", "people", "number"},
    "days": {"days", "number"},
    "weeks": {"weeks", "number"},
    "months": {"months", "count", "number"},
    None: _ANY_NUMBER,
}
_PREVIOUS_CUE = re.compile(
    r"\b(?:before|earlier|previous(?:ly)?|prior|ago|was|were|from|against|had|last (?:quarter|year|period))\b",
    re.I,
)


class Claim(BaseModel):
    text: str = Field(description="The claim as written in the draft.")
    kind: Kind
    value: float | str | None = Field(
        description="What it means: a number in base units (a percentage as a ratio), or an ISO date/period."
    )
    sentence: str
    supported: bool = Field(description="A fact says it (cited, or uncited with a fitting unit and subject).")
    declared: bool = Field(False, description="The sentence is marked [unsupported] by the writer.")
    matched: str | None = Field(None, description="The id (path) of the fact that supports it.")
    verdict: Verdict = "supported"
    cited: list[str] = Field(default_factory=list, description="The fact ids its citation marker names.")
    unit: str | None = Field(
        None, description="What the sentence says the figure counts (None: nothing says)."
    )
    expected: str | None = Field(
        None, description="For wrong_value/other_subject: what the cited fact holds."
    )
    note: str | None = None


class GroundingReport(BaseModel):
    passed: bool = Field(
        description="No claim fails (declared ones aside); in strict mode no figure is uncited."
    )
    claims: list[Claim]
    unsupported: list[Claim] = Field(description="The claims that fail the check, in the draft's order.")
    summary: str
    strict: bool = False
    counts: dict[str, int] = Field(default_factory=dict, description="Claims per verdict.")


def citations(text: str) -> list[str]:
    """The fact ids a draft cites, in order of appearance (repeats kept)."""
    return [i for m in CITATION.finditer(text) for i in _ids(m.group(1))]


def strip_citations(text: str) -> str:
    """The draft as a reader sees it: every `[f:…]` marker and the space before it removed."""
    return re.sub(r"[ \t]*" + CITATION.pattern, "", text)


def check_draft(
    text: str, facts: Any, *, account_names: Iterable[str] = (), strict: bool = False
) -> GroundingReport:
    """Extract the figures, dates and account names of `text` and judge each against the facts pack `facts` (any
    nested model/dict/dataclass); `strict` also fails figures that cite nothing."""
    index = _Index(facts, account_names)
    claims: list[Claim] = []
    lines: dict[int, set[str]] = {}
    parsed = [(s, n, index.named(s)) for s, n in sentences(text)]
    for _, n, named in parsed:
        lines.setdefault(n, set()).update(named)
    for sentence, line, named in parsed:
        declared = MARKER in sentence
        clean = sentence.replace(MARKER, " " * len(MARKER))
        accounts = named or lines[line]
        for name in index.names_in(clean):
            verdict = "supported" if index.find_text(name) else "other_subject"
            note = None if verdict == "supported" else "an account name the facts do not hold"
            claims.append(
                Claim(
                    text=name,
                    kind="account",
                    value=name,
                    sentence=sentence,
                    supported=verdict == "supported",
                    declared=declared,
                    matched=index.find_text(name),
                    verdict=verdict,
                    note=note,
                )  # fmt: skip
            )
        blanked = index.blank_names(clean)
        for found in extract(blanked):
            claims.append(index.judge(found, blanked, sentence, declared, accounts))
    failing = [
        c for c in claims if not c.declared and (c.verdict in FAILING or (strict and c.verdict == "uncited"))
    ]
    counts: dict[str, int] = {}
    for c in claims:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    return GroundingReport(
        passed=not failing,
        claims=claims,
        unsupported=failing,
        summary=_summary(claims, failing, strict),
        strict=strict,
        counts=counts,
    )


def cite_draft(text: str, facts: Any, *, account_names: Iterable[str] = ()) -> str:
    """`text` with a `[f:<id>]` marker after each figure that a fact of `facts` gives (fitting unit and subject
    first; a threshold when nothing else does) — for template drafts, whose every figure was rendered from a fact."""
    index = _Index(facts, account_names)
    out = []
    for line in text.splitlines(keepends=True):
        blanked = index.blank_names(_blank_markup(line))
        named = index.named(line) or {index.default}
        inserts = []
        for found in extract(blanked):
            if CITATION.match(line[found.end :].lstrip()):
                continue
            fact = index.source(found, blanked, named)
            if fact is not None:
                inserts.append((found.end, f" [f:{fact.id}]"))
        for at, marker in reversed(inserts):
            line = line[:at] + marker + line[at:]
        out.append(line)
    return "".join(out)


# --- the facts side ----------------------------------------------------------------------------------------------
class _Index:
    def __init__(self, facts: Any, account_names: Iterable[str]) -> None:
        self.facts = flatten(facts)
        self.by_id: dict[str, list[Fact]] = {}
        for f in self.facts:
            self.by_id.setdefault(f.id, []).append(f)
            if "#" in f.id:
                self.by_id.setdefault(f.id.split("#")[0], []).append(f)
        self.numbers = [f for f in self.facts if isinstance(f.value, float)]
        self.dates = [f for f in self.facts if f.unit in ("date", "period")]
        self.texts = [f for f in self.facts if f.unit == "text"]
        self.default = next((f.subject.account for f in self.facts if f.id.startswith("account.")), None)
        in_facts = {str(f.value) for f in self.texts if f.id.split(".")[-1] == "name"}
        self.outside = {n for n in account_names if n and len(n) > 2} - in_facts
        self.all_names = sorted(in_facts | self.outside, key=len, reverse=True)
        self.accounts = {f.subject.account for f in self.facts if f.subject.account}

    def names_in(self, sentence: str) -> list[str]:
        found, rest = [], sentence
        for name in self.all_names:
            if name in rest:  # the plain test first: drafts are checked against 10,000+ names
                pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
                if pattern.search(rest):
                    found.append(name)
                    rest = pattern.sub(lambda m: " " * len(m.group(0)), rest)
        return found

    def blank_names(self, sentence: str) -> str:
        for name in self.names_in(sentence):
            sentence = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", lambda m: " " * len(m.group(0)), sentence)
        return sentence

    def named(self, sentence: str) -> set[str]:
        """The accounts a sentence is about: the names (and ids) of the pack's accounts it writes."""
        return {a for a in self.accounts if a in sentence} | {n for n in self.names_in(sentence)}

    def find_text(self, text: str) -> str | None:
        return next((f.id for f in self.texts if text in str(f.value)), None)

    def resolve(self, cid: str) -> list[Fact]:
        cid = re.sub(r"\.(?:ratio|percent|amount|display)$", "", cid)
        return self.by_id.get(cid, [])

    def judge(self, found: Found, blanked: str, sentence: str, declared: bool, accounts: set[str]) -> Claim:
        unit = _claim_unit(found, blanked)
        found = found._replace(kind="money") if unit == "money" else found
        cited = _cited_after(sentence, found)
        claim = Claim(
            text=found.shown, kind=found.kind, value=found.value, sentence=sentence, supported=False,
            declared=declared, unit=unit, cited=cited, verdict="unsupported",
        )  # fmt: skip
        if cited:
            return self._judge_cited(claim, found, unit, cited)
        previous_ok = bool(_PREVIOUS_CUE.search(sentence))
        allowed = accounts or {self.default}

        def fits_subject(f: Fact) -> bool:
            return (f.subject.account is None or f.subject.account in allowed) and (
                f.subject.period == "current" or previous_ok
            )

        matches = [f for f in self._candidates(found) if f.role == "evidence"]
        fitting = [f for f in matches if _fits(found, unit, f)]
        good = [f for f in fitting if fits_subject(f)]
        if good:
            return _set(claim, "uncited", good[0], supported=True)
        if fitting:
            f = fitting[0]
            who = "the previous period's" if f.subject.period == "previous" else f"{f.subject.account}'s"
            return _set(claim, "other_subject", f, note=f"{who} figure ({f.id}), not this sentence's")
        loose = matches or [f for f in self._candidates(found, loose=True) if f.role == "evidence"]
        if loose:
            f = loose[0]
            return _set(
                claim, "wrong_unit", f, note=f"the number is {f.id}, which counts {f.unit}, not {unit}"
            )
        threshold = next(iter(self._candidates(found, loose=True)), None)
        if threshold is not None:
            claim.note = f"equals {threshold.id}, a threshold of the rules, not evidence; cite it if meant"
        return claim

    def _judge_cited(self, claim: Claim, found: Found, unit: str | None, cited: list[str]) -> Claim:
        facts = [f for cid in cited for f in self.resolve(cid)]
        if not facts:
            claim.verdict, claim.note = "unknown_citation", f"no fact has the id {', '.join(cited)}"
            return claim
        good = [f for f in facts if _matches(found, f) and _fits(found, unit, f)]
        if good:
            return _set(claim, "supported", good[0], supported=True)
        values = [f for f in facts if f.unit not in ("text",)]
        if found.kind != "date" and any(_matches(found, f, loose=True) for f in values):
            f = next(f for f in values if _matches(found, f, loose=True))
            return _set(claim, "wrong_unit", f, note=f"{f.id} counts {f.unit}, not {unit}")
        first = values[0] if values else facts[0]
        claim.expected = _show(found, first)
        metrics = {f.subject.metric for f in facts}
        other = next(
            (
                f
                for f in self._candidates(found, loose=True)
                if f.subject.metric in metrics and f not in facts
            ),
            None,
        )
        if other is not None:
            claim.verdict, claim.matched = "other_subject", other.id
            claim.note = f"that is {other.id}; the cited fact holds {claim.expected}"
        else:
            claim.verdict, claim.note = "wrong_value", f"the cited fact holds {claim.expected}"
        return claim

    def _candidates(self, found: Found, loose: bool = False) -> list[Fact]:
        pool = self.dates if found.kind == "date" else self.numbers
        out = [f for f in pool if _matches(found, f, loose)]
        if (
            found.kind == "date" and not out and len(str(found.value)) == 4
        ):  # a bare year may be a plain number
            year = Found("number", found.shown, float(found.value), float(found.value))
            out = [f for f in self.numbers if _matches(year, f)]
        return out

    def source(self, found: Found, blanked: str, named: set[str | None]) -> Fact | None:
        """The fact a template figure was rendered from: fitting unit and subject, evidence first."""
        unit = _claim_unit(found, blanked)
        found = found._replace(kind="money") if unit == "money" else found
        matches = self._candidates(found)
        fitting = [f for f in matches if _fits(found, unit, f)]
        words = {w.rstrip("s") for w in re.findall(r"[a-z]+", blanked.lower())}

        def overlap(f: Fact) -> int:  # the words of its id and labels that the line writes
            return len(
                {w.rstrip("s") for w in re.findall(r"[a-z]+", " ".join([f.id, *f.about]).lower())} & words
            )

        ranked = sorted(
            fitting,
            key=lambda f: (
                f.subject.account not in named and f.subject.account is not None,
                f.unit != _OWN_UNIT.get(unit, unit),
                -overlap(f),
                "#" in f.id,
                f.role != "evidence",
                _distance(found, f),
            ),
        )
        return ranked[0] if ranked else None


_OWN_UNIT = {"percent": "ratio"}


def _distance(found: Found, fact: Fact) -> float:
    """How far the fact is from the figure as written (sign included), in the figure's units."""
    if not isinstance(fact.value, float):
        return 0.0
    value = fact.value * 100 if found.kind == "percent" and fact.unit in ("ratio", "number") else fact.value
    return abs(value - found.number)


def _set(claim: Claim, verdict: str, fact: Fact, supported: bool = False, note: str | None = None) -> Claim:
    claim.verdict, claim.matched, claim.supported, claim.note = verdict, fact.id, supported, note
    return claim


def _fits(found: Found, unit: str | None, fact: Fact) -> bool:
    """Whether the fact counts what the sentence says the figure counts; '0.42 of seats' is a share of them."""
    if found.kind == "date":
        return True
    share = (
        found.kind == "number" and 0 < abs(found.number) < 1 and found.decimals > 0 and fact.unit == "ratio"
    )
    return fact.unit in _FITS[unit] or share


def _claim_unit(found: Found, blanked: str) -> str | None:
    if found.kind in ("money", "percent"):
        return found.kind
    if found.kind == "date":
        return "date"
    return unit_cue(blanked, found)


def _cited_after(sentence: str, found: Found) -> list[str]:
    m = CITATION.match(sentence[found.end :].lstrip())
    return _ids(m.group(1)) if m else []


def _ids(group: str) -> list[str]:
    return [re.sub(r"^f:", "", i.strip()) for i in re.split(r"[,;]", group) if i.strip()]


def _matches(found: Found, fact: Fact, loose: bool = False) -> bool:
    """Whether `found`, as written, is `fact` within the rounding shown (a percentage against a ratio × 100)."""
    if found.kind == "date":
        if fact.unit not in ("date", "period"):
            return False
        start, _, end = str(fact.value).partition("/")
        a, b = date.fromisoformat(start), date.fromisoformat(end or start)
        return any(lo <= a and b <= hi for lo, hi in found.periods)
    if not isinstance(fact.value, float) or (found.kind == "money") != (fact.unit == "money") and not loose:
        return False
    value = fact.value
    candidates = [value]
    if found.kind == "percent":
        candidates = {"ratio": [value * 100], "number": [value * 100], "percent": [value]}.get(fact.unit, [])
        candidates += [value] if loose else []
    tol = 0.5 * 10 ** (-found.decimals) * found.scale + 1e-9 * max(1.0, abs(found.number))
    return any(abs(c - found.number) <= tol or abs(abs(c) - found.number) <= tol for c in candidates)


def _show(found: Found, fact: Fact) -> str:
    if fact.text:
        return fact.text
    if not isinstance(fact.value, float):
        return str(fact.value)
    value = fact.value * 100 if found.kind == "percent" and fact.unit in ("ratio", "number") else fact.value
    shown = f"{value / found.scale:,.{found.decimals}f}"
    return f"{shown}%" if found.kind == "percent" else shown


def _blank_markup(line: str) -> str:
    """`line` with what the sentence reader drops (list markers, emphasis, the score's scale) turned to spaces, so
    that positions still index the line."""
    line = re.sub(r"^\s*(?:[-*+>]|#+|\d+[.)])\s+", lambda m: " " * len(m.group(0)), line)
    line = re.sub(r"[*`]", " ", line)
    return re.sub(r"(?:out of 100|/\s?100)\b", lambda m: " " * len(m.group(0)), line)


_KIND_WORDS = {
    "number": "number",
    "percent": "percentage",
    "money": "amount",
    "date": "date",
    "account": "account name",
}


def _summary(claims: list[Claim], failing: list[Claim], strict: bool) -> str:
    if not claims:
        return "No figures, dates or account names found to check; nothing unsupported."
    counts = [(sum(c.kind == k for c in claims), w) for k, w in _KIND_WORDS.items()]
    parts = ", ".join(f"{n} {w}{'s' if n != 1 else ''}" for n, w in counts if n)
    summary = f"{len(claims)} claim(s) checked ({parts}): {len(claims) - len(failing)} supported by the facts"
    uncited = sum(c.verdict == "uncited" for c in claims)
    summary += f" ({uncited} without a citation)" if uncited and not strict else ""
    declared = sum(c.declared and not c.supported for c in claims)
    summary += f", {declared} marked [unsupported] by the writer" if declared else ""
    if not failing:
        return summary + "; nothing unsupported."
    first = failing[0]
    why = first.verdict.replace("_", " ") + (f": {first.note}" if first.note else "")
    return summary + (
        f", {len(failing)} failing. First: '{first.text}' ({why}) in \"{first.sentence[:120]}\"."
    )
