"""Learning from renewals: backtest, optimizer and renewal likelihood (PRODUCT.md).

Each renewal outcome of an account assigned to a scorecard is scored as of renewal_date − H
(H = the horizon, 90 days by default) by the same pure engine that scores accounts every night,
from the measure-value history rather than from stored snapshots, so any candidate weights can
be tested. The maths (metrics, hold-out split, optimizer, calibration) is in
``scorecards/maths.py``; this module loads the frames and calls the engine.

Set-based throughout: the outcomes are one query, their values one more (on PostgreSQL one
probe of the ``measurevalue_latest`` index per outcome and measure, streamed with COPY), and all
outcomes are scored in ONE engine call, whatever their dates (see
``maths.values_on_common_date``).

Choices:
- Assignment uses each account's current segment, tier and lifecycle and the scorecards'
  current assignment rules (history of those is not kept).
- The overall score after exceptions is what the AUC and the bands are about.
- Not-scored outcomes are counted (``n_not_scored``) and excluded from AUCs and bands.
- The renewal likelihood is P(not churned): downgraded and expanded renewals count as renewed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import RenewalOutcome
from scorecards import engine, selectors
from scorecards.learning import maths
from scorecards.models import MeasureValue, Scorecard

DEFAULT_HORIZON_DAYS = 90
# Accounts per query when values are read without PostgreSQL's LATERAL probes (SQLite).
_IDS_PER_QUERY = 5_000
# Below this many probes one connection reads the values in well under a second.
PARALLEL_READ_MIN_PROBES = 20_000

Progress = Callable[[float, str], None]


def no_progress(fraction: float, stage: str) -> None:
    """The default progress callback: report nothing."""


# --- Definitions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Definition:
    """One scorecard's definition as the engine's frames (see engine.score_accounts).

    keys: measure keys in scorecard order; group_of: group name by measure key.
    """

    scorecard_id: int
    measures: pd.DataFrame
    groups: pd.DataFrame
    scorecards: pd.DataFrame
    bands: pd.DataFrame
    exception_rules: pd.DataFrame

    @property
    def keys(self) -> list[str]:
        return self.measures[engine.MEASURE_KEY].tolist()

    @property
    def group_of(self) -> dict[str, str]:
        names = self.groups.set_index(engine.GROUP_ID)[engine.GROUP_NAME]
        return dict(
            zip(
                self.measures[engine.MEASURE_KEY],
                self.measures[engine.GROUP_ID].map(names),
                strict=True,
            )
        )

    def nominal_weights(self) -> dict[str, float]:
        """Each measure's nominal effective weight in % (rule 5 with every measure present)."""
        share = self.groups.set_index(engine.GROUP_ID)[engine.WEIGHT].astype(float)
        share = share / share.sum()
        weight = self.measures[engine.WEIGHT].astype(float)
        in_group = weight / weight.groupby(self.measures[engine.GROUP_ID]).transform("sum")
        percent = self.measures[engine.GROUP_ID].map(share) * in_group * 100.0
        rounded = engine.round_half_up(percent.to_numpy())
        return dict(zip(self.keys, rounded.tolist(), strict=True))

    def with_weights(
        self, *, measure_weights: dict[str, float], group_weights: dict[str, float]
    ) -> Definition:
        """The same definition with other weights (by measure key and group name)."""
        measures, groups = maths.frames_with_weights(
            self.measures,
            self.groups,
            measure_weights=measure_weights,
            group_weights=group_weights,
        )
        return Definition(
            scorecard_id=self.scorecard_id,
            measures=measures,
            groups=groups,
            scorecards=self.scorecards,
            bands=self.bands,
            exception_rules=self.exception_rules,
        )


def definition_of(frames: selectors.ScorecardFrames, scorecard_id: int) -> Definition:
    """One scorecard's rows of selectors.scorecard_frames()."""

    def own(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame[engine.SCORECARD_ID] == scorecard_id].reset_index(drop=True)

    return Definition(
        scorecard_id=scorecard_id,
        measures=own(frames.measures),
        groups=own(frames.groups),
        scorecards=own(frames.scorecards),
        bands=own(frames.bands),
        exception_rules=own(frames.exception_rules),
    )


