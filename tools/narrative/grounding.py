"""The grounding check: every figure, date and account name in a drafted narrative must be found in the facts the
draft was given — within the rounding the draft shows, and across units (0.42 ↔ 42%, 1,200,000 ↔ $1.2M).

What counts as a claim: numbers (1,234 · 61.4 · 1.2k · 2.5x), percentages (42%, 42 percent, 5 pp), amounts ($1.2M,
€45k, £12,000), dates (2026-03-03, March 3, 2026, 3/3/2026 in either order), months (Mar 2026, 2026-03), quarters
(Q3 2026, 2026-Q3), years, and account names (any of `account_names` or a `name` in the facts, matched with their
case as written). A month, quarter or year is supported when a fact date falls in it or a fact period lies in it.

What does not: list markers and heading numbers, digits inside identifiers (ACC-0073, Q3 alone, B2B), ordinals
(3rd), the score's scale ("out of 100"), and numbers spelt in words — "two of the accounts" is phrasing far more
often than a figure, and the rules ask the writer to put every figure in digits. A claim in a sentence the writer
marks `[unsupported]` is listed but does not fail the check. The check proves a value is present, not what it means.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field

MARKER = "[unsupported]"
Kind = Literal["number", "percent", "money", "date", "account"]
_MONTH_NAMES = [
    ("jan", "january"),
    ("feb", "february"),
    ("mar", "march"),
    ("apr", "april"),
    ("may",),
    ("jun", "june"),
    ("jul", "july"),
    ("aug", "august"),
    ("sep", "sept", "september"),
    ("oct", "october"),
    ("nov", "november"),
    ("dec", "december"),
]
_MONTHS = {m: i + 1 for i, names in enumerate(_MONTH_NAMES) for m in names}
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "bn": 1e9, "b": 1e9, "billion": 1e9}
_TIME = r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_PATTERNS: list[tuple[str, re.Pattern]] = [  # longest first: a span of the text is claimed once
    ("iso", re.compile(rf"\b(\d{{4}})-(\d{{2}})-(\d{{2}}){_TIME}(?!\w)")),
    ("slash", re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")),
    ("quarter", re.compile(r"\b(?:(\d{4})-?Q([1-4])|Q([1-4])\s+(\d{4}))\b", re.I)),
    ("month_day", re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)),
    ("day_month", re.compile(rf"\b(\d{{1,2}})\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.I)),
    ("month_year", re.compile(rf"\b({_MONTH})\.?,?\s+(\d{{4}})\b", re.I)),
    ("year_month", re.compile(r"\b(\d{4})-(0[1-9]|1[0-2])\b")),
    ("money", re.compile(rf"([-−+]?)([$€£])\s?({_NUM})\s?(k|mm|m|bn|b|thousand|million|billion)?\b", re.I)),
    ("percent", re.compile(rf"([-−+]?)({_NUM})\s?(%|percentage points?\b|percent\b|pp\b|pts?\b)", re.I)),
    ("number", re.compile(rf"([-−+]?)({_NUM})(?:\s?(k|thousand|million|bn|billion)\b)?", re.I)),
]
_LETTER = re.compile(r"[A-Za-z_]")


class Claim(BaseModel):
    text: str = Field(description="The claim as written in the draft.")
    kind: Kind
    value: float | str | None = Field(
        description="What it means: a number in base units (a percentage as a ratio), or an ISO date/period."
    )
    sentence: str
    supported: bool
    declared: bool = Field(False, description="The sentence is marked [unsupported] by the writer.")
    matched: str | None = Field(None, description="The path of the fact that supports it.")


class GroundingReport(BaseModel):
    passed: bool = Field(description="No claim is unsupported (declared ones aside).")
    claims: list[Claim]
    unsupported: list[Claim]
    summary: str


def check_draft(text: str, facts: Any, *, account_names: Iterable[str] = ()) -> GroundingReport:
    """Extract the figures, dates and account names of `text` and match each to `facts` (any nested model/dict)."""
    index = _FactIndex(facts)
    names = sorted({n for n in account_names if n and len(n) > 2} | index.names, key=len, reverse=True)
    claims: list[Claim] = []
    for sentence in _sentences(text):
        declared = MARKER in sentence
        clean = sentence.replace(MARKER, " ")
        for name in names:
            if name not in clean:  # the plain test first: drafts are checked against 10,000+ names
                continue
            pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
            if pattern.search(clean):
                path = index.find_text(name)
                claims.append(_claim(name, "account", name, sentence, declared, path))
                clean = pattern.sub(lambda m: " " * len(m.group(0)), clean)
        for found in _extract(clean):
            claims.append(
                _claim(found.shown, found.kind, found.value, sentence, declared, found.check(index))
            )
    unsupported = [c for c in claims if not c.supported and not c.declared]
    return GroundingReport(
        passed=not unsupported, claims=claims, unsupported=unsupported, summary=_summary(claims, unsupported)
    )


def _claim(text: str, kind: Kind, value, sentence: str, declared: bool, path: str | None) -> Claim:
    return Claim(
        text=text,
        kind=kind,
        value=value,
        sentence=sentence,
        supported=path is not None,
        declared=declared,
        matched=path,
    )


_KIND_WORDS = {
    "number": "number",
    "percent": "percentage",
    "money": "amount",
    "date": "date",
    "account": "account name",
}


def _summary(claims: list[Claim], unsupported: list[Claim]) -> str:
    if not claims:
        return "No figures, dates or account names found to check; nothing unsupported."
    counts = [(sum(c.kind == k for c in claims), w) for k, w in _KIND_WORDS.items()]
    parts = ", ".join(f"{n} {w}{'s' if n != 1 else ''}" for n, w in counts if n)
    summary = (
        f"{len(claims)} claim(s) checked ({parts}): {len(claims) - len(unsupported)} supported by the facts"
    )
    declared = sum(c.declared and not c.supported for c in claims)
    summary += f", {declared} marked [unsupported] by the writer" if declared else ""
    if not unsupported:
        return summary + "; nothing unsupported."
    first = unsupported[0]
    return summary + f", {len(unsupported)} unsupported. First: '{first.text}' in \"{first.sentence[:120]}\"."


# --- the facts side ----------------------------------------------------------------------------------------------
class _FactIndex:
    """Every number, date, period and string in the facts, with its path; the figures inside strings count too."""

    def __init__(self, facts: Any) -> None:
        self.numbers: list[tuple[float, str]] = []
        self.dates: list[tuple[date, str]] = []
        self.periods: list[tuple[date, date, str]] = []
        self.strings: list[tuple[str, str]] = []
        self.names: set[str] = set()
        self._walk(facts, "")

    def _walk(self, value: Any, path: str) -> None:
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "name" and isinstance(v, str):
                    self.names.add(v)
                self._walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(value, list | tuple | set | frozenset):
            for i, v in enumerate(value):
                self._walk(v, f"{path}[{i}]")
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, numbers.Real | Decimal):  # numpy and Decimal values too
            if math.isfinite(float(value)):
                self.numbers.append((float(value), path))
        elif isinstance(value, date):
            self.dates.append((value.date() if isinstance(value, datetime) else value, path))
        elif isinstance(value, str):
            self._string(value, path)

    def _string(self, value: str, path: str) -> None:
        self.strings.append((value, path))
        for found in _extract(value):
            if found.kind != "date":
                self.numbers.append((float(found.value), path))  # a percentage as its ratio
            elif len(found.periods) == 1:  # a slash date's two readings prove neither
                start, end = found.periods[0]
                if start == end:
                    self.dates.append((start, path))
                else:
                    self.periods.append((start, end, path))

    def find_number(
        self, value: float, decimals: int, scale: float = 1.0, percent: bool = False
    ) -> str | None:
        tol = 0.5 * 10 ** (-decimals) * scale + 1e-9 * max(1.0, abs(value))
        for fact, path in self.numbers:
            candidates = [fact, abs(fact)]
            if percent:
                candidates += [fact * 100, abs(fact) * 100]
            if any(abs(c - value) <= tol for c in candidates):
                return path
        return None

    def find_dates(self, start: date, end: date) -> str | None:
        """A fact date in [start, end], or a fact period lying inside it."""
        for d, path in self.dates:
            if start <= d <= end:
                return path
        for a, b, path in self.periods:
            if start <= a and b <= end:
                return path
        return None

    def find_text(self, text: str) -> str | None:
        for s, path in self.strings:
            if text in s:
                return path
        return None


# --- the draft side ----------------------------------------------------------------------------------------------
class _Found(NamedTuple):
    kind: Kind
    shown: str
    value: float | str  # what the claim reports
    number: float = 0.0  # what is matched: base units, percentage points for a percentage
    decimals: int = 0
    scale: float = 1.0
    periods: tuple[tuple[date, date], ...] = ()  # a date's readings as [start, end] intervals

    def check(self, index: _FactIndex) -> str | None:
        if self.kind != "date":
            return index.find_number(self.number, self.decimals, self.scale, percent=self.kind == "percent")
        for start, end in self.periods:
            path = index.find_dates(start, end)
            if path:
                return path
        if len(self.value) == 4:  # a bare year may also be a plain number in the facts
            return index.find_number(float(self.value), 0)
        return None


def _sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*+>]|#+|\d+[.)])\s+", "", line)  # list markers and headings are structure
        line = re.sub(r"[*_`]", "", line)
        line = re.sub(r"\s*(?:out of 100|/\s?100)\b", " ", line).strip()  # the score's scale, not a claim
        if line:
            out += [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(\"'])", line) if s.strip()]
    return out


def _extract(sentence: str) -> list[_Found]:
    """Every claim in `sentence`, in order; longer patterns first, and a span is claimed once."""
    taken = [False] * len(sentence)
    found = []
    for name, pattern in _PATTERNS:
        for m in pattern.finditer(sentence):
            a, b = m.span()
            if any(taken[a:b]) or _inside_identifier(sentence, a, b):
                continue
            item = _read(name, m)
            if item is None:
                continue
            taken[a:b] = [True] * (b - a)
            found.append((a, item))
    return [item for _, item in sorted(found, key=lambda x: x[0])]


def _inside_identifier(s: str, a: int, b: int) -> bool:
    before = s[a - 1] if a > 0 else " "
    after = s[b] if b < len(s) else " "
    if after in "xX" and not (s[b + 1 : b + 2].isalnum()):  # 2.5x: a multiple, a claim
        after = " "
    if _LETTER.match(before) or (after.isalpha() and not s[a:b].rstrip().endswith(("%", "k", "K", "M"))):
        return True
    return before == "-" and a >= 2 and s[a - 2].isalnum()  # ACC-0073, covid-19


def _read(name: str, m: re.Match) -> _Found | None:
    g, shown = m.groups(), m.group(0).strip()
    try:
        if name == "iso":
            d = date(int(g[0]), int(g[1]), int(g[2]))
            return _Found("date", shown, d.isoformat(), periods=((d, d),))
        if name == "slash":  # 3/4/2026 is March 4 or 3 April: either reading may be the fact
            readings = []
            for month, day in ((g[0], g[1]), (g[1], g[0])):
                with contextlib.suppress(ValueError):
                    readings.append(date(int(g[2]), int(month), int(day)))
            readings = sorted(set(readings))
            if not readings:
                return None
            return _Found("date", shown, readings[0].isoformat(), periods=tuple((d, d) for d in readings))
        if name in ("month_day", "day_month"):
            mon, day = (g[0], g[1]) if name == "month_day" else (g[1], g[0])
            d = date(int(g[2]), _MONTHS[mon.lower()], int(day))
            return _Found("date", shown, d.isoformat(), periods=((d, d),))
        if name in ("month_year", "year_month"):
            year, month = (
                (int(g[1]), _MONTHS[g[0].lower()]) if name == "month_year" else (int(g[0]), int(g[1]))
            )
            period = (date(year, month, 1), _month_end(year, month))
            return _Found("date", shown, f"{year}-{month:02d}", periods=(period,))
        if name == "quarter":
            year, q = (int(g[0]), int(g[1])) if g[0] else (int(g[3]), int(g[2]))
            period = (date(year, 3 * q - 2, 1), _month_end(year, 3 * q))
            return _Found("date", shown, f"{year}-Q{q}", periods=(period,))
    except (ValueError, KeyError):
        return None
    sign = -1.0 if g[0] in ("-", "−") else 1.0
    if name == "money":
        number, decimals = _number(g[2])
        scale = _SCALE.get((g[3] or "").lower(), 1.0)
        return _Found("money", shown, sign * number * scale, sign * number * scale, decimals, scale)
    if name == "percent":
        number, decimals = _number(g[1])
        return _Found("percent", shown, sign * number / 100, sign * number, decimals)
    number, decimals = _number(g[1])
    scale = _SCALE.get((g[2] or "").lower(), 1.0)
    if scale == 1.0 and decimals == 0 and 1900 <= number <= 2100 and "," not in g[1]:  # a year on its own
        year = int(number)
        return _Found("date", shown, str(year), periods=((date(year, 1, 1), date(year, 12, 31)),))
    return _Found("number", shown, sign * number * scale, sign * number * scale, decimals, scale)


def _number(text: str) -> tuple[float, int]:
    digits = text.replace(",", "")
    return float(digits), len(digits.split(".")[1]) if "." in digits else 0


def _month_end(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(first_of_next.toordinal() - 1)
