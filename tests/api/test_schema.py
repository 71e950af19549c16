"""The OpenAPI schema validates, and the API keeps to it: schemathesis fuzzes every operation
with every one of its checks, so the API answers as documented and accepts exactly what the
schema says it accepts."""

import datetime as dt
import os
import re
from decimal import Decimal

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings

from accounts.authentication import api_key_create
from events.services import endpoints as webhook_endpoints
from metrics import services as metric_services
from playbooks import services as playbook_services
from risk.models import RiskEvent
from scorecards.documents import scorecard_to_document
from scorecards.learning import runs as learning_runs
from scorecards.models import Scorecard
from scorecards.services import ingestion as measure_ingestion
from scorecards.services import publishing, scoring
from tests.accounts.factories import (
    AccountFactory,
    ContactFactory,
    RenewalOutcomeFactory,
    TouchpointFactory,
    UserFactory,
)
from tests.risk.factories import RiskFactory


def test_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").read_text().startswith("openapi: 3.0.3")


def test_schema_and_docs_are_served(client, db):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# Examples and random (valid and invalid) data for every operation; the coverage phase's
# exhaustive boundary cases would take minutes on a shared CI machine (and are made before
# the fixtures run, so map_case could not make them valid here). FUZZ_EXAMPLES=100 runs the
# fuzzing harder on a developer's machine.
schema.config.phases.update(phases=["examples", "fuzzing"])
schema.config.generation.update(no_shrink=True)

# The rows the fuzzed requests may name: the documented examples' (CRM-001, csm_sentiment,
# active_users, csm@example.com) and one of everything the API can address.
ACCOUNT = "CRM-001"
MEASURE = "csm_sentiment"
METRIC = "active_users"
# The seeded rows of the running test, for map_case: schemathesis calls hooks, not fixtures.
seeded: dict[str, object] = {}


