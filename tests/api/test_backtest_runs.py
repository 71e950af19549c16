"""Backtest runs through the API: CS Ops and CS leaders start one for a scorecard and a horizon
(202), then read its progress and, once finished, its report. Tasks run inline, so a run
started on commit has finished by the next request. The "Renewals" scorecard and its
portfolio come from tests/learning/conftest.py."""

import datetime as dt

import pytest

from accounts.authentication import api_key_create
from scorecards.models import BacktestRun
from tests.api.conftest import client_for
from tests.api.test_api_keys import bearer
from tests.learning.conftest import (  # noqa: F401 (a fixture)
    renewals_scorecard,
    separable_portfolio,
)
from tests.scorecards.factories import ScorecardFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/backtest-runs/"


@pytest.fixture
def scorecard(renewals_scorecard):  # noqa: F811
    separable_portfolio(renewals_scorecard)
    return renewals_scorecard


def test_backtest_run_start_answers_202_with_the_pending_run(ops, scorecard):
    response = client_for(ops).post(
        URL, {"scorecard": scorecard.pk, "horizon_days": 120}, format="json"
    )
    run = BacktestRun.objects.get()
    body = response.json()
    assert response.status_code == 202
    assert {key: body[key] for key in body if not key.endswith("_at")} == {
        "id": run.pk,
        "scorecard": scorecard.pk,
        "horizon_days": 120,
        "status": "pending",
        "progress": 0,
        "stage": "",
        "result": None,
        "error": "",
        "requested_by": "ops",
    }
    assert (body["started_at"], body["finished_at"]) == (None, None)
    assert (run.horizon_days, run.requested_by) == (120, ops)


def test_backtest_run_horizon_defaults_to_90_days(ops, scorecard):
    response = client_for(ops).post(URL, {"scorecard": scorecard.pk}, format="json")
    assert response.json()["horizon_days"] == 90


def test_backtest_run_finished_shows_its_report(ops, scorecard, django_capture_on_commit_callbacks):
    client = client_for(ops)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(URL, {"scorecard": scorecard.pk, "horizon_days": 100}, format="json")
    response = client.get(f"{URL}{started.json()['id']}/")
    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["progress"], body["stage"], body["error"]) == (
        "finished",
        100,
        "Done",
        "",
    )
    # separable_portfolio: usage separates churned from renewed perfectly.
    assert (body["result"]["horizon_days"], body["result"]["n_outcomes"]) == (100, 30)
    assert body["result"]["suggested"]["auc_holdout"] == 1.0
    created, started, finished = (
        dt.datetime.fromisoformat(body[key]) for key in ("created_at", "started_at", "finished_at")
    )
    assert created <= started <= finished


def test_backtest_run_failed_shows_its_error(leader, scorecard):
    run = BacktestRun.objects.create(
        scorecard=scorecard, status=BacktestRun.Status.FAILED, error="Database went away"
    )
    body = client_for(leader).get(f"{URL}{run.pk}/").json()
    assert (body["status"], body["error"], body["result"]) == ("failed", "Database went away", None)


def test_backtest_run_list_is_latest_first_and_filters_by_scorecard(leader, scorecard):
    other = ScorecardFactory(name="Other")
    first = BacktestRun.objects.create(scorecard=scorecard)
    BacktestRun.objects.create(scorecard=other)
    last = BacktestRun.objects.create(scorecard=scorecard, horizon_days=30)
    body = client_for(leader).get(f"{URL}?scorecard={scorecard.pk}").json()
    assert body["count"] == 2
    assert [(row["id"], row["horizon_days"]) for row in body["results"]] == [
        (last.pk, 30),
        (first.pk, 90),
    ]


def test_backtest_run_list_of_a_scorecard_that_does_not_exist_is_empty(leader, scorecard):
    BacktestRun.objects.create(scorecard=scorecard)
    response = client_for(leader).get(f"{URL}?scorecard={scorecard.pk + 1000}")
    assert (response.status_code, response.json()["count"]) == (200, 0)


def test_backtest_run_list_is_paginated(leader, scorecard):
    for _ in range(3):
        BacktestRun.objects.create(scorecard=scorecard)
    body = client_for(leader).get(f"{URL}?page_size=2").json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert body["next"].endswith("?page=2&page_size=2")


