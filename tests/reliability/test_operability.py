"""Operability of issue 13: /health/ for compose and load balancers, /metrics for
Prometheus, and JSON-lines logs."""

import json
import logging
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from scorecards.services import scoring
from tests.accounts.factories import AccountFactory


@pytest.mark.django_db
def test_health_names_each_check_and_fails_without_a_worker(client, redis_url):
    redis = urlparse(redis_url)
    response = client.get("/health/?format=json")
    body = response.json()
    assert [name.split("(app=")[0] for name in sorted(body)] == [
        "Cache(alias='default')",
        "Database(alias='default')",
        "Ping",
        f"Redis(db={int(redis.path.strip('/') or 0)}, host='{redis.hostname}', "
        f"port={redis.port or 6379})",
    ]
    assert response.status_code == 500  # no worker answers the ping in this test


def test_metrics_count_requests_runs_and_risks(client, db):
    AccountFactory()
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=timezone.localdate()))
    client.get("/login/")
    text = client.get("/metrics").content.decode()
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert 'healthscore_score_runs{status="finished"} 1.0' in text
    assert "healthscore_score_run_duration_seconds_count" in text
    assert "healthscore_score_chunks_retried_total" in text
    assert "healthscore_score_runs_healed_total" in text
    assert "healthscore_risk_emails_sent_total" in text


def test_metrics_need_the_bearer_token_when_one_is_set(client, db, settings):
    settings.METRICS_TOKEN, settings.METRICS_PUBLIC = "scrape-me", False
    missing = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    right = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert (missing.status_code, missing["WWW-Authenticate"]) == (401, 'Bearer realm="metrics"')
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert b"healthscore_score_runs_healed_total" in right.content


def test_metrics_are_not_found_in_production_without_a_token(client, db, settings):
    settings.METRICS_TOKEN, settings.METRICS_PUBLIC = "", False
    assert client.get("/metrics").status_code == 404


def test_json_log_lines(capsys, settings):
    """The formatter LOG_FORMAT=json configures, as settings.LOGGING names it."""
    from pythonjsonlogger.json import JsonFormatter

    config = settings.LOGGING["formatters"]["json"]
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(config["fmt"], rename_fields=config["rename_fields"]))
    logger = logging.getLogger("healthscore.test")
    logger.addHandler(handler)
    try:
        logger.warning("Score run %s resumed.", 7, extra={"run_id": 7})
    finally:
        logger.removeHandler(handler)
    line = json.loads(capsys.readouterr().err.strip())
    assert {k: v for k, v in line.items() if k != "time"} == {
        "level": "WARNING",
        "logger": "healthscore.test",
        "message": "Score run 7 resumed.",
        "run_id": 7,
    }