@pytest.fixture
def test_transaction_kept():
    """Requests go through the WSGI handler, which closes the database connection when a
    request ends; that would end the test's transaction. Django's test client does the same."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


RESOURCE = re.compile(r"/api/v1/(?P<resource>[^/{]+)/")
# Scoring takes a good part of a second: only the operations that read scores get them.
READS_SCORES = re.compile(r"/score/|/portfolio/|/preview/|^GET /api/v1/accounts/(\{id\}/)?$")


@pytest.fixture
def portfolio(request, db, test_transaction_kept) -> dict[str, object]:
    operation = request.node.name.partition("[")[2].rstrip("]")  # "GET /api/v1/risks/{id}/"
    return portfolio_seed(
        resource=RESOURCE.search(operation)["resource"],
        is_scored=bool(READS_SCORES.search(operation)),
    )


def portfolio_seed(*, resource: str, is_scored: bool) -> dict[str, object]:
    """A superuser's account, and of the rows of `resource` (an operation's first path
    segment) one of each that the API serves: seeding everything for all 70 operations would
    cost a good part of the test's time."""
    owner = UserFactory(username="fuzzer", is_superuser=True, is_staff=True)
    UserFactory(username="csm", email="csm@example.com")
    account = AccountFactory(external_id=ACCOUNT, owner=owner, segment="Enterprise")
    scorecard = Scorecard.objects.get(is_default=True)
    today = timezone.localdate()
    ids = {"accounts": account.pk, "scorecards": scorecard.pk}
    contact = ContactFactory(account=account, external_id="CONTACT-1", role="executive_sponsor")
    ids["contacts"] = contact.pk
    if resource in ("accounts", "measure-values", "portfolio", "recompute", "scorecard-drafts"):
        values = [(MEASURE, 2), ("adoption", 0.4)]
        measure_ingestion.measure_values_ingest(
            rows=[
                {"account": ACCOUNT, "measure": key, "raw_value": raw, "as_of": str(today)}
                for key, raw in values
            ],
            user=owner,
        )
        run = scoring.score_run_create(as_of=today)
        ids["recompute"] = (scoring.score_run_execute_inline(run=run) if is_scored else run).pk
    if resource in ("metrics", "metric-values"):
        for key, unit in ((METRIC, "users"), ("licensed_seats", "seats")):
            metric_services.metric_create(key=key, name=key.replace("_", " "), unit=unit)
        metric_services.metric_values_ingest(
            rows=[{"account": ACCOUNT, "metric": METRIC, "date": str(today), "value": 4}],
            user=owner,
        )
    if resource == "touchpoints":
        ids["touchpoints"] = TouchpointFactory(account=account).pk
    if resource == "renewal-outcomes":
        ids["renewal-outcomes"] = RenewalOutcomeFactory(account=account).pk
    if resource in ("risks", "tasks", "playbooks"):
        risk = RiskFactory(account=account, owner=owner)
        RiskEvent.objects.create(risk=risk, from_status="", to_status="open", note="Raised.")
        ids["risks"] = risk.pk
        ids["playbooks"] = playbook_services.playbook_save(
            name="Low sentiment",
            risk_type=risk.risk_type,
            steps=[{"title": "Call the sponsor", "due_in_days": 3}],
        ).pk
        playbook_services.tasks_create_for_risks(risk_ids=[risk.pk], today=today)
        ids["tasks"] = risk.tasks.order_by("id").first().pk
    if resource == "scorecard-drafts":
        ids["scorecard-drafts"] = publishing.scorecard_draft_open(
            scorecard=scorecard, document=scorecard_to_document(scorecard), user=owner
        ).pk
    if resource == "backtest-runs":
        ids["backtest-runs"] = learning_runs.backtest_run_start(scorecard=scorecard, user=owner).pk
    if resource == "webhooks":
        endpoint = webhook_endpoints.webhook_endpoint_create(
            user=owner, url="http://127.0.0.1:9/hooks"
        ).endpoint
        ids["webhooks"] = endpoint.pk
        ids["deliveries"] = webhook_endpoints.webhook_endpoint_ping(endpoint=endpoint).pk
    seeded.clear()
    seeded.update(
        owner=owner, owner_email=owner.email, contact=contact.pk, scorecard=scorecard.pk, ids=ids
    )
    return seeded


@pytest.fixture
def api_key_header(portfolio) -> dict[str, str]:
    """A key of the superuser's with every scope."""
    _, key = api_key_create(
        owner=portfolio["owner"],
        name="schemathesis",
        scopes=["read", "write:accounts", "write:measures", "write:metrics"],
    )
    seeded["authorization"] = f"Bearer {key}"
    return {"Authorization": seeded["authorization"]}


@schema.hook
def map_case(context, case):
    """Every request carries the test's key; valid requests are made valid for this
    portfolio on this day as well.

    Whether an account, a measure or a user exists is the database's business, and so are
    the rules that compare one field with another, a row with its neighbours or a date with
    today: OpenAPI 3.0 cannot state them (the schema says them in words), and the API rightly
    refuses a request that breaks them with a 400. So the valid requests schemathesis makes
    name the seeded rows and keep those rules, and its checks then hold the API to everything
    the schema does state. Invalid requests keep what makes them invalid.
    """
    if not seeded:  # the examples' cases, made when the tests are collected
        return case
    # The key goes on every case, so that the checks see what is sent: given only to
    # call_and_validate, it would replace a deliberately invalid Authorization header behind
    # their back, and the API would rightly accept the request they expect it to refuse.
    case.headers = {**(case.headers or {}), "Authorization": seeded["authorization"]}
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    _path_names_seeded_rows(case)
    rows = [case.body] if isinstance(case.body, dict) else case.body
    if isinstance(rows, list):
        resource = RESOURCE.search(case.operation.path)["resource"]
        kept = [_row_valid_here(row, resource, case.method) for row in rows]
        if resource == "metric-values":  # one value per account, metric and date
            kept = list(
                {
                    (row.get("account"), row.get("metric"), row.get("date")): row for row in kept
                }.values()
            )
        case.body = kept[0] if isinstance(case.body, dict) else kept
    query = case.query or {}
    if query.get("from") and query.get("to") and query["from"] > query["to"]:
        query["from"], query["to"] = query["to"], query["from"]  # a history runs forwards
    return case


