"""Which canonical table a file holds, and which column is which, is decided from the column names alone.

Headers are copied from real exports (Amplitude, Mixpanel, PostHog, Segment, Salesforce, HubSpot, Zendesk, Intercom,
Delighted, Qualtrics); each expected map was checked by hand against tools/schema.py.
"""

from __future__ import annotations

import pytest
from customer_health.tools.base.errors import InputError
from customer_health.tools.data.recognize import Mapping, explain_unrecognised, match_columns, recognize
from customer_health.tools.data.schema import KINDS, TABLES, normalize_name
from hypothesis import given, settings
from hypothesis import strategies as st

SEED = "account_id,mrr,logins_30d,features_used,open_tickets,nps_score,days_since_last_login"

EXPORTS = [
    ("seed_snapshot.csv", SEED, "accounts", {c: c for c in SEED.split(",")}),
    (
        "amplitude_export.csv",
        "event_time,user_id,event_type,amplitude_id,device_id,event_properties",
        "events",
        {"timestamp": "event_time", "user_id": "user_id", "event": "event_type"},
    ),
    (
        "mixpanel_export.csv",
        "event,time,distinct_id,$insert_id",
        "events",
        {"timestamp": "time", "user_id": "distinct_id", "event": "event"},
    ),
    (
        "posthog_events.csv",
        "event,distinct_id,timestamp,properties",
        "events",
        {"timestamp": "timestamp", "user_id": "distinct_id", "event": "event"},
    ),
    (
        "segment_tracks.csv",
        "timestamp,userId,event,anonymousId,context_group_id",
        "events",
        {"timestamp": "timestamp", "user_id": "userId", "event": "event", "account_id": "context_group_id"},
    ),
    (
        "salesforce_accounts.csv",
        "Account ID,Account Name,Industry,Annual Recurring Revenue,Seats__c,Renewal_Date__c,Account Owner,Type",
        "accounts",
        {
            "account_id": "Account ID",
            "name": "Account Name",
            "industry": "Industry",
            "arr": "Annual Recurring Revenue",
            "seats_purchased": "Seats__c",
            "renewal_date": "Renewal_Date__c",
            "csm_owner": "Account Owner",
            "customer_status": "Type",  # Customer / Prospect / Former Customer: read by the lifecycle
        },
    ),
    # HubSpot's "Annual Revenue" is the company's own revenue, not what it pays us: it must not become arr
    (
        "hubspot_companies.csv",
        "Record ID,Company name,Industry,Annual Revenue,Company owner,Create Date",
        "accounts",
        {
            "account_id": "Record ID",
            "name": "Company name",
            "industry": "Industry",
            "signup_date": "Create Date",
            "csm_owner": "Company owner",
        },
    ),
    (
        "zendesk_tickets.csv",
        "Id,Requester,Organization,Subject,Status,Priority,Created at,Solved at,Satisfaction Score,Tags",
        "tickets",
        {
            "account_id": "Organization",
            "created_at": "Created at",
            "ticket_id": "Id",
            "resolved_at": "Solved at",
            "priority": "Priority",
            "status": "Status",
            "csat": "Satisfaction Score",
            "subject": "Subject",
        },
    ),
    (
        "intercom_conversations.csv",
        "Conversation ID,Created at,Last closed at,Company name,User email,State,Conversation rating,Teammate assigned",
        "tickets",
        {
            "account_id": "Company name",
            "created_at": "Created at",
            "ticket_id": "Conversation ID",
            "resolved_at": "Last closed at",
            "status": "State",
            "csat": "Conversation rating",
        },
    ),
    (
        "delighted_responses.csv",
        "Response ID,Email,Name,Score,Comment,Created At,Company",
        "nps",
        {
            "account_id": "Company",
            "score": "Score",
            "responded_at": "Created At",
            "user_id": "Email",
            "comment": "Comment",
        },
    ),
    (
        "qualtrics_survey.csv",
        "StartDate,EndDate,Status,RecordedDate,ResponseId,RecipientEmail,ExternalReference,Q1_NPS_GROUP,Q1_NPS,Q2,"
        "account_id",
        "nps",
        {
            "account_id": "account_id",
            "score": "Q1_NPS",
            "responded_at": "RecordedDate",
            "user_id": "RecipientEmail",
        },
    ),
    (
        "revenue.csv",
        "account_id,month,mrr",
        "revenue",
        {"account_id": "account_id", "month": "month", "mrr": "mrr"},
    ),
    (
        "outcomes.csv",
        "account_id,outcome,date",
        "outcomes",
        {"account_id": "account_id", "outcome": "outcome", "date": "date"},
    ),
    (
        "users.csv",
        "user_id,account_id,role,created_at",
        "users",
        {"user_id": "user_id", "account_id": "account_id", "role": "role", "created_at": "created_at"},
    ),
    (
        "tickets_export.csv",
        "timestamp,user_id,event",
        "events",
        {"timestamp": "timestamp", "user_id": "user_id", "event": "event"},
    ),
]


