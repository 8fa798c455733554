"""The data-quality report: what each table holds and what is wrong with it, collected in one pass per table.

Problems are reported, not fatal: duplicate ids, unparseable values, negative amounts, dates in the future,
orphans. Each issue has a reason code, a count and at most a few examples with their row numbers.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from customer_health.tools.base.sql import literal, quote
from customer_health.tools.data.ingest import BAD_PREFIX, SourceTable, accounts_named_by_name
from customer_health.tools.data.recognize import lookalikes
from customer_health.tools.data.schema import TABLES, Kind
from customer_health.tools.data.semantics import infer_event_semantics
from customer_health.tools.data.values import parse_expr
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import duckdb
    from customer_health.tools.data.config import ProductSemantics

MAX_EXAMPLES = 5


class QualityIssue(BaseModel):
    """One kind of problem in one column of one table, with how often it occurs and where."""

    code: str = Field(
        description="unparseable | duplicate_id | negative_value | future_date | out_of_range | "
        "date_order | missing_required | orphan | unmapped_account | account_by_name | unused_column | unknown_event | "
        "unsupported_analysis"
    )
    severity: str = Field(description="warning (data left out or doubtful) or info (how data was read)")
    table: str
    source: str | None = None
    column: str | None = None
    count: int
    message: str
    examples: list[str] = Field(default_factory=list)


class TableQuality(BaseModel):
    """Rows, date range and completeness of one ingested source."""

    kind: Kind
    source: str
    rows: int
    date_column: str | None = None
    date_min: str | None = None
    date_max: str | None = None
    completeness: dict[str, float] = Field(description="column → share of rows with a value (0–1)")


class QualityReport(BaseModel):
    """Everything the load noticed, tables first and issues after."""

    tables: list[TableQuality]
    issues: list[QualityIssue]
    latest_date: str | None = Field(
        None, description="Latest event/activity date in the data: the default as_of."
    )
    age_days: int | None = Field(None, description="Days between latest_date and the day of the load.")
    loaded_on: str | None = Field(
        None, description="The day of the load: the as-of of data with no dates at all."
    )
    outcome_columns: list[str] = Field(
        default_factory=list, description="Columns read only by validation, never by scoring."
    )
    skipped: list[str] = Field(
        default_factory=list, description="Files in a folder that were not loaded, and why."
    )
    semantics: dict = Field(
        default_factory=dict, description="What the events mean (configured or inferred)."
    )


def _fmt(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def source_quality(
    con: duckdb.DuckDBPyConnection, st: SourceTable, today: date | None = None
) -> tuple[TableQuality, list[QualityIssue]]:
    """Profile one ingested source with a single aggregate query, then fetch examples only for what failed."""
    table = TABLES[st.kind]
    t = quote(st.table)
    checks: list[tuple[str, str, str, str]] = []  # (code, column, condition, message template)
    for canon in st.typed_columns:
        checks.append(
            (
                "unparseable",
                canon,
                f"{quote(BAD_PREFIX + canon)} IS NOT NULL",
                "{n} value(s) could not be read as "
                + _type_word(table.column(canon).type)
                + "; they are treated as missing",
            )
        )
    for canon in st.columns:
        spec = table.column(canon)
        if spec.nonnegative:
            checks.append(("negative_value", canon, f"{quote(canon)} < 0", "{n} negative value(s)"))
        if spec.not_future and today is not None:
            checks.append(
                (
                    "future_date",
                    canon,
                    f"CAST({quote(canon)} AS DATE) > DATE {literal(today.isoformat())}",
                    "{n} date(s) after today (" + today.isoformat() + ")",
                )
            )
    if st.kind == "nps" and "score" in st.columns:
        checks.append(
            ("out_of_range", "score", "score NOT BETWEEN 0 AND 10", "{n} NPS score(s) outside 0–10")
        )
    if st.kind == "tickets" and "csat" in st.columns:
        checks.append(
            ("out_of_range", "csat", "csat NOT BETWEEN 0 AND 100", "{n} CSAT value(s) outside 0–100")
        )
    for early, late, kind in (
        ("created_at", "resolved_at", "tickets"),
        ("created_at", "deactivated_at", "users"),
        ("contract_start", "renewal_date", "accounts"),
    ):
        if st.kind == kind and early in st.columns and late in st.columns:
            checks.append(
                (
                    "date_order",
                    late,
                    f"{quote(late)} < {quote(early)}",
                    "{n} row(s) where " + late + " is before " + early,
                )
            )
    for req in table.required:
        checks.append(
            (
                "missing_required",
                req,
                f"{quote(req)} IS NULL",
                "{n} row(s) have no " + req + " and are left out",
            )
        )

    all_columns = list(st.columns) + st.extra_columns
    selects = ["count(*)"] + [f"count({quote(c)})" for c in all_columns]
    selects += [f"count(*) FILTER (WHERE {cond})" for _, _, cond, _ in checks]
    date_col = table.date_column if table.date_column in st.columns else None
    if date_col:
        selects += [f"min({quote(date_col)})", f"max({quote(date_col)})"]
    row = con.execute(f"SELECT {', '.join(selects)} FROM {t}").fetchone()
    total = row[0]
    counts = row[1 : 1 + len(all_columns)]
    fails = row[1 + len(all_columns) : 1 + len(all_columns) + len(checks)]
    completeness = {
        c: round(n / total, 4) if total else 0.0 for c, n in zip(all_columns, counts, strict=True)
    }
    issues = []
    for (code, col, cond, template), n in zip(checks, fails, strict=True):
        if not n:
            continue
        value_sql = quote(BAD_PREFIX + col) if code == "unparseable" else quote(col)
        examples = con.execute(
            f"SELECT _row, {value_sql} FROM {t} WHERE {cond} ORDER BY _row LIMIT {MAX_EXAMPLES}"
        ).fetchall()
        issues.append(
            QualityIssue(
                code=code,
                severity="warning",
                table=st.kind,
                source=st.source,
                column=col,
                count=n,
                message=f"{st.source}: {col}: " + template.format(n=n) + ".",
                examples=[f"row {r}: {_fmt(v) if v is not None else '(empty)'}" for r, v in examples],
            )
        )
    if table.id_column and table.id_column in st.columns:
        issues += _duplicates(con, st, table.id_column)
    quality = TableQuality(
        kind=st.kind,
        source=st.source,
        rows=total,
        date_column=date_col,
        date_min=_fmt(row[-2]) if date_col else None,
        date_max=_fmt(row[-1]) if date_col else None,
        completeness=completeness,
    )
    return quality, issues


def _type_word(value_type: str) -> str:
    return {
        "number": "numbers",
        "bool": "yes/no values",
        "outcome": "renewal outcomes (renewed, churned, contracted, expanded)",
    }.get(value_type, "dates")


def _duplicates(con: duckdb.DuckDBPyConnection, st: SourceTable, id_col: str) -> list[QualityIssue]:
    c = quote(id_col)
    rows = con.execute(
        f"SELECT {c}, count(*) AS n, min(_row), count(*) OVER () FROM {quote(st.table)} WHERE {c} IS NOT NULL "
        f"GROUP BY {c} HAVING count(*) > 1 ORDER BY n DESC, {c} LIMIT {MAX_EXAMPLES}"
    ).fetchall()
    if not rows:
        return []
    n_ids = rows[0][3]
    return [
        QualityIssue(
            code="duplicate_id",
            severity="warning",
            table=st.kind,
            source=st.source,
            column=id_col,
            count=n_ids,
            message=f"{st.source}: {id_col}: {n_ids} id(s) appear more than once; the first row of each is used.",
            examples=[f"{v} ×{n} (first at row {r})" for v, n, r, _ in rows],
        )
    ]


def dataset_quality(
    con: duckdb.DuckDBPyConnection,
    views: dict[str, str],
    tables: list[TableQuality],
    issues: list[QualityIssue],
    sources: list[SourceTable],
    today: date | None = None,
    skipped: list[str] | None = None,
    semantics: ProductSemantics | None = None,
) -> QualityReport:
    """Cross-table checks (orphans, unmapped events), freshness, outcome columns and event semantics."""
    issues = list(issues) + unused_columns(con, sources) + unsupported_analyses(sources)
    account_level = "events" in views and not any(
        s.kind == "events" and "user_id" in s.columns for s in sources
    )
    issues += derived_tables(views, sources, account_level)
    accounts = views.get("accounts")
    for kind in ("users", "events", "tickets", "nps", "revenue", "outcomes"):
        view = views.get(kind)
        if not view or not accounts:
            continue
        issues += _named_accounts(con, kind, view)
        issues += _orphans(con, kind, view, accounts, "account_id")
    if views.get("events") and views.get("users"):
        issues += _orphans(con, "events", views["events"], views["users"], "user_id")
    if views.get("events"):
        issues += _unmapped_events(con, views["events"], has_users="users" in views)
        if semantics is not None:
            issues += _unknown_configured_events(con, views["events"], semantics)
    latest = None
    for kind in ("events", "tickets", "nps", "subscriptions", "revenue"):
        if kind in views:
            latest, outliers = _latest_date(con, kind, views[kind], today)
            issues += outliers
            if latest:
                break
    outcome_cols = []
    for s in sources:
        for canon, src in s.columns.items():
            if TABLES[s.kind].column(canon).outcome:
                outcome_cols.append(f"{s.source}: {src} → {s.kind}.{canon}")
        if s.kind == "outcomes":
            outcome_cols.append(f"{s.source}: renewal outcomes table")
    inferred = (
        infer_event_semantics(con, views["events"], semantics).model_dump() if "events" in views else {}
    )
    return QualityReport(
        tables=tables,
        issues=issues,
        latest_date=_fmt(latest),
        age_days=(today - latest).days if (today and latest) else None,
        loaded_on=_fmt(today),
        outcome_columns=outcome_cols,
        skipped=list(skipped or []),
        semantics=inferred,
    )


def _unknown_configured_events(con, view: str, semantics: ProductSemantics) -> list[QualityIssue]:
    """A warning per event customer-health.yaml names that the events never hold (a misspelt core feature counts
    nobody), with the closest names."""
    names = [r[0] for r in con.execute(f"SELECT DISTINCT event FROM {quote(view)}").fetchall()]
    return [
        QualityIssue(
            code="unknown_event", severity="warning", table="events", column="event", count=1, message=message
        )
        for message in semantics.unknown_events(names)
    ]


BULK_DAYS = 30  # the as-of is the latest day whose 30 days hold a real share of the activity …
BULK_SHARE = 0.01  # … at least 1% of the table's dated rows, so one stray date cannot move it


def _latest_date(
    con: duckdb.DuckDBPyConnection, kind: str, view: str, today: date | None
) -> tuple[date | None, list[QualityIssue]]:
    """The latest date the bulk of the table reaches (not after the load day), and an issue naming the stray dates
    after it: a single future-dated or far-off row is a quality problem, not the new 'now'."""
    col = quote(TABLES[kind].date_column)
    source = quote(view)
    if (
        kind == "subscriptions"
    ):  # what the export reports happening: starts and cancellations, not future ends
        cancels = "canceled_at" in {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        source = f"(SELECT start_date FROM {source}" + (
            f" UNION ALL SELECT canceled_at FROM {source})" if cancels else ")"
        )
    days = (
        f"(SELECT CAST({col} AS DATE) AS day, count(*) AS n FROM {source} WHERE {col} IS NOT NULL GROUP BY 1)"
    )
    latest, stray = bulk_latest(con, days, today)
    return latest, outlier_issues(kind, TABLES[kind].date_column, latest, stray)


def bulk_latest(
    con: duckdb.DuckDBPyConnection, days: str, today: date | None
) -> tuple[date | None, list[tuple[date, int]]]:
    """The as-of rule on rows per day (`days`: a relation of `day`, `n`): the latest day whose BULK_DAYS hold
    BULK_SHARE of the rows, not after `today`; and the (day, rows) after it, which it does not take."""
    rows = con.execute(
        f"""WITH d AS (SELECT day, n FROM {days} AS given),
           w AS (SELECT day, n, sum(n) OVER (ORDER BY day RANGE BETWEEN INTERVAL {BULK_DAYS - 1} DAY PRECEDING
                                               AND CURRENT ROW) AS recent FROM d)
           SELECT day, n, recent >= ? * (SELECT sum(n) FROM d) AND (CAST(? AS DATE) IS NULL OR day <= ?) AS bulk
           FROM w ORDER BY day""",
        [BULK_SHARE, today, today],
    ).fetchall()
    kept = [day for day, _, bulk in rows if bulk]
    if not kept:
        return (rows[-1][0] if rows and (today is None or rows[-1][0] <= today) else None), []
    return kept[-1], [(day, n) for day, n, _ in rows if day > kept[-1]]


def outlier_issues(
    kind: str, column: str, latest: date | None, stray: list[tuple[date, int]]
) -> list[QualityIssue]:
    """The warning for rows dated after the day the bulk of a table ends (none when there are none)."""
    if not stray:
        return []
    count = sum(n for _, n in stray)
    return [
        QualityIssue(
            code="as_of_outlier",
            severity="warning",
            table=kind,
            column=column,
            count=count,
            message=f"{count} row(s) dated after {latest}, where the bulk of the {kind} ends, are not taken as the "
            "as-of date (a stray or future date is a data problem, not the new 'now')",
            examples=[str(day) for day, _ in stray[-MAX_EXAMPLES:]],
        )
    ]


def _named_accounts(con: duckdb.DuckDBPyConnection, kind: str, view: str) -> list[QualityIssue]:
    matches = accounts_named_by_name(con, view)
    if not matches:
        return []
    n_rows = sum(n for _, _, n in matches)
    return [
        QualityIssue(
            code="account_by_name",
            severity="info",
            table=kind,
            column="account_id",
            count=n_rows,
            message=f"{kind}: {n_rows} row(s) name their account by its name; each is matched to the account "
            "with that name.",
            examples=[
                f"{value} → {account_id} ({n} rows)" for value, account_id, n in matches[:MAX_EXAMPLES]
            ],
        )
    ]


def _orphans(
    con: duckdb.DuckDBPyConnection, kind: str, view: str, parent: str, key: str
) -> list[QualityIssue]:
    if key not in _columns(con, view):
        return []  # events with no account column and no users to map them: _unmapped_events says so
    k = quote(key)
    rows = con.execute(
        f"SELECT {k}, count(*) AS n, sum(count(*)) OVER (), count(*) OVER () FROM {quote(view)} "
        f"WHERE {k} IS NOT NULL AND {k} NOT IN (SELECT {k} FROM {quote(parent)}) "
        f"GROUP BY {k} ORDER BY n DESC, {k} LIMIT {MAX_EXAMPLES}"
    ).fetchall()
    if not rows:
        return []
    n_rows, n_ids = int(rows[0][2]), rows[0][3]
    parent_kind = "accounts" if key == "account_id" else "users"
    return [
        QualityIssue(
            code="orphan",
            severity="warning",
            table=kind,
            column=key,
            count=n_rows,
            message=f"{kind}: {n_rows} row(s) refer to {n_ids} {key} value(s) missing from the {parent_kind} table.",
            examples=[f"{v} ({n} rows)" for v, n, _, _ in rows],
        )
    ]


def _columns(con: duckdb.DuckDBPyConnection, view: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {quote(view)}").fetchall()]


def _unmapped_events(con: duckdb.DuckDBPyConnection, view: str, has_users: bool) -> list[QualityIssue]:
    if "account_id" not in _columns(con, view):
        rows, n = con.execute(f"SELECT count(*), count(*) FROM {quote(view)}").fetchall()[0]
    else:
        rows, n = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE account_id IS NULL) FROM {quote(view)}"
        ).fetchall()[0]
    if (
        not has_users and rows and n == rows
    ):  # no account column (the view's is all empty) and no users to map
        return [
            QualityIssue(
                code="unmapped_account",
                severity="warning",
                table="events",
                column="account_id",
                count=rows,
                message=f"events: events cannot be tied to accounts ({rows} event(s)): the events have no "
                "account column and there is no users table to map their users to accounts. Add either one "
                "for account-level results.",
            )
        ]
    if not n:
        return []
    how = "their users are not in the users table" if has_users else "they have no account id"
    return [
        QualityIssue(
            code="unmapped_account",
            severity="warning",
            table="events",
            column="account_id",
            count=n,
            message=f"events: {n} event(s) belong to no account ({how}).",
        )
    ]


# Accounts columns worth pointing out even when another kind of export carries them.
_KEY_ACCOUNT_COLUMNS = ("seats_purchased", "arr", "mrr", "renewal_date")
_PARSES_SHARE = 0.8  # an unused column must read as the canonical type this often to look like it


def _source_name(extra: str, kind: Kind) -> str:
    """The export's own spelling of an extra column (ingest prefixes `src_` to one that clashes with a canonical)."""
    canonical = {c.name.lower() for c in TABLES[kind].columns}
    while extra.startswith("src_") and extra[4:].lower() in canonical:
        extra = extra[4:]
    return extra


