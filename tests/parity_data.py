"""A second, differently shaped portfolio for the parity test: vendor exports as they come out of the tools.

`write_vendor_portfolio(folder)` writes, from a seeded generator and fixed dates (never the wall clock):
- `salesforce_accounts.csv` — a Salesforce accounts report ("Account ID", "Account Name", "Customer_Segment__c",
  "Annual Recurring Revenue", "Seats__c", "Renewal_Date__c", "Contract_Start_Date__c", "CreatedDate",
  "Account Owner", "Churned__c", "Churn_Date__c", …);
- `segment_tracks.csv` — Segment track calls (userId, groupId, event, timestamp) with Title Case event names: a
  three-step core workflow (Data Imported → Report Built → Report Shared), Dashboard Created, and the passive
  Logged In / Page Viewed;
- `users.csv` — users with a role (admin, analyst, viewer);
- `zendesk_tickets.csv` — Zendesk tickets whose Organization is the account name, satisfaction as Good/Bad words;
- `customer-health.yaml` — the core features, passive and value events, the workflow and personas.

Thirty accounts over five months of events (2025-11-01 … 2026-03-31), with no revenue, NPS or outcomes table
(retention and the backtest come from the churn columns): steady, growing, declining in the 30 days to AS_OF, few
seats used, silent for the last month or more, and churned. AS_OF is mid-month, before the last event, so a face that
ignores the as-of date or drops the partial-month flag shows it.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path

AS_OF = "2026-03-20"
START, END = date(2025, 11, 1), date(2026, 3, 31)
STEPS = ["Data Imported", "Report Built", "Report Shared"]
CORE = [*STEPS, "Dashboard Created"]
PASSIVE = ["Logged In", "Page Viewed"]

NAMES = [
    "Acme Corp", "Birch Analytics", "Cobalt Freight", "Delta Dental Group", "Ember Foods", "Fjord Logistics",
    "Granite Bank", "Harbor Health", "Iris Media", "Juniper Retail", "Kestrel Energy", "Lumen Schools",
    "Maple Insurance", "Nimbus Software", "Orchid Pharma", "Pioneer Telecom", "Quartz Legal", "Redwood Hotels",
    "Summit Capital", "Tidal Marine", "Umber Mining", "Vertex Robotics", "Willow Transport", "Xenon Labs",
    "Yarrow Farms", "Zephyr Airlines", "Alder Consulting", "Basalt Construction", "Cedar Clinics", "Dune Studios",
]  # fmt: skip
OWNERS = ["Dana Whitfield", "Lee Park", "Priya Raman", "Marco Silva"]
INDUSTRIES = ["Software", "Healthcare", "Retail", "Financial Services", "Manufacturing", "Logistics"]
SEGMENTS = {"SMB": (3, 7, 6_000, 18_000), "Mid-Market": (8, 14, 24_000, 60_000), "Enterprise": (14, 22, 80_000, 240_000)}  # fmt: skip
# index → archetype; the rest are steady
ARCHETYPES = {
    **dict.fromkeys(range(12, 17), "growing"),
    **dict.fromkeys(range(17, 22), "declining"),
    **dict.fromkeys(range(22, 25), "few_seats_used"),
    **dict.fromkeys(range(25, 27), "silent"),
    **dict.fromkeys(range(27, 30), "churned"),
}
CHURN_DATES = {27: date(2026, 2, 13), 28: date(2026, 3, 4), 29: date(2026, 3, 13)}
SILENT_SINCE = {25: 40, 26: 55}  # days before AS_OF of the last event

# the Salesforce report's columns → the generator's keys
ACCOUNT_COLUMNS = {
    "Account ID": "id", "Account Name": "name", "Type": "type", "Industry": "industry",
    "Customer_Segment__c": "segment", "Annual Recurring Revenue": "arr", "Seats__c": "seats",
    "Contract_Start_Date__c": "contract_start", "Renewal_Date__c": "renewal", "CreatedDate": "created",
    "Account Owner": "owner", "Churned__c": "churned", "Churn_Date__c": "churn_date",
}  # fmt: skip
TICKET_COLUMNS = ["Id", "Requester", "Organization", "Subject", "Status", "Priority", "Created at", "Solved at",
                  "Satisfaction Score"]  # fmt: skip

CONFIG = f"""core_features: [{", ".join(CORE)}]
passive_events: [{", ".join(PASSIVE)}]
value_events: [Report Shared]
workflows:
  reporting: [{", ".join(STEPS)}]
