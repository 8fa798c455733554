"""The draft side of the grounding check: the sentences of a draft and the figures, dates and periods in each,
with where they sit, what they mean (a percentage as a ratio, an amount in base units, a date as its interval) and
the words around them that say what they count.

What counts as a figure: numbers (1,234 · 61.4 · 1.2k · 2.5x), percentages (42%, 42 percent, 5 pp), amounts ($1.2M,
€45k, £12,000), dates (2026-03-03, March 3, 2026, 3/3/2026 in either order), months (Mar 2026, 2026-03), quarters
(Q3 2026, 2026-Q3) and years. What does not: list markers and heading numbers, digits inside identifiers (ACC-0073,
Q3 alone, B2B), ordinals (3rd), the score's scale ("out of 100"), citation markers, and numbers spelt in words.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date
from typing import Literal, NamedTuple

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
MONTHS = {m: i + 1 for i, names in enumerate(_MONTH_NAMES) for m in names}
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
    (
        "money",
        re.compile(rf"([-−+]?)([$€£])\s?({_NUM})(?:\s?(k|mm|m|bn|b|thousand|million|billion)\b)?", re.I),
    ),
    ("percent", re.compile(rf"([-−+]?)({_NUM})\s?(%|percentage points?\b|percent\b|pp\b|pts?\b)", re.I)),
    ("number", re.compile(rf"([-−+]?)({_NUM})(?:\s?(k|thousand|million|bn|billion)\b)?", re.I)),
]
_LETTER = re.compile(r"[A-Za-z_]")


# --- figures ---------------------------------------------------------------------------------------------------
CITATION = re.compile(r"\[f:\s*([A-Za-z0-9_.#\-]+(?:\s*[,;]\s*(?:f:)?[A-Za-z0-9_.#\-]+)*)\s*\]")


class Found(NamedTuple):
    kind: Kind
    shown: str
    value: float | str  # what the claim reports
    number: float = 0.0  # what is matched: base units, percentage points for a percentage
    decimals: int = 0
    scale: float = 1.0
    periods: tuple[tuple[date, date], ...] = ()  # a date's readings as [start, end] intervals
    start: int = 0  # where it sits in its sentence
    end: int = 0


# emphasis and code marks; an underscore inside a word (import_data, Acme_Corp) is part of the word
_EMPHASIS = re.compile(r"[*`]|(?<!\w)_+|_+(?!\w)")


def sentences(text: str) -> list[tuple[str, int]]:
    """The draft's sentences with the number of the line each comes from; markdown emphasis and the score's scale
    are taken out, citation markers are kept whole."""
    out = []
    for number, line in enumerate(text.splitlines()):
        line = re.sub(r"^\s*(?:[-*+>]|#+|\d+[.)])\s+", "", line)  # list markers and headings are structure
        parts = CITATION.split(line)  # odd parts are the ids inside markers
        line = "".join(
            f"[f:{p}]" if i % 2 else re.sub(r"\s*(?:out of 100|/\s?100)\b", " ", _EMPHASIS.sub("", p))
            for i, p in enumerate(parts)
        ).strip()
        if line:
            out += [(s.strip(), number) for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(\"'])", line) if s.strip()]
    return out


def extract(sentence: str) -> list[Found]:
    """Every figure in `sentence`, in order, with its span; longer patterns first, and a span is claimed once.
    Citation markers are blanked first (their ids are not figures), so spans still index `sentence`."""
    sentence = CITATION.sub(lambda m: " " * len(m.group(0)), sentence)
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
            found.append(item._replace(start=a, end=b))
    return sorted(found, key=lambda f: f.start)


def _inside_identifier(s: str, a: int, b: int) -> bool:
    before = s[a - 1] if a > 0 else " "
    after = s[b] if b < len(s) else " "
    if after in "xX" and not (s[b + 1 : b + 2].isalnum()):  # 2.5x: a multiple, a claim
        after = " "
    if _LETTER.match(before) or (after.isalpha() and not s[a:b].rstrip().endswith(("%", "k", "K", "M"))):
        return True
    return before == "-" and a >= 2 and s[a - 2].isalnum()  # ACC-0073, covid-19


def _read(name: str, m: re.Match) -> Found | None:
    g, shown = m.groups(), m.group(0).strip()
    try:
        if name == "iso":
            d = date(int(g[0]), int(g[1]), int(g[2]))
            return Found("date", shown, d.isoformat(), periods=((d, d),))
        if name == "slash":  # 3/4/2026 is March 4 or 3 April: either reading may be the fact
            readings = []
            for month, day in ((g[0], g[1]), (g[1], g[0])):
                with contextlib.suppress(ValueError):
                    readings.append(date(int(g[2]), int(month), int(day)))
            readings = sorted(set(readings))
            if not readings:
                return None
            return Found("date", shown, readings[0].isoformat(), periods=tuple((d, d) for d in readings))
        if name in ("month_day", "day_month"):
            mon, day = (g[0], g[1]) if name == "month_day" else (g[1], g[0])
            d = date(int(g[2]), MONTHS[mon.lower()], int(day))
            return Found("date", shown, d.isoformat(), periods=((d, d),))
        if name in ("month_year", "year_month"):
            year, month = (
                (int(g[1]), MONTHS[g[0].lower()]) if name == "month_year" else (int(g[0]), int(g[1]))
            )
            period = (date(year, month, 1), _month_end(year, month))
            return Found("date", shown, f"{year}-{month:02d}", periods=(period,))
        if name == "quarter":
            year, q = (int(g[0]), int(g[1])) if g[0] else (int(g[3]), int(g[2]))
            period = (date(year, 3 * q - 2, 1), _month_end(year, 3 * q))
            return Found("date", shown, f"{year}-Q{q}", periods=(period,))
    except (ValueError, KeyError):
        return None
    sign = -1.0 if g[0] in ("-", "−") else 1.0
    if name == "money":
        number, decimals = _number(g[2])
        scale = _SCALE.get((g[3] or "").lower(), 1.0)
        return Found("money", shown, sign * number * scale, sign * number * scale, decimals, scale)
    if name == "percent":
        number, decimals = _number(g[1])
        return Found("percent", shown, sign * number / 100, sign * number, decimals)
    number, decimals = _number(g[1])
    scale = _SCALE.get((g[2] or "").lower(), 1.0)
    if scale == 1.0 and decimals == 0 and 1900 <= number <= 2100 and "," not in g[1]:  # a year on its own
        year = int(number)
        return Found("date", shown, str(year), periods=((date(year, 1, 1), date(year, 12, 31)),))
    return Found("number", shown, sign * number * scale, sign * number * scale, decimals, scale)


def _number(text: str) -> tuple[float, int]:
    digits = text.replace(",", "")
    return float(digits), len(digits.split(".")[1]) if "." in digits else 0


def _month_end(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(first_of_next.toordinal() - 1)


# --- what a figure counts ---------------------------------------------------------------------------------------
_AFTER_WORDS = {
    "people": r"people|persons?|users?|seats?|champions?|members?|employees|sponsors?|stakeholders?|analysts?|"
    r"operators?|managers?|executives?|admins?|viewers?|editors?",
    "count": r"accounts?|customers?|logos?|actions?|tickets?|events?|features?|signals?|steps?|logins?|sessions?|"
    r"renewals?|companies",
    "days": r"days?",
    "weeks": r"weeks?",
    "months": r"months?",
    "score": r"points?|scores?",
    "money": r"dollars?|euros?|pounds?",
    "nps": r"nps",
}
_BEFORE_WORDS = {"nps": r"nps", "score": r"health|scores?|scored|scoring", "money": r"arr|mrr|revenue"}
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*|[^\sA-Za-z\d]")


_SPAN_COUNT = re.compile(r"a|an|one|two|three|four|six|twelve|thirty|ninety|the|that|this|last|previous")
_SPAN_UNIT = re.compile(r"(day|week|month|quarter|year)s?")
_SPAN_WHEN = re.compile(r"earlier|ago|before|later|prior|previously|back")


def _time_phrase(words: list[str]) -> bool:
    """'a month earlier', 'thirty days before', 'the quarter before': when, not what the figure counts."""
    return (
        len(words) == 3
        and bool(_SPAN_COUNT.fullmatch(words[0]))
        and bool(_SPAN_UNIT.fullmatch(words[1]))
        and bool(_SPAN_WHEN.fullmatch(words[2]))
    )


def unit_cue(sentence: str, found: Found) -> str | None:
    """What the words around a figure say it counts: the noun after it ('21 people', '2 of 5 seats', '30 days'),
    else a cue before it ('NPS rose to 62', 'scores 48.8', 'ARR is 12 thousand'); None when nothing says."""
    text = CITATION.sub(lambda m: " " * len(m.group(0)), sentence)
    words = [w.lower() for w in _WORD.findall(text[found.end :])]
    seen = 0
    i = 0
    while i < len(words) and seen < 3:
        w = words[i]
        if w == "of" and i + 1 < len(words) and words[i + 1][0].isdigit():
            i += 2  # '2 of 5 seats': the noun after the total counts both
            continue
        if w[0].isdigit() or w in ".;:!?(→" or _time_phrase(words[i : i + 3]):
            break  # '61.9 a month earlier': a time phrase follows the figure, not its unit
        for unit, pattern in _AFTER_WORDS.items():
            if re.fullmatch(pattern, w):
                return unit
        seen += 1 if w.isalpha() else 0
        i += 1
    before = [w.lower() for w in _WORD.findall(text[: found.start])][-4:]
    for w in reversed(before):
        if w[0].isdigit() or w in ";.!?":
            break
        for unit, pattern in _BEFORE_WORDS.items():
            if re.fullmatch(pattern, w):
                return unit
    return None
