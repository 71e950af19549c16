"""metrics.selectors.metric_values_frame: what a derivation reads."""

import datetime as dt

import pandas as pd
import pytest
from django.db import connection

from metrics.models import Metric
from metrics.selectors import metric_values_frame
from metrics.services import metric_values_ingest
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)


def test_metric_values_frame_leaves_out_the_values_of_a_deleted_account():
    acme, gone = AccountFactory(external_id="ACME"), AccountFactory(external_id="GONE")
    Metric.objects.create(key="logins", name="Logins")
    metric_values_ingest(
        rows=[
            {"account": "ACME", "metric": "logins", "date": "2026-11-19", "value": 1},
            {"account": "GONE", "metric": "logins", "date": "2026-11-19", "value": 2},
        ],
        user=None,
        today=TODAY,
    )
    # As a deletion racing a push of its values can leave it: the values keep no foreign key.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_account WHERE id = %s", [gone.pk])
    frame = metric_values_frame(
        first_id=min(acme.pk, gone.pk),
        last_id=max(acme.pk, gone.pk),
        metrics=["logins"],
        first_date=dt.date(2026, 11, 1),
        as_of=TODAY,
    )
    assert frame.to_dict("records") == [
        {"account_id": acme.pk, "metric": "logins", "on": pd.Timestamp("2026-11-19"), "value": 1.0}
    ]
