"""Derived measures in a scoring run: their raw values computed from metric values for the
run's date and stored as measure values with source `computed` before scoring, so that history,
"what changed" and the backtest read them like any other value.

Set-based per chunk of accounts: one read of the windows' metric values (plus one probe per
account and summed metric for the "0 after earlier values" rule), the pure window maths
(scorecards.engine.windows), then one upsert of the computed values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from metrics.selectors import metric_values_frame
from scorecards import engine
from scorecards.choices import ValueSource
from scorecards.models import Measure, MeasureValue, ScorecardMeasure, ScoreSnapshot
from scorecards.services.ingestion import COMPUTED_VALUE_COLUMNS, computed_values_store


@dataclass(frozen=True)
class Derivation:
    """A chunk's derived values on one date (engine.DERIVED_COLUMNS) and the ids of every
    derived measure in use: for those, a run scores these values and nothing older."""

    values: pd.DataFrame
    measure_ids: frozenset[int]


def derived_sources_frame() -> tuple[pd.DataFrame, dict[int, Measure]]:
    """The `source` of every derived measure used by a scorecard, as the engine's sources
    frame (engine.SOURCE_COLUMNS), and those measures by id."""
    used = ScorecardMeasure.objects.values_list("measure_id", flat=True)
    measures = {
        measure.pk: measure
        for measure in Measure.objects.filter(pk__in=used, source__isnull=False)
        if measure.source
    }
    rows = []
    for measure in measures.values():
        source = measure.source
        per = source.get("per") or {}
        rows.append(
            (
                measure.pk,
                source["metric"],
                source["aggregate"],
                int(source["window_days"]),
                per.get("metric"),
                per.get("aggregate"),
                per.get("window_days"),
                bool(source.get("change", False)),
            )
        )
    return pd.DataFrame(rows, columns=engine.SOURCE_COLUMNS), measures


def derivation_compute(
    *, as_of: date, first_id: int, last_id: int, account_ids: list[int] | None = None
) -> Derivation:
    """Every derived measure's raw value on `as_of` for the accounts in [first_id, last_id]
    (or only `account_ids`). Reads only."""
    sources, measures = derived_sources_frame()
    if sources.empty:
        return Derivation(
            values=engine.derived_values(
                pd.DataFrame(columns=engine.METRIC_VALUE_COLUMNS), sources, as_of=as_of
            ),
            measure_ids=frozenset(),
        )
    metrics = sorted(set(sources["metric"]) | set(sources["per_metric"].dropna()))
    summed = sources[sources["aggregate"].isin(["sum", "days_with_value"])]["metric"].tolist()
    summed += sources[sources["per_aggregate"].isin(["sum", "days_with_value"])][
        "per_metric"
    ].tolist()
    values = metric_values_frame(
        first_id=first_id,
        last_id=last_id,
        metrics=metrics,
        first_date=engine.derivation_first_date(sources, as_of=as_of),
        as_of=as_of,
        earlier_metrics=sorted(set(summed)),
    )
    if account_ids is not None:
        values = values[values["account_id"].isin(account_ids)]
    derived = engine.derived_values(values, sources, as_of=as_of)
    return Derivation(values=derived, measure_ids=frozenset(measures))


def derivation_write(*, derivation: Derivation) -> int:
    """Store the derived raw values as measure values (source computed, the inputs in words as
    the comment), each scored with its measure's mapping (rule 1). Idempotent: the same
    values again change nothing. Returns how many values were given. Call inside a
    transaction."""
    derived = derivation.values
    if derived.empty:
        return 0
    measures = Measure.objects.in_bulk(list(derivation.measure_ids))
    scored = []
    for measure_id, rows in derived.groupby(engine.MEASURE_ID, sort=True):
        measure = measures[int(measure_id)]
        mapped = engine.measure_scores_from_raw(
            rows[engine.RAW_VALUE].reset_index(drop=True),
            measure.mapping_type,
            lo=measure.lo,
            hi=measure.hi,
            higher_is_better=measure.higher_is_better,
            steps=measure.steps,
        )
        scored.append(
            pd.DataFrame(
                {
                    "account_id": rows[engine.ACCOUNT_ID].to_numpy(dtype="int64"),
                    "measure_id": measure.pk,
                    "as_of": rows[engine.AS_OF].to_numpy(),
                    "raw_value": rows[engine.RAW_VALUE].to_numpy(dtype=float),
                    "score": engine.round_half_up(mapped),
                    "comment": rows[engine.INPUTS].to_numpy(dtype=object),
                },
                columns=COMPUTED_VALUE_COLUMNS,
            )
        )
    computed_values_store(values=pd.concat(scored, ignore_index=True))
    return len(derived)


def derivation_overlay(values: pd.DataFrame, *, derivation: Derivation) -> pd.DataFrame:
    """The latest values (engine input) with every derived measure's value replaced by the
    run's own: a derived measure with no raw value on this date is missing, even when an
    older computed value exists."""
    if not derivation.measure_ids:
        return values
    kept = values[~values[engine.MEASURE_ID].isin(list(derivation.measure_ids))]
    fresh = derivation.values.assign(**{engine.VALUE_ID: 0})[
        [engine.ACCOUNT_ID, engine.MEASURE_ID, engine.RAW_VALUE, engine.AS_OF, engine.VALUE_ID]
    ]
    return pd.concat([kept, fresh.astype(kept.dtypes.to_dict())], ignore_index=True)


def snapshot_inputs(snapshot: ScoreSnapshot) -> dict[str, str | None]:
    """The inputs in words of each derived measure of a snapshot, by key (None where the
    measure had no value that day); pushed measures are absent. Two queries."""
    return snapshots_inputs([snapshot])[snapshot.pk]


def snapshots_inputs(snapshots: list[ScoreSnapshot]) -> dict[int, dict[str, str | None]]:
    """`snapshot_inputs` of several snapshots of one account, by snapshot id, in two queries
    whatever their number (a page's query count must not grow with the history)."""
    keys = {row["key"] for snapshot in snapshots for row in snapshot.measure_rows}
    derived_keys = set(
        Measure.objects.filter(key__in=sorted(keys), source__isnull=False)
        .exclude(source={})
        .values_list("key", flat=True)
    )
    wanted = {
        (row["key"], date.fromisoformat(row["as_of"]))
        for snapshot in snapshots
        for row in snapshot.measure_rows
        if row["key"] in derived_keys and row["as_of"]
    }
    account_ids = sorted({snapshot.account_id for snapshot in snapshots})
    values = MeasureValue.objects.filter(
        account_id__in=account_ids,
        source=ValueSource.COMPUTED,
        measure__key__in=sorted({key for key, _ in wanted}),
        as_of__in=sorted({on for _, on in wanted}),
    ).values_list("account_id", "measure__key", "as_of", "comment")
    found = {(account_id, key, on): comment for account_id, key, on, comment in values}
    return {
        snapshot.pk: {
            row["key"]: found.get(
                (snapshot.account_id, row["key"], date.fromisoformat(row["as_of"]))
                if row["as_of"]
                else None
            )
            for row in snapshot.measure_rows
            if row["key"] in derived_keys
        }
        for snapshot in snapshots
    }


def inputs_on_days(*, account_id: int, days: list[date]) -> dict[date, dict[str, str]]:
    """For each of ``days``, the inputs in words of each derived measure's value that counted
    for an account that day (rule 2: the latest computed value dated on or before it), by key.
    Used for the earlier side of "what changed", which may be a rescore rather than a
    snapshot. One query whatever the number of days."""
    rows = (
        list(
            MeasureValue.objects.filter(
                account_id=account_id, source=ValueSource.COMPUTED, as_of__lte=max(days)
            )
            .exclude(measure__source={})
            .filter(measure__source__isnull=False)
            .order_by("measure__key", "-as_of", "-pk")
            .values_list("measure__key", "as_of", "comment")
        )
        if days
        else []
    )
    return _counted_on_days(rows, days)


def account_inputs(
    *, snapshot: ScoreSnapshot, days: list[date], derived_keys: set[str]
) -> tuple[dict[str, str | None], dict[date, dict[str, str]]]:
    """`snapshot_inputs` of a snapshot and `inputs_on_days` of its account, in one query: what
    the account page's breakdown and "what changed" both show. `derived_keys`: the measures
    derived now."""
    rows = (
        list(
            MeasureValue.objects.filter(
                account_id=snapshot.account_id,
                source=ValueSource.COMPUTED,
                measure__key__in=sorted(derived_keys),
                as_of__lte=max([snapshot.as_of, *days]),
            )
            .order_by("measure__key", "-as_of", "-pk")
            .values_list("measure__key", "as_of", "comment")
        )
        if derived_keys
        else []
    )
    on_day = {(key, as_of): comment for key, as_of, comment in rows}
    of_snapshot = {
        row["key"]: on_day.get((row["key"], date.fromisoformat(row["as_of"])))
        if row["as_of"]
        else None
        for row in snapshot.measure_rows
        if row["key"] in derived_keys
    }
    return of_snapshot, _counted_on_days(rows, days)


def _counted_on_days(
    rows: list[tuple[str, date, str]], days: list[date]
) -> dict[date, dict[str, str]]:
    """Per day, each key's latest comment dated on or before it; `rows` (key, as_of,
    comment) newest first within each key."""
    found: dict[date, dict[str, str]] = {day: {} for day in days}
    for day in days:
        for key, as_of, comment in rows:
            if as_of <= day:
                found[day].setdefault(key, comment)
    return found


def inputs_on(*, account_id: int, on: date) -> dict[str, str]:
    """The inputs of one day (see inputs_on_days)."""
    return inputs_on_days(account_id=account_id, days=[on])[on]