def scorecard_definition(*, scorecard: Scorecard) -> Definition:
    """The scorecard's current definition, read from the database (six small queries)."""
    return definition_of(selectors.scorecard_frames(), scorecard.pk)


# --- Loading -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BacktestSample:
    """The outcomes of a scorecard's accounts and the values to score them with.

    outcomes: ``outcome_id, account_id, renewal_date, outcome, arr_before, scored_on,
    is_churned, is_holdout``, sorted by outcome_id. values: the engine's values frame with one
    pseudo account per outcome (account_id = outcome_id), shifted so that scoring on ``as_of``
    scores each outcome on its own ``scored_on``.
    """

    scorecard_id: int
    horizon_days: int
    downgraded_is_churned: bool
    outcomes: pd.DataFrame
    values: pd.DataFrame
    as_of: date


def backtest_sample_load(
    *,
    scorecard: Scorecard,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    downgraded_is_churned: bool = False,
) -> BacktestSample:
    """Every renewal outcome of an account the scorecard is assigned to (whatever the account's
    status: churned accounts are the point), with what it is scored from. Queries: the
    scorecards' frames, the outcomes (one join with their accounts) and the values (one query
    on PostgreSQL). Reads only."""
    frames = selectors.scorecard_frames()
    rows = RenewalOutcome.objects.order_by("pk").values_list(
        "pk",
        "account_id",
        "renewal_date",
        "outcome",
        "arr_before",
        "account__segment",
        "account__tier",
        "account__lifecycle",
    )
    every = pd.DataFrame(
        list(rows),
        columns=[
            maths.OUTCOME_ID,
            engine.ACCOUNT_ID,
            maths.RENEWAL_DATE,
            maths.OUTCOME,
            "arr_before",
            engine.SEGMENT,
            engine.TIER,
            engine.LIFECYCLE,
        ],
    )
    accounts = every.drop_duplicates(engine.ACCOUNT_ID)
    assigned = engine.assign_scorecards(accounts, frames.assignment_rules)
    ours = assigned.loc[assigned[engine.SCORECARD_ID] == scorecard.pk, engine.ACCOUNT_ID]
    outcomes = every[every[engine.ACCOUNT_ID].isin(ours)].reset_index(drop=True)
    return backtest_sample_build(
        scorecard_id=scorecard.pk,
        outcomes=outcomes.drop(columns=[engine.SEGMENT, engine.TIER, engine.LIFECYCLE]),
        measure_ids=sorted(set(definition_of(frames, scorecard.pk).measures[engine.MEASURE_ID])),
        horizon_days=horizon_days,
        downgraded_is_churned=downgraded_is_churned,
    )


def backtest_sample_build(
    *,
    scorecard_id: int,
    outcomes: pd.DataFrame,
    measure_ids: list[int],
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    downgraded_is_churned: bool = False,
) -> BacktestSample:
    """A sample from outcomes already chosen (``outcome_id, account_id, renewal_date, outcome,
    arr_before``, sorted by outcome_id): their scoring dates, labels and hold-out, and their
    values (one query, see values_at_frame) moved to one common date."""
    renewal = engine.days(outcomes[maths.RENEWAL_DATE])
    # An outcome dated outside what pandas holds (stored before healthscore.dates' window)
    # cannot be scored on any date: it is left out of the sample.
    held = renewal.notna().to_numpy()
    outcomes = outcomes[held].reset_index(drop=True)
    renewal = renewal[held].reset_index(drop=True)
    outcomes = outcomes.assign(
        **{
            maths.RENEWAL_DATE: renewal,
            "arr_before": outcomes["arr_before"].astype(float),
            maths.SCORED_ON: renewal - pd.Timedelta(days=horizon_days),
            maths.IS_CHURNED: maths.churn_labels(
                outcomes[maths.OUTCOME], downgraded_is_churned=downgraded_is_churned
            ),
            maths.IS_HOLDOUT: maths.holdout_mask(renewal, outcomes[maths.OUTCOME_ID]),
        }
    )
    as_of = outcomes[maths.SCORED_ON].max().date() if len(outcomes) else timezone.localdate()
    values = values_at_frame(
        probes=outcomes[[maths.OUTCOME_ID, engine.ACCOUNT_ID, maths.SCORED_ON]],
        measure_ids=measure_ids,
    )
    return BacktestSample(
        scorecard_id=scorecard_id,
        horizon_days=horizon_days,
        downgraded_is_churned=downgraded_is_churned,
        outcomes=outcomes,
        values=maths.values_on_common_date(values, outcomes, as_of=pd.Timestamp(as_of)),
        as_of=as_of,
    )


