"""The dashboard HTML read back: KPI cards, tables (each cell's data-v and text), notes, sections, and every tag
and link, so tests can compare the page with the computations and check that nothing could run or fetch."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """KPI cards, tables (cells with their data-v and text), sections and anything that could fetch or run."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.kpis: dict[str, dict] = {}
        self.tables: dict[str, list[dict[str, tuple[str | None, str]]]] = {}
        self.notes: dict[str, str] = {}
        self.sections: dict[str, str] = {}
        self.tags: list[str] = []
        self.links: list[str] = []
        self._kpi = self._table = self._cell = self._section = None
        self._text: list[str] = []
        self._last_table = None
        self._note = self._sub = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.links += [
            v for k, v in attrs if k in ("src", "href", "xlink:href") and v and not v.startswith("#")
        ]
        if "data-kpi" in a:
            self._kpi, self._depth = a["data-kpi"], 0
            self.kpis[self._kpi] = {"v": a.get("data-v"), "text": []}
        if tag == "div" and self._kpi:
            self._depth += 1
        if "data-section" in a:
            self._section = a["data-section"]
            self.sections[self._section] = ""
        if tag == "table":
            self._table = self._last_table = a["data-table"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row: dict = {}
        elif tag == "td" and self._table:
            self._cell, self._cell_v, self._text = a["data-col"], a.get("data-v"), []
        elif tag == "span" and a.get("class") == "sub":
            self._sub = True  # the second line of a cell (an account id, days to renewal) is not its text
        elif tag == "p" and a.get("class") == "note":
            self._note, self._text = True, []

    def handle_endtag(self, tag):
        if tag == "span":
            self._sub = False
        elif tag == "td" and self._cell:
            self._row[self._cell] = (self._cell_v, "".join(self._text))
            self._cell = None
        elif tag == "tr" and self._table and self._row:
            self.tables[self._table].append(self._row)
            self._row = {}
        elif tag == "table":
            self._table = None
        elif tag == "p" and self._note:
            self.notes[self._last_table] = "".join(self._text)
            self._note = False
        elif tag == "div" and self._kpi:
            self._depth -= 1
            self._kpi = self._kpi if self._depth else None

    def handle_data(self, data):
        if (self._cell and not self._sub) or self._note:
            self._text.append(data)
        if self._kpi and data.strip():
            self.kpis[self._kpi]["text"].append(data.strip())
        if self._section:
            self.sections[self._section] += data
