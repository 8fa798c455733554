"""The canonical tables a dataset is made of, their columns, and the export spellings we recognise for each."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

ValueType = Literal["id", "text", "timestamp", "date", "month", "number", "bool", "outcome"]
Kind = Literal["accounts", "users", "events", "tickets", "nps", "revenue", "outcomes", "subscriptions"]
KINDS: tuple[Kind, ...] = (
    "accounts",
    "users",
    "events",
    "tickets",
    "nps",
    "revenue",
    "outcomes",
    "subscriptions",
)


@dataclass(frozen=True)
class Column:
    """One canonical column: its value type and the source spellings that map to it."""

    name: str
    type: ValueType
    synonyms: tuple[str, ...] = ()
    required: bool = False
    outcome: bool = False  # read only by validation, never by scoring
    nonnegative: bool = False
    not_future: bool = False  # a date that cannot lie after the data's own latest date
    words: tuple[tuple[str, float | None], ...] = ()  # letters-only lower-case word → value (None: no value)


@dataclass(frozen=True)
class Table:
    """A canonical table: its columns, the column that identifies a row, and file-name hints."""

    kind: Kind
    columns: tuple[Column, ...]
    id_column: str | None
    date_column: str | None
    name_hints: tuple[str, ...] = field(default=())
    # groups of columns of which each needs at least one present (events: a user or an account column)
    any_of: tuple[tuple[str, ...], ...] = ()
    # columns only another kind's export carries: two or more of them and a file is not this kind
    # (an accounts export with a start and an end date is still an accounts export)
    foreign: tuple[str, ...] = ()

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


_ACCOUNT_ID = (
    "account_id",
    "account",
    "accountid",
    "account id",
    "account_number",
    "company_id",
    "companyid",
    "organization_id",
    "organization",
    "org_id",
    "orgid",
    "group_id",
    "groupid",
    "customer_id",
    "customer",
    "tenant_id",
    "workspace_id",
    "account_id__c",
    "company_record_id",
    "sf_account_id",
    "$group_0",
    "group_key",
    "context_group_id",
)
_USER_ID = (
    "user_id",
    "userid",
    "user",
    "distinct_id",
    "$distinct_id",
    "person_id",
    "uid",
    "contact_id",
    "member_id",
    "$user_id",
    "user_key",
)


_SEATS = (
    "seats",
    "licenses",
    "licences",
    "seat_count",
    "purchased_seats",
    "licensed_seats",
    "paid_seats",
    "number_of_seats",
    "contracted_seats",
    "license_count",
    "licence_count",
    "licenses_purchased",
    "licences_purchased",
    "purchased_licenses",
    "purchased_licences",
    "number_of_licenses",
    "number_of_licences",
    "num_licenses",
    "num_seats",
    "no_of_seats",
    "no_of_licenses",
    "total_seats",
    "total_licenses",
    "total_licences",
    "seat_quantity",
    "license_quantity",
    "licence_quantity",
    "licensed_users",
    "licenced_users",
    "licensed_user_count",
    "user_licenses",
    "user_licences",
    "contracted_licenses",
    "seat_limit",
    "license_limit",
)


def _c(name: str, type_: ValueType, *synonyms: str, **flags: bool) -> Column:
    return Column(name, type_, (name, *synonyms), **flags)


# Ticket satisfaction exported as words. Zendesk: Good is the top score and Bad the bottom one (the CSAT share is
# good / (good + bad)); Offered and Unoffered mean the survey got no answer, which is no value at all. Freshdesk's
# survey results run from Extremely Happy to Extremely Unhappy: the happy answers are satisfied, as in a CSAT share;
# Neutral and the unhappy ones are not.
SATISFACTION_WORDS: tuple[tuple[str, float | None], ...] = (
    ("good", 100.0),
    ("goodwithcomment", 100.0),
    ("bad", 0.0),
    ("badwithcomment", 0.0),
    ("offered", None),
    ("unoffered", None),
    ("notoffered", None),
    ("extremelyhappy", 100.0),
    ("veryhappy", 100.0),
    ("happy", 100.0),
    ("neutral", 0.0),
    ("unhappy", 0.0),
    ("veryunhappy", 0.0),
    ("extremelyunhappy", 0.0),
)


TABLES: dict[Kind, Table] = {
    "accounts": Table(
        "accounts",
        (
            _c(
                "account_id",
                "id",
                *_ACCOUNT_ID,
                "record_id",
                "id",
                "hs_object_id",  # HubSpot's internal name for Record ID
                "gsid",  # Gainsight's company id
                required=True,
            ),
            _c(
                "name",
                "text",
                "account_name",
                "company_name",
                "company",
                "customer_name",
                "organization_name",
                "org_name",
                "display_name",
            ),
            _c(
                "segment",
                "text",
                "tier",
                "customer_segment",
                "account_segment",
                "size_segment",
                "customer_tier",
                "account_tier",
                "market_segment",
            ),
            _c("industry", "text", "vertical", "sector"),
            _c("use_case", "text", "usecase", "primary_use_case"),
            _c("plan", "text", "plan_name", "subscription_plan", "product_tier", "edition", "package"),
            _c(
                "arr",
                "number",
                "annual_recurring_revenue",
                "arr_usd",
                "contract_value",
                "acv",
                "annual_contract_value",
                "annualrevenue_contract",
                "total_arr",
                "current_arr",
                "hs_arr",
                "arr__gc",
                nonnegative=True,
            ),
            _c(
                "mrr",
                "number",
                "monthly_recurring_revenue",
                "mrr_usd",
                "monthly_revenue",
                "total_mrr",
                "current_mrr",
                "hs_mrr",
                nonnegative=True,
            ),
            _c(
                "seats_purchased",
                "number",
                *_SEATS,
                nonnegative=True,
            ),
            _c(
                "contract_start",
                "date",
                "contract_start_date",
                "start_date",
                "subscription_start",
                "customer_since",
                "became_customer_date",
                "original_contract_date",  # Gainsight
                "first_contract_date",
                not_future=True,
            ),
            _c(
                "renewal_date",
                "date",
                "renewal",
                "contract_end",
                "contract_end_date",
                "next_renewal_date",
                "renewal_date__c",
                "subscription_end",
                "end_date",
                "renewal_due_date",
                "contract_renewal_date",
                "subscription_end_date",
                "contract_expiration_date",
                "expiration_date",
            ),
            _c(
                "signup_date",
                "date",
                "signup",
                "signed_up_at",
                "created_date",
                "create_date",
                "createdate",
                "account_created",
                "created_at",
                "createddate",
                not_future=True,
            ),
            _c(
                "csm_owner",
                "text",
                "csm",
                "owner",
                "account_owner",
                "company_owner",
                "csm_name",
                "owner_name",
                "customer_success_manager",
                "ownerid",
                "account_owner_name",
                "account_owner_full_name",
                "owner_full_name",
                "hubspot_owner_id",
                "hubspot_owner",
                "csm_owner_name",
                "assigned_csm",
                "cs_owner",
                "success_manager",
            ),
            _c(
                "churned",
                "bool",
                "is_churned",
                "has_churned",
                "churn",
                "churn_flag",
                "churned_yes_no",  # a CRM checkbox labelled `Churned (Yes/No)`; `Churned?` folds to `churned`
                "churned_y_n",
                "churned_yn",
                outcome=True,
            ),
            _c(
                "customer_status",
                "text",
                "status",
                "account_status",
                "lifecycle_stage",
                "lifecyclestage",
                "lifecycle_status",
                "customer_stage",
                "account_stage",
                "customer_type",
                "account_type",
                "type",
                outcome=True,  # "Churned", "Former customer": read by the lifecycle and validation only
            ),
            _c(
                "churn_date",
                "date",
                "churned_at",
                "churned_on",
                "cancellation_date",
                "cancelled_at",
                outcome=True,
            ),
            _c("logins_30d", "number", "logins_last_30_days", "logins", "login_count_30d", nonnegative=True),
            _c("active_users_30d", "number", "active_users", "mau", "monthly_active_users", nonnegative=True),
            _c("features_used", "number", "features_adopted", "feature_count", nonnegative=True),
            _c("open_tickets", "number", "open_support_tickets", "open_cases", nonnegative=True),
            _c("nps_score", "number", "nps", "latest_nps"),
            _c("days_since_last_login", "number", "days_since_login", "last_login_days", nonnegative=True),
            _c("last_login", "timestamp", "last_login_at", "last_seen", not_future=True),
        ),
        id_column="account_id",
        date_column="contract_start",
        name_hints=("account", "compan", "customer", "organi", "snapshot", "health"),
    ),
    "users": Table(
        "users",
        (
            _c("user_id", "id", *_USER_ID[1:], "id", required=True),
            _c("account_id", "id", *_ACCOUNT_ID, required=True),
            _c("email", "text", "email_address", "user_email"),
            _c("role", "text", "persona", "user_role", "job_function", "department", "user_type"),
            _c("title", "text", "job_title", "position"),
            _c(
                "created_at",
                "timestamp",
                "signup_date",
                "signed_up_at",
                "invited_at",
                "created",
                "created_date",
                "first_seen",
                "joindate",  # Heap
                "join_date",
                not_future=True,
            ),
            _c("deactivated_at", "timestamp", "deactivated", "removed_at", "deleted_at", "disabled_at"),
            _c("is_champion", "bool", "champion"),
            _c("is_exec_sponsor", "bool", "exec_sponsor", "executive_sponsor", "is_executive_sponsor"),
        ),
        id_column="user_id",
        date_column="created_at",
        name_hints=("user", "member", "contact", "people", "seat"),
    ),
    "events": Table(
        "events",
        (
            _c(
                "timestamp",
                "timestamp",
                "event_time",
                "time",
                "$time",
                "ts",
                "occurred_at",
                "event_timestamp",
                "datetime",
                "received_at",
                "client_event_time",
                "server_upload_time",
                "sent_at",
                "original_timestamp",
                "browser_time",  # Pendo
                "created_at",
                "date",
                required=True,
                not_future=True,
            ),
            _c(
                "user_id",
                "id",
                *_USER_ID[1:],
                "anonymous_id",
                "anonymousid",
                "device_id",
                "amplitude_id",
                "visitor_id",  # Pendo
                "visitorid",
            ),
            _c(
                "event",
                "text",
                "event_type",
                "event_name",
                "action",
                "$event",
                "name",
                "activity",
                "feature",
                "type",
                "event_table_name",  # Heap Connect
                "track_event_name",
                required=True,
            ),
            _c("account_id", "id", *_ACCOUNT_ID),
            _c("count", "number", "value", "quantity", "event_count", "num_events", nonnegative=True),
        ),
        id_column=None,
        date_column="timestamp",
        name_hints=("event", "track", "usage", "activity", "amplitude", "mixpanel", "posthog", "segment"),
        any_of=(
            ("user_id", "account_id"),
        ),  # no user column: account-level events, the account is the person
    ),
    "tickets": Table(
        "tickets",
        (
            _c(
                "account_id",
                "id",
                *_ACCOUNT_ID,
                "organization_name",
                "company_name",
                "requester_organization",
                required=True,
            ),
            _c(
                "created_at",
                "timestamp",
                "created",
                "opened_at",
                "created_date",
                "date_created",
                "ticket_created_at",
                "submitted_at",
                "created_time",  # Freshdesk
                "conversation_started_at",  # Intercom
                "conversation_created_at",
                required=True,
                not_future=True,
            ),
            _c(
                "ticket_id",
                "id",
                "id",
                "ticket",
                "ticket_number",
                "case_id",
                "case_number",
                "conversation_id",
                "issue_id",
            ),
            _c(
                "resolved_at",
                "timestamp",
                "solved_at",
                "closed_at",
                "resolved",
                "solved",
                "closed",
                "resolution_date",
                "date_closed",
                "last_closed_at",
                "resolved_time",  # Freshdesk
                "closed_time",
                "conversation_last_closed_at",  # Intercom
                "conversation_first_closed_at",
            ),
            _c("priority", "text", "severity", "urgency"),
            _c("status", "text", "state", "ticket_status", "conversation_state"),
            _c("escalated", "bool", "is_escalated", "escalation"),
            Column(
                "csat",
                "number",
                (
                    "csat",
                    "satisfaction",
                    "satisfaction_score",
                    "satisfaction_rating",
                    "rating",
                    "csat_score",
                    "conversation_rating",
                    "survey_results",  # Freshdesk
                    "survey_result",
                    "satisfaction_survey",
                ),
                words=SATISFACTION_WORDS,
            ),
            _c("subject", "text", "title", "summary", "body", "description", "first_message"),
        ),
        id_column="ticket_id",
        date_column="created_at",
        name_hints=("ticket", "case", "support", "zendesk", "intercom", "conversation", "freshdesk"),
    ),
    "nps": Table(
        "nps",
        (
            _c("account_id", "id", *_ACCOUNT_ID, "company_name", "company", required=True),
            _c(
                "score",
                "number",
                "nps",
                "nps_score",
                "rating",
                "how_likely",
                "likelihood_to_recommend",
                "q1_nps",
                "nps_rating",
                required=True,
            ),
            _c(
                "responded_at",
                "timestamp",
                "response_date",
                "created_at",
                "created",
                "submitted_at",
                "recorded_date",
                "recordeddate",
                "survey_date",
                "date",
                "enddate",
                required=True,
                not_future=True,
            ),
            _c("user_id", "id", *_USER_ID[1:], "respondent_id", "email", "person_email", "recipient_email"),
            _c("comment", "text", "comments", "feedback", "verbatim", "reason", "response"),
        ),
        id_column=None,
        date_column="responded_at",
        name_hints=("nps", "survey", "delighted", "qualtrics", "promoter"),
    ),
    "revenue": Table(
        "revenue",
        (
            _c("account_id", "id", *_ACCOUNT_ID, required=True),
            _c(
                "month",
                "month",
                "period",
                "billing_month",
                "billing_period",
                "date",
                "invoice_month",
                "revenue_month",
                required=True,
            ),
            _c(
                "mrr",
                "number",
                "monthly_recurring_revenue",
                "revenue",
                "amount",
                "monthly_revenue",
                "mrr_usd",
                required=True,
            ),
        ),
        id_column=None,
        date_column="month",
        name_hints=("revenue", "mrr", "billing", "invoice", "subscription"),
    ),
    "outcomes": Table(
        "outcomes",
        (
            _c("account_id", "id", *_ACCOUNT_ID, required=True),
            _c(
                "outcome",
                "outcome",
                "renewal_outcome",
                "result",
                "renewal_status",
                "renewal_result",
                "stage",
                required=True,
            ),
            _c(
                "date",
                "date",
                "outcome_date",
                "renewal_date",
                "closed_date",
                "close_date",
                "decided_at",
                required=True,
            ),
        ),
        id_column=None,
        date_column="date",
        name_hints=("outcome", "renewal", "churn"),
    ),
    "subscriptions": Table(
        "subscriptions",
        (
            _c(
                "account_id",
                "id",
                "customer_id",  # Stripe, Chargebee (subscription.customer_id)
                "account_code",  # Recurly
                "account_number",  # Zuora (Account.AccountNumber)
                "accountnumber",
                *_ACCOUNT_ID,
                required=True,
            ),
            _c(
                "start_date",
                "date",
                "start",
                "started_at",
                "start_utc",
                "start_date_utc",
                "subscription_start",
                "subscription_start_date",
                "subscriptionstartdate",
                "activated_at",
                "service_start",
                "service_start_date",
                "contract_start_date",
                "term_start",
                "term_start_date",
                "termstartdate",
                "current_term_start",
                "period_start",
                "billing_period_start",
                "current_period_start",
                "current_period_start_utc",
                "current_period_started_at",
                "effective_start_date",
                "effectivestartdate",
                required=True,
            ),
            _c(
                "period_start",
                "date",
                "current_period_start",
                "current_period_start_utc",
                "current_period_started_at",
                "current_term_start",
                "term_start_date",
                "termstartdate",
                "term_start",
            ),
            _c(
                "end_date",
                "date",
                "end",
                "ended_at",
                "ended_at_utc",
                "ends_at",
                "expires_at",
                "expired_at",
                "expiration_date",
                "subscription_end",
                "subscription_end_date",
                "subscriptionenddate",
                "service_end",
                "service_end_date",
                "contract_end_date",
                "term_end",
                "term_end_date",
                "termenddate",
                "period_end",
                "billing_period_end",
                "effective_end_date",
                "effectiveenddate",
            ),
            _c(
                "period_end",
                "date",
                "current_period_end",
                "current_period_end_utc",
                "current_period_ends_at",
                "current_term_end",
                "next_billing_at",
                "next_billing_date",
                "next_renewal_date",
                "renewal_date",
                "next_charge_date",
                "term_end_date",  # Zuora's current term; its SubscriptionEndDate is the end
                "termenddate",
            ),
            _c(
                "canceled_at",
                "date",
                "cancelled_at",
                "canceled_at_utc",
                "cancellation_date",
                "canceled_date",
                "cancelled_date",
                "cancel_date",
                "canceled_on",
                "cancelled_on",
            ),
            _c("status", "text", "state", "subscription_status", "subscription_state"),
            _c("trial_end", "date", "trial_end_utc", "trial_ends_at", "trial_end_date", "trial_ended_at"),
            _c(
                "subscription_id",
                "id",
                "id",
                "subscription",
                "uuid",
                "subscription_number",
                "subscription_name",
                "contract_id",
                "contract_number",
            ),
            _c(
                "name",
                "text",
                "customer_name",
                "customer_description",
                "company",
                "company_name",
                "customer_company",
                "account_name",
                "organization_name",
                "customer_email",
            ),
            _c(
                "plan",
                "text",
                "plan_name",
                "plan_id",
                "plan_code",
                "price_id",
                "item_price_id",
                "product",
                "product_name",
                "rate_plan",
                "rateplan_name",
                "edition",
            ),
            _c(
                "mrr",
                "number",
                "monthly_recurring_revenue",
                "mrr_usd",
                "plan_mrr",
                "monthly_amount",
                "monthly_value",
                nonnegative=True,
            ),
            _c(
                "arr",
                "number",
                "annual_recurring_revenue",
                "arr_usd",
                "acv",
                "annual_contract_value",
                nonnegative=True,
            ),
            _c(
                "unit_amount",
                "number",
                "amount",
                "unit_price",
                "plan_amount",
                "plan_unit_price",
                "price",
                "unit_amount_in_cents",
                "plan_price",
                nonnegative=True,
            ),
            _c(
                "total_amount",
                "number",
                "total",
                "subtotal",
                "recurring_amount",
                "billing_amount",
                "amount_total",
                nonnegative=True,
            ),
            _c(
                "interval",
                "text",
                "billing_interval",
                "plan_interval",
                "interval_unit",
                "plan_interval_unit",
                "billing_period_unit",
                "billing_frequency",
                "billing_cycle",
                "billing_period",
                "recurrence",
                "term",
            ),
            _c(
                "interval_count",
                "number",
                "plan_interval_count",
                "plan_interval_length",
                "billing_period_count",
                "interval_length",
                nonnegative=True,
            ),
            _c("quantity", "number", "plan_quantity", "qty", "units", *_SEATS, nonnegative=True),
            _c("currency", "text", "currency_code", "plan_currency"),
        ),
        id_column=None,
        date_column="start_date",
        name_hints=("subscription", "contract", "billing", "stripe", "chargebee", "recurly", "zuora", "plan"),
        any_of=(
            ("end_date", "status", "canceled_at", "period_end"),
            # something only billing has (a survey has a start, an end and a status too)
            (
                "mrr",
                "arr",
                "unit_amount",
                "total_amount",
                "plan",
                "quantity",
                "subscription_id",
                "canceled_at",
                "period_end",
                "interval",
                "trial_end",
                "currency",
            ),
        ),
        foreign=(
            "segment",
            "industry",
            "use_case",
            "csm_owner",
            "logins_30d",
            "active_users_30d",
            "features_used",
            "open_tickets",
            "nps_score",
            "days_since_last_login",
            "last_login",
            "churned",
            "churn_date",
        ),
    ),
}

OUTCOME_VALUES = ("renewed", "churned", "contracted", "expanded")
OUTCOME_SYNONYMS = {
    "renewed": ("renewed", "renewal", "renew", "won", "closed_won", "closedwon", "retained"),
    "churned": ("churned", "churn", "lost", "closed_lost", "closedlost", "cancelled", "canceled", "lapsed"),
    "contracted": ("contracted", "downgraded", "downsell", "contraction", "reduced"),
    "expanded": ("expanded", "expansion", "upsell", "upgraded", "grew"),
}


def normalize_name(name: str) -> str:
    """Fold a column name for matching: case, spaces, punctuation and a Salesforce `__c` suffix don't count."""
    folded = str(name).strip().lower()
    folded = re.sub(r"__c$", "", folded)
    return re.sub(r"[^a-z0-9]", "", folded)