def _path_names_seeded_rows(case) -> None:
    ids = seeded["ids"]
    resource = RESOURCE.search(case.operation.path)["resource"]
    for name in case.path_parameters or {}:
        if name == "lookup":
            case.path_parameters[name] = ACCOUNT
        elif name == "key":
            case.path_parameters[name] = METRIC
        elif name == "webhook_pk":
            case.path_parameters[name] = ids["webhooks"]
        elif name == "id":
            inner = "deliveries" if "/deliveries/" in case.operation.path else resource
            case.path_parameters[name] = ids[inner]


def _row_valid_here(row, resource: str, method: str):
    if not isinstance(row, dict):
        return row
    row = dict(row)
    today = timezone.localdate()
    for key, known, ours in (
        ("account", {ACCOUNT}, ACCOUNT),
        ("measure", {MEASURE, "adoption"}, "adoption"),  # adoption has no fixed scale
        ("metric", {METRIC, "licensed_seats"}, METRIC),
    ):
        if isinstance(row.get(key), str) and row[key] not in known:
            row[key] = ours
    if isinstance(row.get("owner_email"), str) and row["owner_email"]:
        row["owner_email"] = seeded["owner_email"]
    if isinstance(row.get("contacts"), list):
        row["contacts"] = [seeded["contact"]] if row["contacts"] else []
    if isinstance(row.get("scorecard"), int):
        row["scorecard"] = seeded["scorecard"]
    for key in ("as_of", "date", "occurred_on", "renewal_date"):  # not after today
        if isinstance(row.get(key), str) and row[key] > today.isoformat():
            row[key] = today.isoformat()
    if resource in ("accounts", "contacts") and method == "POST":
        row.setdefault("name", "Made by schemathesis")  # a new row has a name
    if resource == "contacts" and method == "POST":
        row.setdefault("account", ACCOUNT)  # and a new contact an account
    if resource == "contacts":
        _contact_left_rule(row, today=today, is_change=method == "PATCH")
    if resource == "renewal-outcomes":
        _renewal_outcome_rule(row)
    return row


def _contact_left_rule(row: dict, *, today: dt.date, is_change: bool) -> None:
    """A contact who left has the date they left, not before they were added (today, for the
    seeded one); an active one has none."""
    is_active = row.get("is_active")
    has_left_on = row.get("left_on") is not None
    if is_active is None and "left_on" in row:
        is_active = not has_left_on
    if is_active is False:
        row["left_on"] = today.isoformat() if is_change or not has_left_on else row["left_on"]
    elif is_active is True and has_left_on:
        row["left_on"] = None


def _renewal_outcome_rule(row: dict) -> None:
    """arr_after agrees with the outcome: 0 when churned, less when downgraded, more when
    expanded, more than 0 when renewed."""
    before = Decimal(str(row.get("arr_before", 0)))
    if row.get("outcome") in ("downgraded", "expanded") and not Decimal("1") <= before <= 10**11:
        before = row["arr_before"] = Decimal("1000")
    after = {
        "churned": Decimal(0),
        "downgraded": before / 2,
        "expanded": before * 2,
        "renewed": before or Decimal("1"),
    }.get(row.get("outcome"))
    if after is not None:
        row["arr_before"], row["arr_after"] = float(before), float(after.quantize(Decimal("0.01")))


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "4")),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_keeps_to_its_schema(case, api_key_header, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "100000/minute"},
    }
    # Every check schemathesis has: no `checks=` list and none excluded (max_response_time
    # runs only with a limit, and the API promises none). The key is on the case too
    # (map_case), except on the examples' cases, made before the test ran.
    case.call_and_validate(headers=api_key_header)