def _reads_as(con: duckdb.DuckDBPyConnection, st: SourceTable, extra: str, value_type: str) -> bool:
    """Whether most of the column's non-empty values read as `value_type` (a sample is enough)."""
    if value_type in ("id", "text"):
        return True
    duck_type = con.execute(f"DESCRIBE SELECT {quote(extra)} FROM {quote(st.table)}").fetchone()[1]
    expr = parse_expr(extra, duck_type, value_type)  # type: ignore[arg-type]
    total, parsed = con.execute(
        f"SELECT count(*), count({expr}) FROM (SELECT {quote(extra)} FROM {quote(st.table)} "
        f"WHERE trim(CAST({quote(extra)} AS VARCHAR)) <> '' LIMIT 5000)"
    ).fetchone()
    return bool(total) and parsed >= _PARSES_SHARE * total


def unused_columns(con: duckdb.DuckDBPyConnection, sources: list[SourceTable]) -> list[QualityIssue]:
    """Each column the load left unused whose name and values look like a canonical column nobody mapped."""
    mapped: dict[str, set[str]] = {}
    for st in sources:
        mapped.setdefault(st.kind, set()).update(st.columns)
    own_names = {kind: {c.name for c in t.columns} for kind, t in TABLES.items()}
    issues = []
    for st in sources:
        for extra in st.extra_columns:
            name = _source_name(extra, st.kind)
            for look in lookalikes(name):
                same = look.kind == st.kind
                if not same and (look.kind != "accounts" or look.column not in _KEY_ACCOUNT_COLUMNS):
                    continue
                if look.column in mapped.get(look.kind, set()) or (
                    not same and look.column in own_names[st.kind]
                ):
                    continue
                if not _reads_as(con, st, extra, TABLES[look.kind].column(look.column).type):
                    continue
                if same:
                    how = (
                        f"map it with --map (columns: {{{st.kind}: {{{look.column}: {name}}}}}) or rename it "
                        f"to {look.column}"
                    )
                    message = f"{st.source}: `{name}` looks like {look.column} — not used; {how}."
                else:
                    message = (
                        f"{st.source}: `{name}` looks like {look.kind}.{look.column} — not used: it is read only "
                        f"from a {look.kind} export; add it there as {look.column}."
                    )
                issues.append(
                    QualityIssue(
                        code="unused_column",
                        severity="warning" if same else "info",
                        table=st.kind,
                        source=st.source,
                        column=name,
                        count=1,
                        message=message,
                    )
                )
                break
    return issues


