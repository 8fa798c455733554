"""The grounding check: every figure, date and account name in a drafted narrative must be found in the facts the
draft was given — within the rounding the draft shows, and across units (0.42 ↔ 42%, 1,200,000 ↔ $1.2M).

A claim inside a sentence the draft itself marks `[unsupported]` is reported but does not fail the check: the
writer has already said it is not from the facts. Numbers that are structure rather than claims (list markers,
heading numbers, digits inside identifiers such as ACC-0073 or Q3) are not claims.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

MARKER = "[unsupported]"
Kind = Literal["number", "percent", "money", "date", "account"]
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
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
    )
    for m in names
}
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "bn": 1e9, "b": 1e9, "billion": 1e9}
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("quarter", re.compile(r"\b(?:(\d{4})-?Q([1-4])|Q([1-4])\s+(\d{4}))\b", re.I)),
    ("month_day", re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)),
    ("day_month", re.compile(rf"\b(\d{{1,2}})\s+({_MONTH})\.?\s+(\d{{4}})\b", re.I)),
    ("month_year", re.compile(rf"\b({_MONTH})\.?\s+(\d{{4}})\b", re.I)),
    ("year_month", re.compile(r"\b(\d{4})-(0[1-9]|1[0-2])\b")),
    ("money", re.compile(rf"([-−+]?)([$€£])\s?({_NUM})\s?(k|mm|m|bn|b|thousand|million|billion)?\b", re.I)),
    ("percent", re.compile(rf"([-−+]?)({_NUM})\s?(%|percent\b)", re.I)),
    ("number", re.compile(rf"([-−+]?)({_NUM})(?:\s?(k|thousand|million|bn|billion)\b)?", re.I)),
]
_IDENTIFIER = re.compile(r"[A-Za-z_]")


class Claim(BaseModel):
    text: str = Field(description="The claim as written in the draft.")
    kind: Kind
    value: float | str | None = Field(
        description="What it means: a number in base units, or an ISO date/period."
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
            if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", clean):
                path = index.find_text(name)
                claims.append(
                    Claim(
                        text=name,
                        kind="account",
                        value=name,
                        sentence=sentence,
                        supported=path is not None,
                        declared=declared,
                        matched=path,
                    )
                )
                clean = clean.replace(name, " " * len(name))
        for kind, shown, value, check in _extract(clean):
            path = check(index)
            claims.append(
                Claim(
                    text=shown,
                    kind=kind,
                    value=value,
                    sentence=sentence,
                    supported=path is not None,
                    declared=declared,
                    matched=path,
                )
            )
    unsupported = [c for c in claims if not c.supported and not c.declared]
    summary = f"{len(claims)} claim(s) checked: {len(claims) - len(unsupported)} supported by the facts"
    declared = sum(c.declared and not c.supported for c in claims)
    summary += f", {declared} marked [unsupported] by the writer" if declared else ""
    summary += f", {len(unsupported)} unsupported." if unsupported else "; nothing unsupported."
    if unsupported:
        first = unsupported[0]
        summary += f" First: '{first.text}' in \"{first.sentence[:120]}\"."
    return GroundingReport(passed=not unsupported, claims=claims, unsupported=unsupported, summary=summary)


# --- the facts side ----------------------------------------------------------------------------------------------
class _FactIndex:
    """Every number, date and string in the facts, with its path; numbers inside fact strings count too."""

    def __init__(self, facts: Any) -> None:
        self.numbers: list[tuple[float, str]] = []
        self.dates: list[tuple[date, str]] = []
        self.periods: list[tuple[str, str]] = []
        self.strings: list[tuple[str, str]] = []
        self.names: set[str] = set()
        data = facts.model_dump(mode="json") if isinstance(facts, BaseModel) else facts
        self._walk(data, "")

    def _walk(self, value: Any, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "name" and isinstance(v, str):
                    self.names.add(v)
                self._walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                self._walk(v, f"{path}[{i}]")
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float):
            self.numbers.append((float(value), path))
        elif isinstance(value, date):
            self.dates.append((value, path))
        elif isinstance(value, str):
            self.strings.append((value, path))
            for m in re.finditer(r"\b(\d{4})-(\d{2})-(\d{2})\b", value):
                with contextlib.suppress(ValueError):
                    self.dates.append((date(*map(int, m.groups())), path))
            for m in re.finditer(r"\b\d{4}-(?:Q[1-4]|\d{2})\b", value):
                self.periods.append((m.group(0), path))
            for _, _, number, _ in _extract(value):
                if isinstance(number, float):
                    self.numbers.append((number, path))

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

    def find_dates(self, start: date, end: date, label: str | None = None) -> str | None:
        for d, path in self.dates:
            if start <= d <= end:
                return path
        for text, path in self.periods:
            if label and text == label:
                return path
        return None

    def find_text(self, text: str) -> str | None:
        for s, path in self.strings:
            if text in s:
                return path
        return None


# --- the draft side ----------------------------------------------------------------------------------------------
def _sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*+>]|#+|\d+[.)])\s+", "", line)  # list markers and headings are structure
        line = re.sub(r"[*_`]", "", line)
        line = re.sub(r"\s*(?:out of 100|/\s?100)\b", " ", line).strip()  # the score's scale, not a claim
        if line:
            out += [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(\"'])", line) if s.strip()]
    return out


def _extract(sentence: str):
    """(kind, text as shown, value, matcher) for each claim, longest patterns first; a span is claimed once."""
    taken = [False] * len(sentence)
    found = []
    for name, pattern in _PATTERNS:
        for m in pattern.finditer(sentence):
            a, b = m.span()
            if any(taken[a:b]) or _inside_identifier(sentence, a, b):
                continue
            item = _claim(name, m)
            if item is None:
                continue
            for i in range(a, b):
                taken[i] = True
            found.append((a, item))
    return [item for _, item in sorted(found, key=lambda x: x[0])]


def _inside_identifier(s: str, a: int, b: int) -> bool:
    before = s[a - 1] if a > 0 else " "
    after = s[b] if b < len(s) else " "
    if _IDENTIFIER.match(before) or (after.isalpha() and not s[a:b].rstrip().endswith(("%", "k", "K", "M"))):
        return True
    return before == "-" and a >= 2 and s[a - 2].isalnum()  # ACC-0073, covid-19


def _claim(name: str, m: re.Match):
    g, shown = m.groups(), m.group(0).strip()
    try:
        if name == "iso":
            d = date(int(g[0]), int(g[1]), int(g[2]))
            return "date", shown, d.isoformat(), lambda ix: ix.find_dates(d, d)
        if name in ("month_day", "day_month"):
            mon, day = (g[0], g[1]) if name == "month_day" else (g[1], g[0])
            d = date(int(g[2]), _MONTHS[mon.lower().rstrip(".")], int(day))
            return "date", shown, d.isoformat(), lambda ix: ix.find_dates(d, d)
        if name in ("month_year", "year_month"):
            year, month = (
                (int(g[1]), _MONTHS[g[0].lower()]) if name == "month_year" else (int(g[0]), int(g[1]))
            )
            start, end = date(year, month, 1), _month_end(year, month)
            label = f"{year}-{month:02d}"
            return "date", shown, label, lambda ix: ix.find_dates(start, end, label)
        if name == "quarter":
            year, q = (int(g[0]), int(g[1])) if g[0] else (int(g[3]), int(g[2]))
            start, end = date(year, 3 * q - 2, 1), _month_end(year, 3 * q)
            label = f"{year}-Q{q}"
            return "date", shown, label, lambda ix: ix.find_dates(start, end, label)
    except (ValueError, KeyError):
        return None
    sign = -1.0 if g[0] in ("-", "−") else 1.0
    if name == "money":
        number, decimals = _number(g[2])
        scale = _SCALE.get((g[3] or "").lower(), 1.0)
        value = sign * number * scale
        return "money", shown, value, lambda ix: ix.find_number(value, decimals, scale)
    if name == "percent":
        number, decimals = _number(g[1])
        value = sign * number
        return "percent", shown, value / 100, lambda ix: ix.find_number(value, decimals, percent=True)
    number, decimals = _number(g[1])
    scale = _SCALE.get((g[2] or "").lower(), 1.0)
    value = sign * number * scale
    if scale == 1.0 and decimals == 0 and 1900 <= number <= 2100:  # a year on its own
        year = int(number)
        return (
            "date",
            shown,
            str(year),
            lambda ix: ix.find_dates(date(year, 1, 1), date(year, 12, 31)) or (ix.find_number(value, 0)),
        )
    return "number", shown, value, lambda ix: ix.find_number(value, decimals, scale)


def _number(text: str) -> tuple[float, int]:
    digits = text.replace(",", "")
    return float(digits), len(digits.split(".")[1]) if "." in digits else 0


def _month_end(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(first_of_next.toordinal() - 1)