def test_backtest_run_list_filters_by_status(leader, scorecard):
    BacktestRun.objects.create(scorecard=scorecard)
    failed = BacktestRun.objects.create(scorecard=scorecard, status=BacktestRun.Status.FAILED)
    body = client_for(leader).get(f"{URL}?status=failed").json()
    assert [row["id"] for row in body["results"]] == [failed.pk]


@pytest.mark.parametrize("role", ["ops", "leader"])
def test_backtest_run_start_is_for_cs_ops_and_leaders(request, scorecard, role):
    user = request.getfixturevalue(role)
    response = client_for(user).post(URL, {"scorecard": scorecard.pk}, format="json")
    assert response.status_code == 202
    assert BacktestRun.objects.get().requested_by == user


@pytest.mark.parametrize("role", ["csm", "integration"])
def test_backtest_run_start_is_403_for_other_roles(request, scorecard, role):
    user = request.getfixturevalue(role)
    response = client_for(user).post(URL, {"scorecard": scorecard.pk}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "message": "Backtests are for CS Ops and CS leaders.",
        "code": "permission_denied",
        "fields": {},
    }
    assert BacktestRun.objects.count() == 0


@pytest.mark.parametrize("role", ["csm", "integration"])
def test_backtest_run_read_is_403_for_other_roles(request, scorecard, role):
    run = BacktestRun.objects.create(scorecard=scorecard)
    client = client_for(request.getfixturevalue(role))
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{run.pk}/").status_code == 403


def test_backtest_run_anonymous_is_401(api, scorecard):
    response = api.post(URL, {"scorecard": scorecard.pk}, format="json")
    assert response.status_code == 401
    assert BacktestRun.objects.count() == 0


def test_backtest_run_api_key_with_read_scope_may_read(ops, scorecard):
    run = BacktestRun.objects.create(scorecard=scorecard)
    _, key = api_key_create(owner=ops, name="bi", scopes=["read"])
    body = bearer(key).get(URL).json()
    assert [row["id"] for row in body["results"]] == [run.pk]


def test_backtest_run_api_key_may_not_start_a_run(ops, scorecard):
    _, key = api_key_create(
        owner=ops, name="all", scopes=["read", "write:accounts", "write:measures"]
    )
    response = bearer(key).post(URL, {"scorecard": scorecard.pk}, format="json")
    assert response.status_code == 403
    assert response.json()["message"] == "API keys may not do this; sign in instead."
    assert BacktestRun.objects.count() == 0


def test_backtest_run_api_key_without_read_scope_may_not_read(ops, scorecard):
    _, key = api_key_create(owner=ops, name="push only", scopes=["write:measures"])
    response = bearer(key).get(URL)
    assert response.status_code == 403
    assert response.json()["message"] == "This API key lacks the read scope."


def test_backtest_run_api_key_of_a_csm_may_not_read(csm, scorecard):
    _, key = api_key_create(owner=csm, name="mine", scopes=["read"])
    assert bearer(key).get(URL).status_code == 403


def test_backtest_run_unknown_id_is_404(ops, db):
    response = client_for(ops).get(f"{URL}999999/")
    assert response.status_code == 404
    assert response.json() == {
        "message": "No BacktestRun matches the given query.",
        "code": "not_found",
        "fields": {},
    }


@pytest.mark.parametrize(
    ("horizon", "message"),
    [
        (0, "Ensure this value is greater than or equal to 1."),
        (731, "Ensure this value is less than or equal to 730."),
        ("ninety", "A valid integer is required."),
    ],
)
def test_backtest_run_bad_horizon_is_400(ops, scorecard, horizon, message):
    response = client_for(ops).post(
        URL, {"scorecard": scorecard.pk, "horizon_days": horizon}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": f"Invalid input. horizon_days: {message}",
        "code": "invalid",
        "fields": {"horizon_days": [message]},
    }
    assert BacktestRun.objects.count() == 0


def test_backtest_run_unknown_scorecard_is_400(ops, db):
    response = client_for(ops).post(URL, {"scorecard": 999999}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "message": 'Invalid input. scorecard: Invalid pk "999999" - object does not exist.',
        "code": "invalid",
        "fields": {"scorecard": ['Invalid pk "999999" - object does not exist.']},
    }
    assert BacktestRun.objects.count() == 0


def test_backtest_run_without_scorecard_is_400(ops, db):
    response = client_for(ops).post(URL, {"horizon_days": 90}, format="json")
    assert response.json()["fields"] == {"scorecard": ["This field is required."]}
