"""Conditional GETs (healthscore/conditional.py): score, score history and portfolio carry an
ETag (and a Last-Modified once settled), answer 304 to a matching If-None-Match without
reading the data, and change their ETag on the writes that change the answer. On a real
Redis cache, as the servers run."""

import datetime as dt
import os
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.ingestion import accounts_upsert
from scorecards.services import scoring
from tests.accounts.factories import AccountFactory
from tests.api.conftest import client_for
from tests.conftest import service_missing
from tests.scorecards.factories import MeasureValueFactory

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 20)
SCORE = "/api/v1/accounts/ACME-1/score/"
HISTORY = "/api/v1/accounts/ACME-1/score/history/"
PORTFOLIO = "/api/v1/portfolio/?group_by=segment"


@pytest.fixture(autouse=True)
def redis_cache(settings):
    url = os.environ.get("REDIS_URL")
    if not url:
        service_missing("needs Redis: set REDIS_URL=redis://…")
    prefix = f"test-conditional-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "healthscore.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    yield
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def adoption_scored(account, adoption: float, as_of: dt.date = DAY) -> None:
    """Adoption is the account's only value: linear 0–1 → 0–100, so overall = adoption × 100."""
    from scorecards.models import Measure

    MeasureValueFactory(
        account=account,
        measure=Measure.objects.get(key="adoption"),
        raw_value=adoption,
        score=Decimal(str(adoption * 100)),
        as_of=as_of,
    )
    scoring.score_run_execute_inline(run=scoring.score_run_create(as_of=as_of))


@pytest.fixture
def scored(csm):
    account = AccountFactory(owner=csm, external_id="ACME-1", segment="SMB")
    adoption_scored(account, 0.4)
    return account


@pytest.mark.parametrize("path", [SCORE, HISTORY, PORTFOLIO])
def test_answer_carries_an_etag_and_304s_a_matching_if_none_match(csm_client, scored, path):
    csm_client.get(path)  # the score's first read fits the renewal likelihood (a write)
    first = csm_client.get(path)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    with CaptureQueriesContext(connection) as queries:
        again = csm_client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", etag)
    # Not one query: the ETag is the generations' values (the user's roles are known).
    assert len(queries) == 0


def test_score_etag_changes_with_a_finished_run(csm_client, scored):
    etag = csm_client.get(SCORE).headers["ETag"]
    adoption_scored(scored, 0.9, DAY + dt.timedelta(days=1))
    answer = csm_client.get(SCORE, HTTP_IF_NONE_MATCH=etag)
    assert (answer.status_code, answer.json()["overall"]) == (200, 90.0)
    assert answer.headers["ETag"] != etag


def test_portfolio_etag_changes_when_an_account_changes(csm, csm_client, scored):
    etag = csm_client.get(PORTFOLIO).headers["ETag"]
    accounts_upsert(rows=[{"external_id": "ACME-1", "segment": "Enterprise"}], user=csm)
    answer = csm_client.get(PORTFOLIO, HTTP_IF_NONE_MATCH=etag)
    assert (answer.status_code, [g["key"] for g in answer.json()["groups"]]) == (
        200,
        ["Enterprise"],
    )


def test_etag_differs_between_scopes(csm_client, leader, scored):
    mine = csm_client.get(PORTFOLIO).headers["ETag"]
    everyone = client_for(leader).get(PORTFOLIO)
    assert (everyone.status_code, everyone.headers["ETag"] != mine) == (200, True)
    assert client_for(leader).get(PORTFOLIO, HTTP_IF_NONE_MATCH=mine).status_code == 200


def test_an_error_carries_no_etag(csm_client, scored):
    answer = csm_client.get("/api/v1/accounts/NOPE/score/")
    assert (answer.status_code, "ETag" in answer.headers) == (404, False)


def test_last_modified_once_settled_and_if_modified_since(csm_client, scored):
    csm_client.get(SCORE)  # the first read fits the renewal likelihood (a write)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5), tick=False):
        first = csm_client.get(SCORE)
        last_modified = first.headers["Last-Modified"]
        again = csm_client.get(SCORE, HTTP_IF_MODIFIED_SINCE=last_modified)
    assert (first.status_code, again.status_code) == (200, 304)
    vary = {part.strip() for part in first.headers["Vary"].split(",")}
    assert vary >= {"Authorization", "Cookie"}


def test_last_modified_is_left_out_within_a_second_of_a_write(csm_client, scored):
    answer = csm_client.get(SCORE)  # just after the run that scored it
    assert (answer.status_code, "Last-Modified" in answer.headers) == (200, False)
