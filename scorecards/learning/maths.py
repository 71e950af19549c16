"""Learning from renewals, the maths: PRODUCT.md "Learning from renewals".

Pure like ``engine.py``: pandas, numpy and scikit-learn only — no Django, no I/O, no clock.
The services in ``scorecards/services/backtest.py`` load the frames, score them with the engine
and hand the results here.

Vocabulary and choices (each one is a rule of the product, in one function):

- **Positive class** = churned (:func:`churn_labels`); downgraded counts as churned only when
  asked. A *health* score ranks churn low, so every AUC here is ``roc_auc_score(y, −score)``
  (:func:`score_auc`); 0.5 is chance, 1.0 perfect.
- **Not scored** outcomes (no group present, or coverage below the minimum) have no score: they
  are counted and left out of every AUC and band figure. A measure's own AUC uses the outcomes
  where that measure was present (not missing, not stale).
- **Hold-out** (:func:`holdout_mask`): the latest 30 % of *all* outcomes by renewal date
  (ties by outcome id), so that the split is the same for every candidate set of weights.
- **Optimizer** (:func:`fit_measure_weights`): scikit-learn's L2-regularised
  ``LogisticRegression`` on the training part's measure scores (0–1), missing scores imputed
  with the training mean of the measure. Non-negative weights by an *active set*: while some
  measure's coefficient says "a higher score means more churn", the most wrong-signed measure is
  dropped (weight 0) and the model refitted. Weights = −coefficient.
- **Renewal likelihood** (:func:`calibration_fit`): Platt scaling — a logistic regression of
  "renewed" on the overall score, with a weak L2 penalty that only matters when the outcomes
  are perfectly separated (the unpenalised fit would then diverge).

Frames (column names are the module constants below and the engine's):

- outcomes: ``outcome_id, renewal_date, is_churned, is_holdout, overall, band``
  (overall NaN = not scored).
- features: one row per outcome (same order), one column per measure key, the measure's 0–100
  score where present, NaN where missing or stale.
- bands: ``label, min`` of one scorecard.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import rankdata
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from scorecards import engine

OUTCOME_ID = "outcome_id"
RENEWAL_DATE = "renewal_date"
OUTCOME = "outcome"
IS_CHURNED = "is_churned"
IS_HOLDOUT = "is_holdout"
SCORED_ON = "scored_on"
OVERALL = engine.OVERALL
BAND = engine.BAND
LABEL = engine.LABEL
MIN = engine.MIN

CHURNED = "churned"
DOWNGRADED = "downgraded"
HOLDOUT_SHARE = 0.3

# The optimizer refuses to fit on less than this (training part, scored outcomes).
MIN_TRAINING_OUTCOMES = 20
MIN_TRAINING_PER_CLASS = 5
OPTIMIZER_C = 1.0
# Weights are stored with two decimals and must be positive (rule 10); a measure the optimizer
# gives nothing keeps this much, so that removing a measure stays a decision of CS Ops.
MIN_WEIGHT = 0.01

# Renewal likelihood is never shown with fewer scored outcomes, or fewer churned among them.
MIN_LIKELIHOOD_OUTCOMES = 50
MIN_LIKELIHOOD_CHURNED = 10
PLATT_C = 100.0
CALIBRATION_BINS = 10

DECIMALS = 4
# The held-out AUC's uncertainty: a percentile bootstrap over the held-out outcomes, seeded so
# that a page shows the same interval on every load.
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_LEVEL = 0.95
BOOTSTRAP_SEED = 18
_BOOTSTRAP_CHUNK = 50


class InsufficientOutcomes(ValueError):
    """Too few renewal outcomes (or too few of one class) to learn from; the message says
    how many there are and how many are needed."""


# --- Labels and split ---------------------------------------------------------------------------
def churn_labels(outcome: pd.Series, *, downgraded_is_churned: bool = False) -> np.ndarray:
    """The positive class: True for churned (and downgraded when asked), else False.

    Input: outcome values (renewed / expanded / downgraded / churned). Output: bool ndarray.
    """
    churned = [CHURNED, DOWNGRADED] if downgraded_is_churned else [CHURNED]
    return outcome.isin(churned).to_numpy()


def holdout_mask(
    renewal_date: pd.Series, outcome_id: pd.Series, *, share: float = HOLDOUT_SHARE
) -> np.ndarray:
    """The hold-out: the latest ``share`` of the outcomes by renewal date.

    Inputs: renewal dates and outcome ids, one per outcome. The count is ``share × n`` rounded
    half up (3 of 10, 2 of 7); on a tie at the boundary the higher outcome ids are held out, so
    the split is deterministic. Output: bool ndarray, True = held out.
    """
    n = len(renewal_date)
    n_holdout = math.floor(n * share + 0.5)
    dates = pd.to_datetime(renewal_date).to_numpy()
    order = np.lexsort((outcome_id.to_numpy(), dates))
    mask = np.zeros(n, dtype=bool)
    mask[order[n - n_holdout :]] = True
    return mask


# --- Metrics ------------------------------------------------------------------------------------
def score_auc(is_churned: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC of a health score against churn: ``roc_auc_score(is_churned, −score)``.

    NaN scores (not scored, or the measure absent) are left out. None when what remains does
    not hold both a churned and a renewed outcome (the AUC is undefined).
    """
    y = np.asarray(is_churned, dtype=bool)
    s = np.asarray(score, dtype=float)
    kept = ~np.isnan(s)
    y, s = y[kept], s[kept]
    if y.all() or not y.any():  # also the empty case
        return None
    return float(roc_auc_score(y, -s))