@pytest.mark.parametrize(("name", "header", "kind", "columns"), EXPORTS, ids=[e[0] for e in EXPORTS])
def test_common_exports_are_recognised_by_their_columns_whatever_the_file_is_called(
    name, header, kind, columns
):
    for label in (name, "export.csv"):
        rec = recognize(label, header.split(","))
        assert rec is not None and (rec.kind, rec.columns) == (kind, columns), label
        assert not rec.forced


def test_exact_canonical_names_win_over_synonyms_and_each_source_column_is_used_once():
    cols = ["time", "timestamp", "user_id", "distinct_id", "event", "name"]
    assert match_columns(TABLES["events"], cols) == {
        "timestamp": "timestamp",
        "user_id": "user_id",
        "event": "event",
    }
    assert match_columns(TABLES["accounts"], ["id", "Account ID", "Name"]) == {
        "account_id": "Account ID",
        "name": "Name",
    }


def test_salesforce_suffixes_case_and_punctuation_do_not_matter_for_matching():
    assert normalize_name(" Renewal_Date__c ") == normalize_name("renewal date") == "renewaldate"


# --- a user's mapping -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [["ts", "who", "Action"], ["when", "who", "Action"]])
def test_a_column_mapping_loads_a_file_as_events_only_once_every_required_column_is_named(header):
    partial = {"events": {"event": "Action"}}
    assert recognize("log.csv", header, Mapping.from_dict({"columns": partial})) is None
    full = {"events": {"event": "Action", "user_id": "who", "timestamp": header[0]}}
    rec = recognize("log.csv", header, Mapping.from_dict({"columns": full}))
    assert (rec.kind, rec.columns) == (
        "events",
        {"timestamp": header[0], "user_id": "who", "event": "Action"},
    )


def test_a_file_pattern_forces_the_kind_even_where_the_columns_suggest_another():
    header = ["account_id", "date", "mrr", "outcome"]
    assert recognize("billing_renewals.csv", header).kind == "outcomes"
    mapping = Mapping.from_dict({"files": {"billing*.csv": "revenue"}})
    rec = recognize("billing_renewals.csv", header, mapping)
    assert (rec.kind, rec.forced, rec.columns) == (
        "revenue",
        True,
        {"account_id": "account_id", "month": "date", "mrr": "mrr"},
    )
    assert recognize("Billing_Q1.CSV", ["customer", "period", "amount"], mapping).kind == "revenue"
    assert recognize("renewals.csv", header, mapping).kind == "outcomes"


def test_a_file_forced_to_a_kind_it_cannot_be_is_explained_against_that_kind():
    mapping = Mapping.from_dict({"files": {"billing*.csv": "revenue"}})
    assert recognize("billing_2024.csv", ["account_id", "name"], mapping) is None
    err = explain_unrecognised("billing_2024.csv", ["account_id", "name"], mapping)
    assert "Closest: revenue needs month, mrr." in err.problem