def values_at_frame(*, probes: pd.DataFrame, measure_ids: list[int]) -> pd.DataFrame:
    """Values that decide rule 2 for each probe: ``outcome_id, account_id, scored_on`` (the
    probe id, whose account, on which date).

    Output: ``outcome_id, measure_id, raw_value, as_of, value_id``. On PostgreSQL exactly the
    latest value on or before ``scored_on`` of each (probe, measure) — one LATERAL probe of the
    covering index each, in one query streamed with COPY. Elsewhere the accounts' history up to
    the latest ``scored_on`` (a query per 5,000 accounts); the engine then picks the latest.
    """
    columns = [
        maths.OUTCOME_ID,
        engine.MEASURE_ID,
        engine.RAW_VALUE,
        engine.AS_OF,
        engine.VALUE_ID,
    ]
    if probes.empty or not measure_ids:
        return pd.DataFrame({column: [] for column in columns}).astype(
            {engine.AS_OF: "datetime64[ns]"}
        )
    if connection.vendor == "postgresql":
        # Probes outside, measures inside: an account's measures sit side by side in the
        # index, so its ten probes read the same few pages.
        sql = (
            "SELECT p.probe_id, x.measure_id, x.raw_value, x.as_of, x.id "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::date[]) AS p(probe_id, account_id, day) "
            "CROSS JOIN LATERAL (SELECT m.measure_id, v.raw_value, v.as_of, v.id "
            "  FROM unnest(%s::bigint[]) AS m(measure_id) "
            "  CROSS JOIN LATERAL (SELECT raw_value, as_of, id FROM scorecards_measurevalue mv "
            "    WHERE mv.account_id = p.account_id AND mv.measure_id = m.measure_id "
            "    AND mv.as_of <= p.day ORDER BY mv.as_of DESC, mv.id DESC LIMIT 1) v) x"
        )
        probes = probes.sort_values([engine.ACCOUNT_ID, maths.OUTCOME_ID])
        days = engine.days(probes[maths.SCORED_ON]).dt.strftime("%Y-%m-%d")
        measures = _array_literal(pd.Series(measure_ids, dtype=np.int64))
        # Big reads are split into runs of accounts, read side by side (selectors.copy_frames).
        parts = settings.READ_CONNECTIONS if len(probes) >= PARALLEL_READ_MIN_PROBES else 1
        params_list = [
            [
                _array_literal(probes[maths.OUTCOME_ID].iloc[part].astype(np.int64)),
                _array_literal(probes[engine.ACCOUNT_ID].iloc[part].astype(np.int64)),
                _array_literal(days.iloc[part]),
                measures,
            ]
            for part in np.array_split(np.arange(len(probes)), parts)
        ]
        values = selectors.copy_frames(sql, params_list, columns)
    else:
        values = _history_frame(probes=probes, measure_ids=measure_ids, columns=columns)
    values[engine.AS_OF] = engine.days(values[engine.AS_OF])
    values = values[values[engine.AS_OF].notna()].reset_index(drop=True)  # see engine.days
    return values.astype(
        {
            maths.OUTCOME_ID: "int64",
            engine.MEASURE_ID: "int64",
            engine.RAW_VALUE: float,
            engine.VALUE_ID: "int64",
        }
    )


