"""Derived measures in scoring runs: computed before scoring, stored as `computed` values, shown
in words; the scorecard document's `source`; pushed values for a derived measure refused."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command

from accounts.bulk import IngestionError
from metrics.models import Metric
from metrics.services import metric_values_ingest
from scorecards.api import scores
from scorecards.documents import scorecard_to_document
from scorecards.models import Measure, MeasureValue, Scorecard, ScoreSnapshot
from scorecards.services import ingestion
from scorecards.services.scoring import account_rescore
from tests.accounts.factories import AccountFactory

D = dt.date(2026, 11, 20)
DEPLOYMENT_SOURCE = {
    "metric": "active_users",
    "aggregate": "avg",
    "window_days": 28,
    "per": {"metric": "licensed_seats"},
}


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def derived_default(db):
    """The default scorecard with Deployment derived from active users per licensed seat."""
    for key, name in (("active_users", "Active users"), ("licensed_seats", "Licensed seats")):
        Metric.objects.create(key=key, name=name)
    scorecard = Scorecard.objects.get(is_default=True)
    document = scorecard_to_document(scorecard)
    document["groups"][0]["measures"][0]["source"] = DEPLOYMENT_SOURCE
    ingestion.scorecard_document_save(document=document, user=None, scorecard=scorecard)
    return scorecard


@pytest.fixture
def acme(db):
    return AccountFactory(external_id="ACME")


def push(rows):
    metric_values_ingest(
        rows=[
            {"account": "ACME", "metric": metric, "date": on, "value": value}
            for metric, on, value in rows
        ],
        user=None,
        today=D,
    )


def test_derived_measure_document_spells_out_source(derived_default):
    measure = scorecard_to_document(derived_default)["groups"][0]["measures"][0]
    assert measure["key"] == "deployment"
    assert measure["source"] == {
        "metric": "active_users",
        "aggregate": "avg",
        "window_days": 28,
        "per": {"metric": "licensed_seats", "aggregate": "last", "window_days": 1},
        "change": False,
    }
    # Pushed measures keep the document shape they had.
    assert "source" not in scorecard_to_document(derived_default)["groups"][0]["measures"][1]


def test_derived_measure_document_errors_name_the_field(db):
    Metric.objects.create(key="logins", name="Logins")
    scorecard = Scorecard.objects.get(is_default=True)
    document = scorecard_to_document(scorecard)
    document["groups"][0]["measures"][0]["source"] = {
        "metric": "page_views",
        "aggregate": "median",
        "window_days": 0,
        "per": {"metric": "logins", "window_days": 400},
        "change": "yes",
    }
    with pytest.raises(ValidationError) as raised:
        ingestion.scorecard_document_save(document=document, user=None, scorecard=scorecard)
    assert raised.value.message_dict == {
        "groups.0.measures.0.source.metric": ["No metric with key “page_views”; declare it first."],
        "groups.0.measures.0.source.aggregate": [
            "Unknown aggregate 'median'; use one of sum, avg, min, max, last, days_with_value."
        ],
        "groups.0.measures.0.source.window_days": [
            "window_days must be a whole number of days from 1 to 366, not 0."
        ],
        "groups.0.measures.0.source.per.window_days": [
            "window_days must be a whole number of days from 1 to 366, not 400."
        ],
        "groups.0.measures.0.source.change": ["change must be true or false."],
    }


def test_derived_measure_pushed_value_is_a_bad_row(derived_default, acme):
    with pytest.raises(IngestionError) as raised:
        ingestion.measure_values_ingest(
            rows=[
                {
                    "account": "ACME",
                    "measure": "deployment",
                    "raw_value": 0.5,
                    "as_of": "2026-11-19",
                }
            ],
            user=None,
        )
    assert raised.value.rows_as_dicts() == [
        {
            "row": 0,
            "field": "measure",
            "message": "Measure “deployment” is derived from metrics: its values are computed, "
            "not pushed. Push the metric values instead.",
        }
    ]


def test_derived_measure_scored_and_stored_with_its_inputs(derived_default, acme):
    push(
        [
            ("active_users", "2026-11-18", 40),
            ("active_users", "2026-11-19", 42),
            ("licensed_seats", "2026-11-20", 50),
        ]
    )
    account_rescore(account=acme, as_of=D)
    # avg(40, 42) = 41; 41 / 50 = 0.82; linear 0–1 → 82.00
    assert list(
        MeasureValue.objects.filter(account=acme, measure__key="deployment").values_list(
            "raw_value", "score", "as_of", "source", "comment"
        )
    ) == [
        (
            0.82,
            Decimal("82.00"),
            D,
            "computed",
            "avg active users (28 d) 41 ÷ licensed seats 50 = 0.82",
        )
    ]
    snapshot = ScoreSnapshot.objects.get(account=acme, as_of=D)
    deployment = [row for row in snapshot.measure_rows if row["key"] == "deployment"][0]
    assert (deployment["raw_value"], deployment["score"], deployment["as_of"]) == (
        0.82,
        82.0,
        "2026-11-20",
    )
    # Deployment is the only measure with a value: the overall is its score.
    assert snapshot.overall == Decimal("82.00")
    document = scores.score_document(account=acme, snapshot=snapshot)
    assert [m.get("inputs", "pushed") for m in document["measures"]][:3] == [
        "avg active users (28 d) 41 ÷ licensed seats 50 = 0.82",
        "pushed",
        "pushed",
    ]


def test_derived_measure_missing_window_is_missing_not_older_value(derived_default, acme):
    push([("active_users", "2026-11-01", 40), ("licensed_seats", "2026-11-01", 50)])
    account_rescore(account=acme, as_of=dt.date(2026, 11, 1))
    # On 20 November the seats' one-day window (19, 20] is empty: no raw value, although the
    # value computed for 1 November (age 19 d) is within Deployment's max age of 45 days.
    account_rescore(account=acme, as_of=D)
    snapshot = ScoreSnapshot.objects.get(account=acme, as_of=D)
    assert snapshot.band == "Not scored"
    assert snapshot.missing_measures[0] == "deployment"


def test_recompute_days_backfills_computed_values(derived_default, acme):
    push(
        [("active_users", f"2026-11-{day:02d}", 10 * day) for day in range(17, 21)]
        + [("licensed_seats", f"2026-11-{day:02d}", 100) for day in range(17, 21)]
    )
    call_command("recompute_scores", "--date", "2026-11-20", "--days", "3", "--no-progress")
    # 18: avg(170, 180) = 175 → 1.75; 19: avg(170…190) = 180 → 1.8; 20: avg(170…200) = 185
    assert list(
        MeasureValue.objects.filter(measure__key="deployment")
        .order_by("as_of")
        .values_list("as_of", "raw_value", "source")
    ) == [
        (dt.date(2026, 11, 18), 1.75, "computed"),
        (dt.date(2026, 11, 19), 1.8, "computed"),
        (dt.date(2026, 11, 20), 1.85, "computed"),
    ]


def test_computed_values_store_writes_only_what_changed(derived_default, acme):
    from healthscore.generations import SCORES, generations_get

    deployment = Measure.objects.get(key="deployment")

    def values(raw, score, comment):
        return pd.DataFrame(
            [(acme.pk, deployment.pk, D, raw, score, comment)],
            columns=ingestion.COMPUTED_VALUE_COLUMNS,
        )

    first = values(0.82, 82.0, "41 ÷ 50 = 0.82")
    again = values(0.82, 82.0, "41 ÷ 50 = 0.82")
    changed = values(0.84, 84.0, "42 ÷ 50 = 0.84")

    assert ingestion.computed_values_store(values=first) == 1
    before = generations_get([SCORES])
    assert ingestion.computed_values_store(values=again) == 0
    assert generations_get([SCORES]) == before  # nothing written, nothing made stale
    assert ingestion.computed_values_store(values=changed) == 1
    assert list(
        MeasureValue.objects.filter(account=acme).values_list(
            "raw_value", "score", "comment", "source"
        )
    ) == [(0.84, Decimal("84.00"), "42 ÷ 50 = 0.84", "computed")]