@pytest.mark.parametrize(
    ("doc", "key", "options"),
    [
        (
            {"files": {"billing.csv": "acounts"}},
            "files.billing.csv: unknown table kind 'acounts'",
            list(KINDS),
        ),
        ({"columns": {"event": {"event": "Action"}}}, "columns.event: unknown table kind", list(KINDS)),
        (
            {"columns": {"events": {"evnt": "Action"}}},
            "columns.events.evnt: not a column of events",
            ["timestamp", "user_id", "event", "account_id", "count"],
        ),
        ({"filez": {}}, "has unknown key(s) ['filez']", ["files", "columns"]),
    ],
)
def test_a_bad_mapping_names_the_offending_key_and_the_valid_options(doc, key, options):
    with pytest.raises(InputError) as caught:
        Mapping.from_dict(doc, source="customer-health.yaml")
    err = caught.value
    assert err.file == "customer-health.yaml" and key in err.problem
    assert err.options == options and "Valid options: " + ", ".join(options) in err.message


@pytest.mark.parametrize("doc", [["files"], {"files": ["billing.csv"]}, {"columns": {"events": "Action"}}])
def test_a_mapping_of_the_wrong_shape_is_rejected(doc):
    with pytest.raises(InputError, match="customer-health.yaml: "):
        Mapping.from_dict(doc, source="customer-health.yaml")


def test_a_column_mapping_for_one_kind_does_not_stop_other_files_being_recognised():
    mapping = Mapping.from_dict({"columns": {"events": {"event": "Action"}}})
    assert recognize("accounts.csv", ["account_id", "name"], mapping).kind == "accounts"
    assert recognize("users.csv", ["user_id", "account_id"], mapping).kind == "users"


def test_a_mapped_column_missing_from_a_file_forced_to_that_kind_lists_the_columns_there_are():
    mapping = Mapping.from_dict(
        {"files": {"log*.csv": "events"}, "columns": {"events": {"event": "Activity"}}}
    )
    with pytest.raises(InputError) as caught:
        recognize("log.csv", ["ts", "who", "Action"], mapping)
    assert "names column 'Activity' for events.event" in caught.value.problem
    assert caught.value.options == ["ts", "who", "Action"]


def test_a_misspelt_mapped_column_is_named_when_the_file_goes_unrecognised():
    mapping = Mapping.from_dict({"columns": {"events": {"event": "Acton"}}})
    assert recognize("log.csv", ["ts", "user_id", "Action"], mapping) is None
    err = explain_unrecognised("log.csv", ["ts", "user_id", "Action"], mapping)
    assert "the mapping names column 'Acton' for events.event, but there is no such column." in err.problem
    assert "events needs" not in err.problem


# --- explaining a miss ----------------------------------------------------------------------------------------


def test_near_miss_spellings_are_suggested_as_renames():
    err = explain_unrecognised("export.csv", ["acount_id", "nmae"])
    assert "'acount_id' → account_id?" in err.problem and "'nmae' → name?" in err.problem
    assert err.problem.startswith("no table recognised from its columns ('acount_id', 'nmae').")


# --- properties -----------------------------------------------------------------------------------------------

_SPELLINGS = sorted(
    {s for t in TABLES.values() for c in t.columns for s in c.synonyms}
    | {"Account ID", "Created at", "userId", "Seats__c", "colour", "notes", "region", "Tags"}
)
_headers = st.one_of(
    st.sampled_from([h.split(",") for _, h, _, _ in EXPORTS]),
    st.lists(st.sampled_from(_SPELLINGS), min_size=2, max_size=12, unique_by=normalize_name),
)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(), header=_headers, label=st.sampled_from(["export.csv", "usage_events.csv", "tickets.csv"])
)
def test_shuffling_the_column_order_does_not_change_the_recognition(data, header, label):
    shuffled = data.draw(st.permutations(header))
    before, after = recognize(label, header), recognize(label, list(shuffled))
    assert (before and (before.kind, list(before.columns.items()))) == (
        after and (after.kind, list(after.columns.items()))
    )