activation: Report Shared
personas:
  analyst: {{roles: [analyst], weekly_active_target: 0.6}}
  admin: {{roles: [admin], weekly_active_target: 0.5}}
  viewer: {{roles: [viewer], weekly_active_target: 0.2}}
"""


def write_vendor_portfolio(folder: Path, seed: int = 7) -> Path:
    """Write the vendor-shaped portfolio into `folder` (created) and return it; the same seed gives the same bytes."""
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    as_of = date.fromisoformat(AS_OF)
    accounts = [_account(i, rng, as_of) for i in range(len(NAMES))]
    users = [u for a in accounts for u in _users(a, rng)]
    events = sorted(
        e for a in accounts for e in _events(a, [u for u in users if u[1] == a["id"]], rng, as_of)
    )
    tickets = [t for a in accounts for t in _tickets(a, [u for u in users if u[1] == a["id"]], rng)]
    tickets = [[n, *t] for n, t in enumerate(sorted(tickets, key=lambda t: t[5]), 30001)]

    _write(
        folder / "salesforce_accounts.csv",
        list(ACCOUNT_COLUMNS),
        [[a[key] for key in ACCOUNT_COLUMNS.values()] for a in accounts],
    )
    _write(folder / "users.csv", ["User ID", "Account ID", "Email", "Role", "Created Date"], users)
    _write(
        folder / "segment_tracks.csv",
        ["timestamp", "userId", "groupId", "event"],
        [[f"{t:%Y-%m-%dT%H:%M:%S}Z", u, g, e] for t, u, g, e in events],
    )
    _write(folder / "zendesk_tickets.csv", TICKET_COLUMNS, tickets)
    (folder / "customer-health.yaml").write_text(CONFIG, encoding="utf-8")
    return folder


def _account(i: int, rng: random.Random, as_of: date) -> dict:
    kind = ARCHETYPES.get(i, "steady")
    segment = ["SMB", "Mid-Market", "Enterprise"][i % 3]
    lo, hi, arr_lo, arr_hi = SEGMENTS[segment]
    seats = rng.randint(lo, hi)
    if kind == "few_seats_used":
        seats = max(seats, 12) + 12
    if kind == "growing" and i % 2:  # a new logo: signed up during the event history
        created = START + timedelta(days=rng.randint(20, 75))
    else:
        created = date(2024, 1, 1) + timedelta(days=rng.randint(0, 640))
    start = created + timedelta(days=rng.randint(0, 30))
    renewal = start
    while renewal <= as_of:
        renewal = date(renewal.year + 1, renewal.month, min(renewal.day, 28))
    if kind in ("declining", "silent") or i in (3, 9):  # renewals soon after AS_OF
        renewal = as_of + timedelta(days=rng.randint(20, 85))
    return {
        "i": i,
        "id": f"0015g00000PAR{i:03d}AA",
        "name": NAMES[i],
        "kind": kind,
        "type": "Customer - Channel" if i % 7 == 3 else "Customer",
        "industry": INDUSTRIES[i % len(INDUSTRIES)],
        "segment": segment,
        "arr": f"{round(rng.uniform(arr_lo, arr_hi), -2):.2f}",
        "seats": seats,
        "created": created.isoformat(),
        "contract_start": start.isoformat(),
        "renewal": renewal.isoformat(),
        "owner": OWNERS[i % len(OWNERS)],
        "churn": CHURN_DATES[i].isoformat() if i in CHURN_DATES else None,
        "churned": "true" if i in CHURN_DATES else "false",
        "churn_date": CHURN_DATES[i].isoformat() if i in CHURN_DATES else "",
        "first_day": max(START, created),
    }


def _users(a: dict, rng: random.Random) -> list[list]:
    count = (
        rng.randint(3, 4)
        if a["kind"] == "few_seats_used"
        else max(2, round(a["seats"] * rng.uniform(0.6, 0.9)))
    )
    rows = []
    domain = a["name"].lower().replace(" ", "") + ".test"
    for n in range(count):
        role = "admin" if n == 0 else ("analyst" if rng.random() < 0.55 else "viewer")
        joined = a["first_day"] + timedelta(days=rng.randint(0, 90) if a["kind"] == "growing" else 0)
        user_id = f"U{a['i']:02d}{n:02d}"
        rows.append([user_id, a["id"], f"{user_id.lower()}@{domain}", role, f"{joined - timedelta(days=1)}"])
    return rows


def _keep(a: dict, day: date, as_of: date) -> float:
    """The share of a user's usual sessions that happen on `day`: the account's archetype over time."""
    kind, to_go = a["kind"], (as_of - day).days
    if kind == "growing":
        return 0.25 + 0.75 * (day - START).days / (END - START).days
    if kind == "declining":
        return 0.2 if to_go < 32 else 1.0
    if kind == "silent":
        return 0.0 if to_go < SILENT_SINCE[a["i"]] else 1.0
    if kind == "churned":  # fading for two months, then gone
        to_churn = (date.fromisoformat(a["churn"]) - day).days
        return 0.0 if to_churn <= 0 else (0.3 if to_churn < 60 else 0.9)
    return 1.0


def _events(a: dict, users: list[list], rng: random.Random, as_of: date) -> list[tuple]:
    """Each user works on a rhythm of their own (every few days); the archetype thins it out."""
    rhythm = {u[0]: (p := rng.randint(6, 14), rng.randrange(p)) for u in users}
    sharers = {u[0] for u in users if rng.random() < 0.6}  # the others build reports but never share one
    out = []
    day = a["first_day"]
    while day <= END:
        keep = _keep(a, day, as_of)
        for user_id, _, _, role, joined in users:
            period, phase = rhythm[user_id]
            if day.isoformat() < joined or (day.toordinal() - phase) % period or rng.random() >= keep:
                continue
            t = datetime(
                day.year, day.month, day.day, rng.randint(7, 18), rng.randint(0, 59), rng.randint(0, 59)
            )
            did = [PASSIVE[0]]
            if role == "viewer":
                did += [PASSIVE[1]] + (["Dashboard Created"] if rng.random() < 0.1 else [])
            else:
                drive = 0.35 if a["kind"] == "declining" and (as_of - day).days < 32 else 0.75
                if role == "admin":
                    drive /= 2
                if rng.random() < drive:
                    did.append(STEPS[0])
                    if rng.random() < 0.8:
                        did.append(STEPS[1])
                        if user_id in sharers and rng.random() < 0.6:
                            did.append(STEPS[2])
                elif rng.random() < 0.4:
                    did.append(STEPS[1])
                if rng.random() < 0.15:
                    did.append("Dashboard Created")
            for event in did:
                out.append((t, user_id, a["id"], event))
                t += timedelta(minutes=rng.randint(1, 40))
        day += timedelta(days=1)
    return out


SUBJECTS = ["Export times out", "Cannot invite users", "Report shows stale data", "SSO setup question",
            "Invoice seat count wrong", "Dashboard filter broken", "Import fails on large file"]  # fmt: skip


def _tickets(a: dict, users: list[list], rng: random.Random) -> list[list]:
    troubled = a["kind"] in ("declining", "churned", "silent")
    rows = []
    for _ in range(rng.randint(3, 6) if troubled else rng.randint(0, 3)):
        last = date.fromisoformat(a["churn"]) if a["churn"] else END
        opened = datetime.combine(a["first_day"], datetime.min.time()) + timedelta(
            days=rng.randint(0, (last - a["first_day"]).days - 1),
            hours=rng.randint(8, 17),
            minutes=rng.randint(0, 59),
        )
        still_open = rng.random() < (0.4 if troubled else 0.15)
        closed = min(opened + timedelta(hours=rng.randint(2, 96)), datetime(END.year, END.month, END.day, 23))
        solved = "" if still_open else f"{closed:%Y-%m-%d %H:%M:%S}"
        status = rng.choice(["Open", "Pending"]) if still_open else rng.choice(["Solved", "Closed"])
        priority = rng.choice(
            ["Urgent", "High", "High", "Normal"] if troubled else ["High", "Normal", "Normal", "Low"]
        )
        satisfaction = (
            rng.choice(
                ["Bad", "Bad", "Good", "Offered"] if troubled else ["Good", "Good", "Offered", "Unoffered"]
            )
            if not still_open
            else "Unoffered"
        )
        rows.append(
            [
                rng.choice(users)[2],
                a["name"],
                rng.choice(SUBJECTS),
                status,
                priority,
                f"{opened:%Y-%m-%d %H:%M:%S}",
                solved,
                satisfaction,
            ]
        )
    return rows


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