def _array_literal(items: pd.Series) -> str:
    """A PostgreSQL array literal ('{1,2,3}') of ints or ISO dates: one short string to pass,
    where a Python list of 100,000 items costs seconds to adapt item by item."""
    return "{" + ",".join(items.astype(str).tolist()) + "}"


def _history_frame(
    *, probes: pd.DataFrame, measure_ids: list[int], columns: list[str]
) -> pd.DataFrame:
    """The portable path of values_at_frame: each probe's account's history up to the latest
    probe date, repeated for every probe of that account."""
    account_ids = sorted(set(probes[engine.ACCOUNT_ID].astype(int)))
    last_day = pd.to_datetime(probes[maths.SCORED_ON]).max().date()
    parts = []
    for start in range(0, len(account_ids), _IDS_PER_QUERY):
        rows = MeasureValue.objects.filter(
            account_id__in=account_ids[start : start + _IDS_PER_QUERY],
            measure_id__in=measure_ids,
            as_of__lte=last_day,
        ).values_list("account_id", "measure_id", "raw_value", "as_of", "id")
        parts.append(
            pd.DataFrame(
                list(rows),
                columns=[engine.ACCOUNT_ID, *columns[1:]],
            )
        )
    history = pd.concat(parts, ignore_index=True)
    history[engine.AS_OF] = engine.days(history[engine.AS_OF])
    merged = history.merge(
        probes[[maths.OUTCOME_ID, engine.ACCOUNT_ID, maths.SCORED_ON]], on=engine.ACCOUNT_ID
    )
    merged = merged[merged[engine.AS_OF] <= pd.to_datetime(merged[maths.SCORED_ON])]
    return merged[columns].reset_index(drop=True)


# --- Scoring ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScoredOutcomes:
    """The sample's outcomes with ``overall`` and ``band`` added (NaN / "Not scored" when not
    scored), and their features (one column per measure key, same row order)."""

    outcomes: pd.DataFrame
    features: pd.DataFrame


def backtest_score(*, sample: BacktestSample, definition: Definition) -> ScoredOutcomes:
    """Score every outcome of the sample with the definition, in one engine call."""
    ids = sample.outcomes[maths.OUTCOME_ID].to_numpy(dtype=np.int64)
    if len(ids) == 0:
        empty = sample.outcomes.assign(**{maths.OVERALL: [], maths.BAND: []})
        return ScoredOutcomes(outcomes=empty, features=pd.DataFrame(columns=definition.keys))
    result = engine.score_accounts(
        values=sample.values,
        measures=definition.measures,
        groups=definition.groups,
        scorecards=definition.scorecards,
        bands=definition.bands,
        exception_rules=definition.exception_rules,
        assignments=pd.DataFrame(
            {engine.ACCOUNT_ID: ids, engine.SCORECARD_ID: definition.scorecard_id}
        ),
        as_of=sample.as_of,
    )
    accounts = result.accounts.set_index(engine.ACCOUNT_ID).reindex(ids)
    outcomes = sample.outcomes.assign(
        **{
            maths.OVERALL: accounts[engine.OVERALL].to_numpy(dtype=float),
            maths.BAND: accounts[engine.BAND].to_numpy(dtype=object),
        }
    )
    features = maths.feature_matrix(result.measures, ids, definition.keys)
    return ScoredOutcomes(outcomes=outcomes, features=features)


def backtest_report_of(*, scored: ScoredOutcomes, definition: Definition) -> dict:
    """maths.backtest_report of scored outcomes."""
    return maths.backtest_report(
        scored.outcomes, scored.features, definition.bands[[engine.LABEL, engine.MIN]]
    )


# --- Services ------------------------------------------------------------------------------------
def _header(*, scorecard: Scorecard, sample: BacktestSample) -> dict:
    return {
        "scorecard": scorecard.name,
        "scorecard_id": scorecard.pk,
        "scorecard_version": scorecard.version,
        "horizon_days": sample.horizon_days,
        "downgraded_is_churned": sample.downgraded_is_churned,
    }