# Words that make an unused source column look like a canonical one (see recognize.lookalikes): a cue matches
# when each of its words begins a word of the column name (cues of three letters or fewer must be whole words);
# a column with any of the `unlike` words is something else (seats used are not seats purchased).
@dataclass(frozen=True)
class Lookalike:
    kind: Kind
    column: str
    cues: tuple[str, ...]
    unlike: tuple[str, ...] = ()


_NOT_A_DATE = ("amount", "value", "arr", "mrr", "status", "stage", "owner", "probability", "risk", "reason")
_NOT_TEXT = ("date", "time", "timestamp", "at", "on", "day", "days", "count", "number", "num", "id")

LOOKALIKES: tuple[Lookalike, ...] = (
    Lookalike(
        "accounts",
        "seats_purchased",
        ("seat", "licen", "licenc"),
        (
            "used",
            "active",
            "assigned",
            "consumed",
            "utiliz",
            "utilis",
            "remaining",
            "available",
            "unused",
            "occupied",
            "type",
            "price",
            "cost",
            "date",
            "per",
        ),
    ),
    Lookalike(
        "accounts",
        "arr",
        ("arr", "acv", "annual recurring", "contract value", "annual contract"),
        ("date", "growth", "change", "delta", "pct", "percent", "target", "forecast", "churn", "lost"),
    ),
    Lookalike(
        "accounts",
        "mrr",
        ("mrr", "monthly recurring", "monthly revenue"),
        ("date", "growth", "change", "delta", "pct", "percent", "target", "forecast", "churn", "lost"),
    ),
    Lookalike("accounts", "renewal_date", ("renew", "contract end", "expir", "term end"), _NOT_A_DATE),
    Lookalike(
        "accounts",
        "churned",
        ("churn", "cancel"),
        ("risk", "reason", "score", "probability", "likelihood", "predict", "forecast", "rate"),
    ),
    Lookalike(
        "accounts",
        "churn_date",
        ("churn", "cancel"),
        ("risk", "reason", "score", "probability", "likelihood", "predict", "forecast", "rate"),
    ),
    Lookalike(
        "accounts",
        "csm_owner",
        ("owner", "csm", "success manager", "account manager", "cs manager"),
        _NOT_TEXT + ("assigned", "team", "role"),
    ),
    Lookalike("accounts", "segment", ("segment", "tier"), _NOT_TEXT + ("support",)),
    Lookalike("accounts", "plan", ("plan", "edition", "package"), _NOT_TEXT + ("price", "amount", "success")),
    Lookalike("accounts", "industry", ("industry", "vertical", "sector"), _NOT_TEXT),
    Lookalike(
        "accounts",
        "contract_start",
        ("contract start", "customer since", "original contract", "subscription start", "contract begin"),
        _NOT_A_DATE,
    ),
    Lookalike("accounts", "nps_score", ("nps",), ("date", "count", "comment", "reason", "response")),
    Lookalike("tickets", "csat", ("csat", "satisfaction"), ("date", "comment", "reason", "offered")),
    Lookalike("tickets", "priority", ("priority", "severity", "urgency"), ()),
    Lookalike("tickets", "resolved_at", ("resolved", "solved", "closed"), ("by", "count", "status")),
    Lookalike("nps", "comment", ("comment", "feedback", "verbatim"), ("date", "count")),
)
