"""Reads of usage metrics: what a derivation needs, in a few set-based queries."""

import io
from datetime import date

import pandas as pd
from django.db import connection

from accounts.models import Account
from metrics import copy_binary
from metrics.models import Metric, MetricValue

TABLE = MetricValue._meta.db_table
# The engine's metric value columns (scorecards.engine.windows.METRIC_VALUE_COLUMNS).
COLUMNS = ["account_id", "metric", "on", "value"]

WINDOW_ROWS = (
    f"SELECT account_id, metric_id, date, value FROM {TABLE} "
    "WHERE account_id BETWEEN %s AND %s AND metric_id = ANY(%s) AND date >= %s AND date <= %s"
)
# The latest value before the window of each account and metric: one probe per pair of the
# (account, metric, date) index, merged newest partition first, so it stops at the first hit.
EARLIER_ROWS = (
    "SELECT a.id, m.id, v.date, v.value FROM accounts_account a "
    "CROSS JOIN unnest(%s::bigint[]) AS m(id) "
    "CROSS JOIN LATERAL (SELECT date, value FROM " + TABLE + " mv "
    "  WHERE mv.account_id = a.id AND mv.metric_id = m.id AND mv.date < %s "
    "  ORDER BY mv.date DESC LIMIT 1) v "
    "WHERE a.id BETWEEN %s AND %s"
)


def metric_keys_declared() -> set[str]:
    return set(Metric.objects.values_list("key", flat=True))


def metric_ids_by_key() -> dict[str, int]:
    return dict(Metric.objects.values_list("key", "pk"))


def metric_values_frame(
    *,
    first_id: int,
    last_id: int,
    metrics: list[str],
    first_date: date,
    as_of: date,
    earlier_metrics: list[str] = (),
) -> pd.DataFrame:
    """The values a derivation for `as_of` reads, of the accounts with ids in
    [first_id, last_id]: every value of `metrics` dated first_date … as_of and, for
    `earlier_metrics` (those summed or counted, where an empty window is 0 only for an account
    that had values before), each account's latest value before first_date.
    Columns: account_id, metric (the key), on (datetime64), value."""
    ids = metric_ids_by_key()
    keys = {pk: key for key, pk in ids.items()}
    metric_ids = [ids[key] for key in metrics if key in ids]
    earlier_ids = [ids[key] for key in earlier_metrics if key in ids]
    raw = ["account_id", "metric_id", "on", "value"]
    if not metric_ids:
        frame = pd.DataFrame({column: [] for column in raw})
    elif connection.vendor == "postgresql":
        frame = _copy_values(WINDOW_ROWS, [first_id, last_id, metric_ids, first_date, as_of])
        if earlier_ids:
            earlier = _copy_values(EARLIER_ROWS, [earlier_ids, first_date, first_id, last_id])
            frame = pd.concat([earlier, frame], ignore_index=True)
    else:
        rows = MetricValue.objects.filter(
            account_id__gte=first_id,
            account_id__lte=last_id,
            metric_id__in=metric_ids,
            date__gte=first_date,
            date__lte=as_of,
        ).values_list("account_id", "metric_id", "date", "value")
        frame = pd.DataFrame(list(rows), columns=raw)
        if earlier_ids:
            before = (
                MetricValue.objects.filter(
                    account_id__gte=first_id,
                    account_id__lte=last_id,
                    metric_id__in=earlier_ids,
                    date__lt=first_date,
                )
                .order_by("account_id", "metric_id", "-date")
                .values_list("account_id", "metric_id", "date", "value")
            )
            earlier = pd.DataFrame(list(before), columns=raw).drop_duplicates(
                ["account_id", "metric_id"]
            )
            frame = pd.concat([earlier, frame], ignore_index=True)
    frame = frame.astype({"account_id": "int64", "metric_id": "int64", "value": float})
    # Values keep no foreign key to their account (MetricValue): an account deleted while its
    # values were being pushed can leave some behind, which must not be derived (the derived
    # measure values do have one, and a run would fail on them).
    accounts = Account.objects.filter(pk__gte=first_id, pk__lte=last_id).values_list("pk")
    frame = frame[frame["account_id"].isin([pk for (pk,) in accounts])]
    # The keys as a categorical: the window maths select one metric's rows per aggregate,
    # and comparing a chunk's 2.8 million keys as strings took a second of each chunk.
    codes, metric_ids_found = pd.factorize(frame["metric_id"])
    return pd.DataFrame(
        {
            "account_id": frame["account_id"].to_numpy(),
            "metric": pd.Categorical.from_codes(
                codes, categories=[keys[pk] for pk in metric_ids_found]
            ),
            "on": pd.to_datetime(frame["on"]).to_numpy(),
            "value": frame["value"].to_numpy(),
        },
        columns=COLUMNS,
    )


def _copy_values(sql: str, params: list) -> pd.DataFrame:
    """The rows (account_id, metric_id, date, value) of a query, through a binary COPY read
    with NumPy: a chunk's million window rows parsed as CSV took most of its read."""
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        query = cursor.mogrify(sql, params).decode()
        with connection.wrap_database_errors:  # see scorecards.selectors._copy_frame
            cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
    rows = copy_binary.value_rows_read(buffer.getvalue())
    return pd.DataFrame(
        {
            "account_id": rows["account_id"].astype("int64"),
            "metric_id": rows["metric_id"].astype("int64"),
            "on": copy_binary.days_to_datetime64(rows["date"]),
            "value": rows["value"].astype(float),
        }
    )
