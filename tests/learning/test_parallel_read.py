"""Big value reads split across connections (PostgreSQL): the parts, read side by side, give
exactly what one read gives; inside a transaction the parts stay on its own connection, which
alone sees the transaction's uncommitted values."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from django.db import transaction

from scorecards import engine
from scorecards.learning import backtest, maths
from tests.accounts.factories import AccountFactory
from tests.scorecards.factories import MeasureFactory, MeasureValueFactory

DAY = dt.date(2026, 5, 1)


@pytest.fixture
def split_reads(settings, monkeypatch):
    """Every read of two or more probes split in three parts."""
    settings.READ_CONNECTIONS = 3
    monkeypatch.setattr(backtest, "PARALLEL_READ_MIN_PROBES", 2)


def probes_of(accounts) -> pd.DataFrame:
    ids = [account.pk for account in accounts]
    return pd.DataFrame(
        {maths.OUTCOME_ID: ids, engine.ACCOUNT_ID: ids, maths.SCORED_ON: pd.Timestamp(DAY)}
    )


def read(accounts, measure) -> list[tuple]:
    values = backtest.values_at_frame(probes=probes_of(accounts), measure_ids=[measure.pk])
    return sorted(
        (int(row.outcome_id), float(row.raw_value), row.as_of.date())
        for row in values.itertuples(index=False)
    )


def value(account, measure, raw: int, on: dt.date) -> None:
    MeasureValueFactory(
        account=account, measure=measure, raw_value=raw, score=Decimal(raw), as_of=on
    )


def test_a_read_split_across_connections_gives_each_probes_latest_value(
    postgres_transactional, split_reads
):
    measure = MeasureFactory(key="usage")
    accounts = [AccountFactory() for _ in range(7)]
    for number, account in enumerate(accounts):
        value(account, measure, 10 + number, DAY - dt.timedelta(days=3))
        value(account, measure, 50 + number, DAY - dt.timedelta(days=1))  # the latest
        value(account, measure, 90 + number, DAY + dt.timedelta(days=1))  # after the day
    accounts.append(AccountFactory())  # no value: no row

    assert read(accounts, measure) == [
        (account.pk, 50.0 + number, DAY - dt.timedelta(days=1))
        for number, account in enumerate(accounts[:7])
    ]


def test_a_split_read_inside_a_transaction_sees_its_uncommitted_values(
    postgres_transactional, split_reads
):
    measure = MeasureFactory(key="usage")
    accounts = [AccountFactory() for _ in range(4)]
    with transaction.atomic():
        for account in accounts:
            value(account, measure, 70, DAY)
        assert [raw for _, raw, _ in read(accounts, measure)] == [70.0] * 4
        transaction.set_rollback(True)