# What each key column makes possible: (kind, any of these columns, or this table, the analysis lost).
# (kind, its columns that support the analysis, a table that supports it instead, the subscription columns that
# supply it on any date, what is lost without it)
_CAPABILITIES: tuple[tuple[Kind, tuple[str, ...], Kind | None, tuple[str, ...], str], ...] = (
    (
        "accounts",
        ("seats_purchased",),
        None,
        ("quantity",),
        "no seats column (accounts.seats_purchased, or a subscription quantity): seat utilization is unknown for "
        "every account; only counts of present and adopted users are shown",
    ),
    (
        "accounts",
        ("renewal_date",),
        None,
        ("period_end", "end_date", "interval"),
        "no renewal date (accounts.renewal_date, or subscription periods): renewals due and days to renewal are "
        "unknown for every account, and no renewal signal fires",
    ),
    (
        "accounts",
        ("arr", "mrr"),
        "revenue",
        ("mrr", "arr", "unit_amount", "total_amount"),
        "no ARR or MRR (accounts.arr, accounts.mrr, a revenue table or subscription amounts): revenue at risk is "
        "unknown and accounts are not weighed by value",
    ),
)


def unsupported_analyses(sources: list[SourceTable]) -> list[QualityIssue]:
    """One note per analysis the loaded data cannot support because a key column is missing everywhere."""
    mapped: dict[str, set[str]] = {}
    for st in sources:
        mapped.setdefault(st.kind, set()).update(st.columns)
    issues = []
    for kind, columns, table, billing, message in _CAPABILITIES:
        if (
            any(c in mapped.get(kind, set()) for c in columns)
            or (table and table in mapped)
            or any(c in mapped.get("subscriptions", set()) for c in billing)
        ):
            continue
        issues.append(
            QualityIssue(
                code="unsupported_analysis",
                severity="info",
                table=kind,
                column=columns[0],
                count=0,
                message=f"{kind}: {message}.",
            )
        )
    return issues


def derived_tables(
    views: dict[str, str], sources: list[SourceTable], account_level: bool
) -> list[QualityIssue]:
    """Notes on the tables read from others: revenue and accounts from subscriptions, people from accounts."""
    given = {s.kind for s in sources}
    notes = []
    if "subscriptions" in given:
        if "revenue" in views and "revenue" not in given:
            notes.append(
                (
                    "revenue",
                    "mrr",
                    "monthly MRR comes from the subscriptions: each month's MRR is that of the paid "
                    "periods covering its last day (or the export's last day, in its own month)",
                )
            )
        if "accounts" not in given:
            notes.append(("accounts", "account_id", "the accounts are those the subscriptions name"))
    if account_level:
        notes.append(
            (
                "events",
                "user_id",
                "the events have no user column: they are account-level events, each account "
                "counting as one person",
            )
        )
    return [
        QualityIssue(code="derived_table", severity="info", table=kind, column=column, count=0, message=text)
        for kind, column, text in notes
    ]