def scorecard_backtest(
    *,
    scorecard: Scorecard,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    downgraded_is_churned: bool = False,
    definition: Definition | None = None,
) -> dict:
    """Backtest the scorecard (or another ``definition`` of it, e.g. a draft) on its renewal
    outcomes. Returns the header (scorecard, version, horizon) and maths.backtest_report's
    figures. Reads only."""
    definition = definition or scorecard_definition(scorecard=scorecard)
    sample = backtest_sample_load(
        scorecard=scorecard,
        horizon_days=horizon_days,
        downgraded_is_churned=downgraded_is_churned,
    )
    scored = backtest_score(sample=sample, definition=definition)
    return {
        **_header(scorecard=scorecard, sample=sample),
        **backtest_report_of(scored=scored, definition=definition),
    }


def scorecard_backtest_compare(
    *,
    scorecard: Scorecard,
    definitions: dict[str, Definition],
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    downgraded_is_churned: bool = False,
) -> dict:
    """Backtest several definitions of one scorecard (e.g. "current" and "draft") on the same
    outcomes, loaded once: the header, the outcome counts, and per name the figures that
    depend on the weights (auc, auc_train, auc_holdout, n_scored, bands, bands_holdout)."""
    sample = backtest_sample_load(
        scorecard=scorecard,
        horizon_days=horizon_days,
        downgraded_is_churned=downgraded_is_churned,
    )
    reports = {
        name: backtest_report_of(
            scored=backtest_score(sample=sample, definition=definition), definition=definition
        )
        for name, definition in definitions.items()
    }
    first = next(iter(reports.values()))
    return {
        **_header(scorecard=scorecard, sample=sample),
        **{key: first[key] for key in _OUTCOME_COUNTS},
        **{name: _comparable(report) for name, report in reports.items()},
    }


_OUTCOME_COUNTS = ("n_outcomes", "n_churned", "churn_rate", "holdout_size", "train_size")


def _comparable(report: dict) -> dict:
    keys = ("auc", "auc_train", "auc_holdout", "n_scored", "bands", "bands_holdout")
    return {key: report[key] for key in keys}


def _holdout_uncertainty(
    *, current: ScoredOutcomes, suggested: ScoredOutcomes
) -> tuple[list | None, dict]:
    """The held-out AUC's bootstrap interval with the current weights, and whether the
    suggested weights beat them: only when the interval of (suggested − current) held-out AUC,
    on the same resamples, lies above 0. Otherwise the suggestion is not offered, and
    ``not_better_reason`` says why."""
    held = current.outcomes[maths.IS_HOLDOUT].to_numpy(dtype=bool)
    churned = current.outcomes[maths.IS_CHURNED].to_numpy(dtype=bool)[held]
    now = current.outcomes[maths.OVERALL].to_numpy(dtype=float)[held]
    then = suggested.outcomes[maths.OVERALL].to_numpy(dtype=float)[held]
    own = maths.auc_bootstrap(churned, now)
    paired = maths.auc_bootstrap(churned, then, baseline=now)
    gain = [paired["difference_low"], paired["difference_high"]]
    is_better = gain[0] is not None and gain[0] > 0
    if gain[0] is None:
        reason = (
            "The held-out outcomes do not hold both churned and renewed accounts, so the "
            "suggested weights cannot be compared with the current ones."
        )
    elif is_better:
        reason = ""
    else:
        reason = (
            f"Over {paired['resamples']:,} bootstrap resamples of the {int(held.sum())} held-out "
            f"outcomes, the suggested weights' held-out AUC minus the current weights' lies "
            f"between {gain[0]:+.4f} and {gain[1]:+.4f} (95 %): the suggestion is not reliably "
            "better, so it is not offered. More renewal outcomes narrow the interval."
        )
    interval = None if own["low"] is None else [own["low"], own["high"]]
    suggested_interval = None if paired["low"] is None else [paired["low"], paired["high"]]
    return interval, {
        "auc_holdout_interval": suggested_interval,
        "auc_holdout_gain_interval": None if gain[0] is None else gain,
        "is_better": is_better,
        "not_better_reason": reason,
    }