def _bootstrap_aucs(
    is_churned: np.ndarray, scores: list[np.ndarray], *, resamples: int, seed: int
) -> np.ndarray:
    """AUC of each score on each bootstrap resample of the outcomes: shape (resamples, k).

    Every score is scored on the same resampled outcomes (a paired bootstrap), drawn with
    replacement by ``numpy.random.default_rng(seed)``. A resample without both a churned and a
    renewed outcome has no AUC (NaN row). The AUC is the Mann–Whitney statistic on average
    ranks of −score, which equals ``roc_auc_score(is_churned, −score)`` with ties counting ½.
    """
    y = np.asarray(is_churned, dtype=bool)
    n = len(y)
    rng = np.random.default_rng(seed)
    result = np.full((resamples, len(scores)), np.nan)
    for start in range(0, resamples, _BOOTSTRAP_CHUNK):
        size = min(_BOOTSTRAP_CHUNK, resamples - start)
        picks = rng.integers(0, n, size=(size, n))
        ys = y[picks]
        positives = ys.sum(axis=1)
        negatives = n - positives
        defined = (positives > 0) & (negatives > 0)
        for column, score in enumerate(scores):
            ranks = rankdata(-np.asarray(score, dtype=float)[picks], axis=1)
            rank_sum = np.where(ys, ranks, 0.0).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                auc = (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
            result[start : start + size, column] = np.where(defined, auc, np.nan)
    return result


def _percentile_interval(values: np.ndarray, level: float) -> tuple[float, float] | None:
    kept = values[~np.isnan(values)]
    if not len(kept):
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(kept, [tail, 100 - tail])
    return _rounded(float(low)), _rounded(float(high))


def auc_bootstrap(
    is_churned: np.ndarray,
    score: np.ndarray,
    *,
    baseline: np.ndarray | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, object]:
    """How sure the AUC of ``score`` is: a seeded percentile bootstrap over the outcomes.

    Inputs: churn labels and scores, one per outcome (NaN = not scored; such outcomes are left
    out, as in :func:`score_auc`); optionally the ``baseline`` scores of the same outcomes
    (e.g. the current weights when ``score`` is a suggestion), then only outcomes scored by
    both count and the resamples are paired. Output: ``auc`` (of the outcomes kept), ``low``
    and ``high`` (the ``level`` interval, 4 decimals; None when undefined), ``resamples``;
    with a baseline also ``baseline_auc`` and ``difference_low``/``difference_high``: the
    interval of score AUC − baseline AUC on the same resamples. A suggestion beats the
    baseline only when ``difference_low`` > 0.
    """
    y = np.asarray(is_churned, dtype=bool)
    s = np.asarray(score, dtype=float)
    kept = ~np.isnan(s)
    if baseline is not None:
        b = np.asarray(baseline, dtype=float)
        kept &= ~np.isnan(b)
    scores = [s[kept]] if baseline is None else [s[kept], b[kept]]
    y = y[kept]
    result: dict[str, object] = {
        "auc": _rounded(score_auc(y, scores[0])),
        "low": None,
        "high": None,
        "resamples": resamples,
    }
    if baseline is not None:
        result |= {
            "baseline_auc": _rounded(score_auc(y, scores[1])),
            "difference_low": None,
            "difference_high": None,
        }
    if y.all() or not y.any():
        return result
    aucs = _bootstrap_aucs(y, scores, resamples=resamples, seed=seed)
    interval = _percentile_interval(aucs[:, 0], level)
    if interval is not None:
        result["low"], result["high"] = interval
    if baseline is not None:
        difference = _percentile_interval(aucs[:, 0] - aucs[:, 1], level)
        if difference is not None:
            result["difference_low"], result["difference_high"] = difference
    return result


def band_churn_rates(
    *, band: pd.Series, is_churned: np.ndarray, bands: pd.DataFrame
) -> pd.DataFrame:
    """Churn rate and lift per band of the scored outcomes.

    Inputs: each outcome's band label ("Not scored" rows are left out), its churn label, and the
    scorecard's bands (label, min). Output, one row per band in ascending min: ``label, min,
    accounts, churned, churn_rate, lift``; lift = band churn rate / churn rate of all scored
    outcomes. churn_rate is NaN for an empty band, lift NaN for an empty band or when no scored
    outcome churned.
    """
    ordered = bands.sort_values([MIN, LABEL], kind="stable")[[LABEL, MIN]]
    y = np.asarray(is_churned, dtype=bool)
    labels = band.to_numpy(dtype=object)
    is_banded = np.isin(labels, ordered[LABEL].to_numpy())
    counts = pd.Series(labels[is_banded]).value_counts()
    churned = pd.Series(labels[is_banded & y]).value_counts()
    accounts = ordered[LABEL].map(counts).fillna(0).astype(np.int64)
    churned_n = ordered[LABEL].map(churned).fillna(0).astype(np.int64)
    base = churned_n.sum() / accounts.sum() if accounts.sum() else math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(accounts > 0, churned_n / accounts.where(accounts > 0), np.nan)
        lift = rate / base if base and not math.isnan(base) else np.full(len(rate), np.nan)
    return pd.DataFrame(
        {
            LABEL: ordered[LABEL].to_numpy(),
            MIN: ordered[MIN].to_numpy(dtype=float),
            "accounts": accounts.to_numpy(),
            "churned": churned_n.to_numpy(),
            "churn_rate": rate,
            "lift": lift,
        }
    )


def measure_aucs(features: pd.DataFrame, is_churned: np.ndarray) -> pd.DataFrame:
    """Each measure's own AUC over the outcomes where it was present.

    Inputs: features (one column per measure key, NaN = absent) and the churn labels.
    Output, in the features' column order: ``measure_key, auc`` (None when undefined),
    ``present`` (how many outcomes had the measure).
    """
    return pd.DataFrame(
        {
            engine.MEASURE_KEY: list(features.columns),
            "auc": [score_auc(is_churned, features[key].to_numpy(float)) for key in features],
            "present": [int(features[key].notna().sum()) for key in features],
        }
    )


# --- The backtest report ------------------------------------------------------------------------
def _rounded(x: float | None, decimals: int = DECIMALS) -> float | None:
    """A JSON-ready figure: None for missing or NaN, else rounded half up."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return float(engine.round_half_up(x, decimals))


def _band_records(table: pd.DataFrame) -> list[dict]:
    return [
        {
            "label": row.label,
            "min": _rounded(row.min, 2),
            "accounts": int(row.accounts),
            "churned": int(row.churned),
            "churn_rate": _rounded(row.churn_rate),
            "lift": _rounded(row.lift, 2),
        }
        for row in table.itertuples(index=False)
    ]


def backtest_report(
    outcomes: pd.DataFrame, features: pd.DataFrame, bands: pd.DataFrame
) -> dict[str, object]:
    """The backtest's figures as a JSON-ready dict.

    Inputs: outcomes (``is_churned, is_holdout, overall, band``), the features (same rows, in
    the same order) and the scorecard's bands. Output keys: ``n_outcomes, n_churned,
    churn_rate`` (all outcomes), ``n_scored, n_not_scored, holdout_size, train_size``, ``auc``
    (scored outcomes), ``auc_train``, ``auc_holdout`` (scored outcomes of that part only),
    ``bands`` and ``bands_holdout`` (lists of ``label, min, accounts, churned, churn_rate,
    lift``), ``measures`` (``key, auc, auc_holdout, present``). Rates and AUCs have 4
    decimals, lifts 2; undefined figures are None.
    """
    y = outcomes[IS_CHURNED].to_numpy(dtype=bool)
    held = outcomes[IS_HOLDOUT].to_numpy(dtype=bool)
    overall = outcomes[OVERALL].to_numpy(dtype=float)
    n = len(outcomes)
    own = measure_aucs(features, y)
    own_holdout = measure_aucs(features[held], y[held])
    return {
        "n_outcomes": n,
        "n_churned": int(y.sum()),
        "churn_rate": _rounded(y.mean() if n else None),
        "n_scored": int((~np.isnan(overall)).sum()),
        "n_not_scored": int(np.isnan(overall).sum()),
        "holdout_size": int(held.sum()),
        "train_size": int((~held).sum()),
        "auc": _rounded(score_auc(y, overall)),
        "auc_train": _rounded(score_auc(y[~held], overall[~held])),
        "auc_holdout": _rounded(score_auc(y[held], overall[held])),
        "bands": _band_records(band_churn_rates(band=outcomes[BAND], is_churned=y, bands=bands)),
        "bands_holdout": _band_records(
            band_churn_rates(band=outcomes.loc[held, BAND], is_churned=y[held], bands=bands)
        ),
        "measures": [
            {
                "key": row.measure_key,
                "auc": _rounded(row.auc),
                "auc_holdout": _rounded(held_row.auc),
                "present": int(row.present),
            }
            for row, held_row in zip(
                own.itertuples(index=False), own_holdout.itertuples(index=False), strict=True
            )
        ],
    }


# --- Optimizer ----------------------------------------------------------------------------------
def training_rows(features: pd.DataFrame, is_holdout: np.ndarray) -> np.ndarray:
    """The outcomes the optimizer learns from: not held out, with at least one measure present
    (an outcome with none carries no information, only imputed means). Bool ndarray."""
    return ~np.asarray(is_holdout, dtype=bool) & features.notna().any(axis=1).to_numpy()


def training_check(is_churned: np.ndarray) -> None:
    """Raise InsufficientOutcomes unless the training labels are enough to fit on."""
    y = np.asarray(is_churned, dtype=bool)
    churned, renewed = int(y.sum()), int((~y).sum())
    if (
        len(y) < MIN_TRAINING_OUTCOMES
        or churned < MIN_TRAINING_PER_CLASS
        or renewed < MIN_TRAINING_PER_CLASS
    ):
        raise InsufficientOutcomes(
            f"Too few renewal outcomes to learn from: {len(y)} scored outcomes before the "
            f"held-out part ({churned} churned, {renewed} not). The optimizer needs at least "
            f"{MIN_TRAINING_OUTCOMES}, with at least {MIN_TRAINING_PER_CLASS} churned and "
            f"{MIN_TRAINING_PER_CLASS} not churned."
        )


def fit_measure_weights(
    features: pd.DataFrame, is_churned: np.ndarray, *, C: float = OPTIMIZER_C
) -> pd.Series:
    """Non-negative measure weights that separate churned from renewed outcomes.

    Inputs: the training part's features (0–100 scores, NaN = absent) and churn labels; ``C``
    is scikit-learn's inverse regularisation strength. Scores are scaled to 0–1, NaN imputed
    with the column's mean (a measure never present gets weight 0), then
    ``LogisticRegression(C=C)`` models P(churn). A health weight must not be negative, so while
    the largest coefficient is positive (higher score ⇒ more churn) that measure is dropped and
    the model refitted: at most one fit per measure. Output: Series of weights ≥ 0 indexed by
    the feature columns — −coefficient per unit of 0–1 score; only their ratios matter.
    Raises InsufficientOutcomes (via :func:`training_check`) when the labels are too few.
    """
    training_check(is_churned)
    y = np.asarray(is_churned, dtype=bool)
    x = features.to_numpy(dtype=float) / 100.0
    weights = pd.Series(0.0, index=features.columns)
    present = ~np.isnan(x).all(axis=0)
    means = np.nanmean(np.where(present, x, 0.0), axis=0)
    x = np.where(np.isnan(x), means, x)
    active = list(np.flatnonzero(present))
    while active:
        model = LogisticRegression(C=C, max_iter=1000).fit(x[:, active], y)
        coefficients = model.coef_[0]
        worst = int(np.argmax(coefficients))
        if coefficients[worst] <= 0:
            weights.iloc[active] = -coefficients
            break
        del active[worst]
    return weights


def suggested_weights(raw: pd.Series) -> pd.Series:
    """Fitted weights as the measure weights of a draft: percentages of their sum, 2 decimals
    (half up), at least MIN_WEIGHT. With the group weights of :func:`implied_group_weights`
    each is also the measure's nominal effective weight in %. Raises InsufficientOutcomes when
    every weight is 0 (no measure separates churn from renewal)."""
    total = float(raw.sum())
    if not total > 0:
        raise InsufficientOutcomes(
            "No measure separates churned from renewed outcomes on the training part; "
            "there is nothing to suggest."
        )
    percent = engine.round_half_up(raw.to_numpy(dtype=float) / total * 100.0)
    return pd.Series(np.maximum(percent, MIN_WEIGHT), index=raw.index)


def implied_group_weights(
    measure_weights: Mapping[str, float], group_of: Mapping[str, str]
) -> dict[str, float]:
    """A group's weight is the sum of its measures' weights, so that inside the group each
    measure keeps its share and its effective weight is its own weight / Σ all weights.
    Inputs: weight by measure key, group name by measure key. Output: weight by group name,
    in the order groups first appear in ``group_of``; 2 decimals."""
    sums: dict[str, float] = {}
    for key, group in group_of.items():
        sums[group] = sums.get(group, 0.0) + float(measure_weights[key])
    return {group: float(engine.round_half_up(total)) for group, total in sums.items()}


def frames_with_weights(
    measures: pd.DataFrame,
    groups: pd.DataFrame,
    *,
    measure_weights: Mapping[str, float],
    group_weights: Mapping[str, float],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidate weights as the engine's frames: copies of ``measures`` and ``groups`` whose
    ``weight`` is replaced by measure key and by group name. Every key and group name of the
    frames must have a weight (ValueError naming the missing ones); the inputs are not
    mutated."""
    missing = sorted(set(measures[engine.MEASURE_KEY]) - set(measure_weights))
    missing += sorted(set(groups[engine.GROUP_NAME]) - set(group_weights))
    if missing:
        raise ValueError(f"no weight for: {', '.join(missing)}")
    return (
        measures.assign(**{engine.WEIGHT: measures[engine.MEASURE_KEY].map(measure_weights)}),
        groups.assign(**{engine.WEIGHT: groups[engine.GROUP_NAME].map(group_weights)}),
    )


# --- Scoring every outcome on its own date in one engine call -----------------------------------
def values_on_common_date(
    values: pd.DataFrame, outcomes: pd.DataFrame, *, as_of: pd.Timestamp
) -> pd.DataFrame:
    """The engine's values frame that scores each outcome on its own date with one call.

    Inputs: values ``outcome_id, measure_id, raw_value, as_of, value_id`` (an outcome's
    account's values) and outcomes ``outcome_id, scored_on``. Each outcome becomes a pseudo
    account (account_id = outcome_id); its values dated after ``scored_on`` are dropped and the
    rest moved by ``as_of − scored_on`` days. Rule 2 (the latest value, and staleness = age in
    days) depends only on differences between dates, which a shift keeps, so scoring on
    ``as_of`` gives each outcome the score it had on its own date. Output: ``account_id,
    measure_id, raw_value, as_of, value_id``.
    """
    scored_on = values[OUTCOME_ID].map(outcomes.set_index(OUTCOME_ID)[SCORED_ON])
    scored_on = pd.to_datetime(scored_on)
    dated = pd.to_datetime(values[engine.AS_OF])
    kept = (dated <= scored_on).to_numpy()
    shift = pd.Timestamp(as_of) - scored_on[kept]
    return pd.DataFrame(
        {
            engine.ACCOUNT_ID: values[OUTCOME_ID].to_numpy()[kept].astype(np.int64),
            engine.MEASURE_ID: values[engine.MEASURE_ID].to_numpy()[kept].astype(np.int64),
            engine.RAW_VALUE: values[engine.RAW_VALUE].to_numpy(dtype=float)[kept],
            engine.AS_OF: (dated[kept] + shift).to_numpy(),
            engine.VALUE_ID: values[engine.VALUE_ID].to_numpy()[kept].astype(np.int64),
        }
    )


def feature_matrix(
    measure_rows: pd.DataFrame, account_ids: np.ndarray, keys: list[str]
) -> pd.DataFrame:
    """The engine's measure rows (``account_id, measure_key, score, is_present``) as one row per
    account of ``account_ids`` (in that order) and one column per key: the score where present,
    NaN where missing or stale."""
    present = measure_rows[measure_rows[engine.IS_PRESENT].astype(bool)]
    wide = present.pivot_table(
        index=engine.ACCOUNT_ID, columns=engine.MEASURE_KEY, values=engine.SCORE, aggfunc="first"
    )
    wide = wide.reindex(index=account_ids, columns=keys)
    wide.columns.name = None
    return wide.reset_index(drop=True).astype(float)


# --- Renewal likelihood -------------------------------------------------------------------------
def likelihood_check(is_churned: np.ndarray) -> str | None:
    """Why no likelihood may be shown for these scored outcomes, or None when it may."""
    y = np.asarray(is_churned, dtype=bool)
    if len(y) < MIN_LIKELIHOOD_OUTCOMES or y.sum() < MIN_LIKELIHOOD_CHURNED:
        return (
            f"Too few renewal outcomes for a renewal likelihood: {len(y)} scored outcomes "
            f"({int(y.sum())} churned); at least {MIN_LIKELIHOOD_OUTCOMES} with "
            f"{MIN_LIKELIHOOD_CHURNED} churned are needed."
        )
    return None


def calibration_fit(score: np.ndarray, is_renewed: np.ndarray) -> dict[str, float | str]:
    """Platt scaling: P(renewed | overall score) = expit(coef · score/100 + intercept).

    Inputs: overall scores (no NaN) and whether each renewed; both classes must be present.
    Output: ``{"method": "platt", "coef", "intercept"}`` (JSON-ready).
    """
    model = LogisticRegression(C=PLATT_C, max_iter=1000)
    model.fit(np.asarray(score, dtype=float).reshape(-1, 1) / 100.0, np.asarray(is_renewed, bool))
    return {
        "method": "platt",
        "coef": float(model.coef_[0][0]),
        "intercept": float(model.intercept_[0]),
    }


def calibration_predict(fit: Mapping[str, float | str], score: np.ndarray) -> np.ndarray:
    """The renewal probability of each score under a :func:`calibration_fit` (NaN stays NaN)."""
    s = np.asarray(score, dtype=float) / 100.0
    return expit(float(fit["coef"]) * s + float(fit["intercept"]))


def calibration_table(
    predicted: np.ndarray, is_renewed: np.ndarray, *, bins: int = CALIBRATION_BINS
) -> list[dict[str, float | int]]:
    """Predicted vs observed renewal rate by decile of the prediction.

    Outcomes are sorted by prediction (ties in input order) and cut into ``bins`` groups as
    equal as possible (``np.array_split``; fewer outcomes than bins gives one per group).
    Output, lowest prediction first: ``decile`` (1…), ``outcomes``, ``predicted`` (mean
    predicted probability), ``observed`` (share renewed), 4 decimals.
    """
    p = np.asarray(predicted, dtype=float)
    r = np.asarray(is_renewed, dtype=bool)
    order = np.argsort(p, kind="stable")
    table = []
    for decile, part in enumerate(
        (part for part in np.array_split(order, bins) if len(part)), start=1
    ):
        table.append(
            {
                "decile": decile,
                "outcomes": len(part),
                "predicted": _rounded(float(p[part].mean())),
                "observed": _rounded(float(r[part].mean())),
            }
        )
    return table


def calibration_report(
    score: np.ndarray, is_churned: np.ndarray, is_holdout: np.ndarray
) -> dict[str, object]:
    """Everything about the renewal likelihood of one scorecard, JSON-ready.

    Inputs: the overall score, churn label and hold-out flag of each *scored* outcome.
    Output: ``n_outcomes, n_churned, fit`` (fitted on all of them; None when
    :func:`likelihood_check` refuses, with its ``message``), and, when the training and held-out
    parts each hold both classes, ``table_holdout`` (fitted on the training part, compared on
    the held-out part — an honest calibration) and ``brier_holdout``; else those are [] / None.
    """
    s = np.asarray(score, dtype=float)
    y = np.asarray(is_churned, dtype=bool)
    held = np.asarray(is_holdout, dtype=bool)
    message = likelihood_check(y)
    report: dict[str, object] = {
        "n_outcomes": len(y),
        "n_churned": int(y.sum()),
        "fit": None,
        "message": message,
        "table_holdout": [],
        "brier_holdout": None,
    }
    if message is not None:
        return report
    report["fit"] = calibration_fit(s, ~y)
    train_y, held_y = y[~held], y[held]
    if train_y.any() and (~train_y).any() and held_y.any() and (~held_y).any():
        train_fit = calibration_fit(s[~held], ~train_y)
        predicted = calibration_predict(train_fit, s[held])
        report["table_holdout"] = calibration_table(predicted, ~held_y)
        report["brier_holdout"] = _rounded(float(brier_score_loss(~held_y, predicted)))
    return report