def scorecard_optimize(
    *,
    scorecard: Scorecard,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    downgraded_is_churned: bool = False,
    C: float = maths.OPTIMIZER_C,
    progress: Progress = no_progress,
) -> dict:
    """Backtest the current weights, fit suggested ones on the training part and backtest them.

    Output (JSON-ready): the header (scorecard, version, horizon) and sample_optimize's report.
    Raises maths.InsufficientOutcomes when the training part is too small. Reads only: a
    suggestion becomes a draft through scorecards.services.drafts.
    """
    definition = scorecard_definition(scorecard=scorecard)
    progress(0.05, "Loading outcomes and values")
    sample = backtest_sample_load(
        scorecard=scorecard,
        horizon_days=horizon_days,
        downgraded_is_churned=downgraded_is_churned,
    )
    report = sample_optimize(sample=sample, definition=definition, C=C, progress=progress)
    return {**_header(scorecard=scorecard, sample=sample), **report}


def sample_optimize(
    *,
    sample: BacktestSample,
    definition: Definition,
    C: float = maths.OPTIMIZER_C,
    progress: Progress = no_progress,
) -> dict:
    """The optimizer on a loaded sample (pure computation, no query).

    Output: ``n_outcomes, n_churned, churn_rate, holdout_size, train_size, n_scored,
    n_not_scored``; ``current`` and ``suggested`` each with ``auc, auc_train, auc_holdout,
    n_scored, bands, bands_holdout``, and in ``suggested`` also ``weights`` (measure key →
    weight, % of the total) and ``group_weights`` (group name → weight); ``measures`` (``key,
    group, auc, auc_holdout, present, current_weight, suggested_weight`` — weights as nominal
    effective %). Raises maths.InsufficientOutcomes when the training part is too small.
    """
    progress(0.4, "Scoring with the current weights")
    current = backtest_score(sample=sample, definition=definition)
    report = backtest_report_of(scored=current, definition=definition)

    progress(0.6, "Fitting suggested weights")
    is_training = maths.training_rows(
        current.features, current.outcomes[maths.IS_HOLDOUT].to_numpy()
    )
    raw = maths.fit_measure_weights(
        current.features[is_training],
        current.outcomes.loc[is_training, maths.IS_CHURNED].to_numpy(),
        C=C,
    )
    weights = maths.suggested_weights(raw)
    measure_weights = {key: float(weight) for key, weight in weights.items()}
    group_weights = maths.implied_group_weights(measure_weights, definition.group_of)
    suggested_definition = definition.with_weights(
        measure_weights=measure_weights, group_weights=group_weights
    )

    progress(0.75, "Scoring with the suggested weights")
    suggested = backtest_score(sample=sample, definition=suggested_definition)
    suggested_report = backtest_report_of(scored=suggested, definition=suggested_definition)
    current_nominal = definition.nominal_weights()
    suggested_nominal = suggested_definition.nominal_weights()
    group_of = definition.group_of
    progress(0.9, "Bootstrapping the held-out AUC")
    current_interval, suggestion_check = _holdout_uncertainty(current=current, suggested=suggested)
    progress(1.0, "Done")
    return {
        **{key: report[key] for key in (*_OUTCOME_COUNTS, "n_scored", "n_not_scored")},
        "current": {**_comparable(report), "auc_holdout_interval": current_interval},
        "suggested": {
            "weights": measure_weights,
            "group_weights": group_weights,
            **_comparable(suggested_report),
            **suggestion_check,
        },
        "measures": [
            {
                **measure,
                "group": group_of[measure["key"]],
                "current_weight": current_nominal[measure["key"]],
                "suggested_weight": suggested_nominal[measure["key"]],
            }
            for measure in report["measures"]
        ],
    }
