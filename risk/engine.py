"""The risk rules of PRODUCT.md as pure pandas functions: one function per risk type.

Imports only pandas, numpy and the standard library; the caller passes `as_of` and every
threshold (CS Ops' RiskRule rows, as :class:`RuleSettings`).

A rule looks at one row per account (:data:`INPUT_COLUMNS`) and answers, for each account
where its condition *holds*, whether it *fires* today, the severity and the evidence:

- A state rule (low_sentiment, score_drop, no_sponsor, …) fires on every day it holds.
- turned_red fires on the day the band became Red, and holds while the band stays Red, so a
  risk raised on the change is neither raised again nor cleared while the account stays Red.
- sponsor_left fires once for each recorded move (a ContactChange), and is an event rather
  than a state: it never clears by itself (:data:`NEVER_CLEARS`).

Input frame ``inputs`` (one row per account, see :data:`INPUT_COLUMNS`)
    account_id, renewal_date, snapshot_as_of, overall, band, is_red, previous_as_of,
    previous_band, previous_is_red (1.0 / 0.0, NaN when there is no previous snapshot),
    earlier_as_of, earlier_overall (the score_drop comparison), sentiment_score,
    sentiment_as_of, executive_sponsors, sponsors (active executive sponsors, and active
    sponsors or decision makers), last_sponsor_touch_on, touched_contacts (distinct active
    contacts with a touchpoint in the single_threaded window), handled_change_id (the latest
    move a sponsor_left risk was already raised for; 0 for none).
    Dates are datetime64 (NaT = none); scores are floats (NaN = none).
Input frame ``moves`` (sponsor losses, see :data:`MOVE_COLUMNS`)
    account_id, change_id, contact_id, contact_name, kind, from_role, changed_on.
Output (:data:`CONDITION_COLUMNS`)
    account_id, risk_type, fires (bool), severity, evidence (a JSON-ready dict); one row per
    account and rule whose condition holds, sorted by account_id then risk_type.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

ACCOUNT_ID = "account_id"
RENEWAL_DATE = "renewal_date"
SNAPSHOT_AS_OF = "snapshot_as_of"
OVERALL = "overall"
BAND = "band"
IS_RED = "is_red"
PREVIOUS_AS_OF = "previous_as_of"
PREVIOUS_BAND = "previous_band"
PREVIOUS_IS_RED = "previous_is_red"
EARLIER_AS_OF = "earlier_as_of"
EARLIER_OVERALL = "earlier_overall"
SENTIMENT_SCORE = "sentiment_score"
SENTIMENT_AS_OF = "sentiment_as_of"
EXECUTIVE_SPONSORS = "executive_sponsors"
SPONSORS = "sponsors"
LAST_SPONSOR_TOUCH_ON = "last_sponsor_touch_on"
TOUCHED_CONTACTS = "touched_contacts"
HANDLED_CHANGE_ID = "handled_change_id"

CHANGE_ID = "change_id"
CONTACT_ID = "contact_id"
CONTACT_NAME = "contact_name"
KIND = "kind"
FROM_ROLE = "from_role"
CHANGED_ON = "changed_on"

RISK_TYPE = "risk_type"
FIRES = "fires"
SEVERITY = "severity"
EVIDENCE = "evidence"

INPUT_COLUMNS = [
    ACCOUNT_ID,
    RENEWAL_DATE,
    SNAPSHOT_AS_OF,
    OVERALL,
    BAND,
    IS_RED,
    PREVIOUS_AS_OF,
    PREVIOUS_BAND,
    PREVIOUS_IS_RED,
    EARLIER_AS_OF,
    EARLIER_OVERALL,
    SENTIMENT_SCORE,
    SENTIMENT_AS_OF,
    EXECUTIVE_SPONSORS,
    SPONSORS,
    LAST_SPONSOR_TOUCH_ON,
    TOUCHED_CONTACTS,
    HANDLED_CHANGE_ID,
]
DATE_COLUMNS = [
    RENEWAL_DATE,
    SNAPSHOT_AS_OF,
    PREVIOUS_AS_OF,
    EARLIER_AS_OF,
    SENTIMENT_AS_OF,
    LAST_SPONSOR_TOUCH_ON,
]
MOVE_COLUMNS = [ACCOUNT_ID, CHANGE_ID, CONTACT_ID, CONTACT_NAME, KIND, FROM_ROLE, CHANGED_ON]
CONDITION_COLUMNS = [ACCOUNT_ID, RISK_TYPE, FIRES, SEVERITY, EVIDENCE]

LOW_SENTIMENT = "low_sentiment"
SCORE_DROP = "score_drop"
TURNED_RED = "turned_red"
SPONSOR_LEFT = "sponsor_left"
NO_SPONSOR = "no_sponsor"
SPONSOR_DISENGAGED = "sponsor_disengaged"
RENEWAL_AT_RISK = "renewal_at_risk"
SINGLE_THREADED = "single_threaded"
SENTIMENT_DIVERGENCE = "sentiment_divergence"

CRITICAL = "critical"

# Rules that fire on a change rather than on a state: a risk closed as won't fix does not
# silence the next change (see risk.services.evaluation).
EVENT_RISK_TYPES = frozenset({TURNED_RED, SPONSOR_LEFT})
# A sponsor who left has left: the risk stays until a person closes it.
NEVER_CLEARS = frozenset({SPONSOR_LEFT})


@dataclass(frozen=True)
class RuleSettings:
    """One RiskRule row: the threshold and window its rule compares with, and its severity."""

    threshold: float | None
    window_days: int | None
    severity: str


# PRODUCT.md's defaults, used where CS Ops left a rule's threshold or window empty.
DEFAULT_THRESHOLDS = {
    LOW_SENTIMENT: 25.0,
    SCORE_DROP: 15.0,
    SINGLE_THREADED: 2.0,
    SENTIMENT_DIVERGENCE: 75.0,
}
DEFAULT_WINDOWS = {SCORE_DROP: 30, SPONSOR_DISENGAGED: 90, RENEWAL_AT_RISK: 90, SINGLE_THREADED: 90}


def rule_threshold(risk_type: str, settings: RuleSettings) -> float:
    """The rule's threshold, or PRODUCT.md's default when it is empty."""
    if settings.threshold is None:
        return DEFAULT_THRESHOLDS[risk_type]
    return float(settings.threshold)


def rule_window_days(risk_type: str, settings: RuleSettings) -> int | None:
    """The rule's window in days, or PRODUCT.md's default (None: the rule has no window)."""
    if settings.window_days is None:
        return DEFAULT_WINDOWS.get(risk_type)
    return int(settings.window_days)


# --- Helpers -------------------------------------------------------------------------------------
def _iso(value) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _number(value) -> float | None:
    return None if pd.isna(value) else round(float(value), 2)


def _days_between(later: pd.Series | pd.Timestamp, earlier: pd.Series | pd.Timestamp):
    """Whole days from `earlier` to `later` (NaN where either is missing)."""
    return (later - earlier) / pd.Timedelta(days=1)


def _conditions(
    rows: pd.DataFrame,
    risk_type: str,
    *,
    fires: pd.Series | bool,
    severity: pd.Series | str,
    evidence: list[dict],
) -> pd.DataFrame:
    """The output shape for the `rows` where a rule holds."""
    return pd.DataFrame(
        {
            ACCOUNT_ID: rows[ACCOUNT_ID].to_numpy(dtype="int64"),
            RISK_TYPE: risk_type,
            FIRES: np.broadcast_to(np.asarray(fires, dtype=bool), len(rows)),
            SEVERITY: np.broadcast_to(np.asarray(severity, dtype=object), len(rows)),
            EVIDENCE: pd.Series(evidence, dtype=object).to_numpy(),
        },
        columns=CONDITION_COLUMNS,
    )


def _current_sentiment(inputs: pd.DataFrame, *, as_of: date, max_age_days: int | None) -> pd.Series:
    """The sentiment score that counts on `as_of` (scoring rule 2): NaN where there is none
    or where it is older than the measure's max age, like a stale value in a score."""
    score = inputs[SENTIMENT_SCORE].astype(float)
    if max_age_days is None:
        return score
    age = _days_between(pd.Timestamp(as_of), inputs[SENTIMENT_AS_OF])
    return score.where(age <= max_age_days)


# --- One function per rule -----------------------------------------------------------------------
def low_sentiment(
    inputs: pd.DataFrame,
    settings: RuleSettings,
    *,
    as_of: date,
    sentiment_max_age_days: int | None = None,
) -> pd.DataFrame:
    """The latest CSM sentiment score ≤ threshold (25); critical when the score is 0."""
    threshold = rule_threshold(LOW_SENTIMENT, settings)
    score = _current_sentiment(inputs, as_of=as_of, max_age_days=sentiment_max_age_days)
    holds = score <= threshold
    rows, score = inputs[holds], score[holds]
    severity = np.where(score == 0, CRITICAL, settings.severity)
    evidence = [
        {"sentiment_score": _number(value), "threshold": threshold, "value_as_of": _iso(on)}
        for value, on in zip(score, rows[SENTIMENT_AS_OF], strict=True)
    ]
    return _conditions(rows, LOW_SENTIMENT, fires=True, severity=severity, evidence=evidence)


def score_drop(inputs: pd.DataFrame, settings: RuleSettings) -> pd.DataFrame:
    """The overall score fell by ≥ threshold (15) points against the latest snapshot on or
    before as_of − window (30 days). Scores have two decimals, and so does the drop."""
    threshold = rule_threshold(SCORE_DROP, settings)
    window = rule_window_days(SCORE_DROP, settings)
    drop = (inputs[EARLIER_OVERALL].astype(float) - inputs[OVERALL].astype(float)).round(2)
    holds = drop >= threshold
    rows, drop = inputs[holds], drop[holds]
    evidence = [
        {
            "overall": _number(overall),
            "snapshot_as_of": _iso(on),
            "earlier_overall": _number(earlier),
            "earlier_as_of": _iso(earlier_on),
            "drop": _number(points),
            "threshold": threshold,
            "window_days": window,
        }
        for overall, on, earlier, earlier_on, points in zip(
            rows[OVERALL],
            rows[SNAPSHOT_AS_OF],
            rows[EARLIER_OVERALL],
            rows[EARLIER_AS_OF],
            drop,
            strict=True,
        )
    ]
    return _conditions(rows, SCORE_DROP, fires=True, severity=settings.severity, evidence=evidence)


def turned_red(inputs: pd.DataFrame, settings: RuleSettings) -> pd.DataFrame:
    """The band became Red since the previous snapshot. Holds while the band stays Red; fires
    only on the change (an account's first snapshot has nothing to change from)."""
    is_red = inputs[IS_RED].astype(bool)
    rows = inputs[is_red]
    # previous_is_red: 1.0 / 0.0, NaN when there is no previous snapshot.
    fires = rows[PREVIOUS_IS_RED].astype(float) == 0
    evidence = [
        {
            "band": band,
            "snapshot_as_of": _iso(on),
            "overall": _number(overall),
            "previous_band": previous_band if isinstance(previous_band, str) else None,
            "previous_as_of": _iso(previous_on),
        }
        for band, on, overall, previous_band, previous_on in zip(
            rows[BAND],
            rows[SNAPSHOT_AS_OF],
            rows[OVERALL],
            rows[PREVIOUS_BAND],
            rows[PREVIOUS_AS_OF],
            strict=True,
        )
    ]
    return _conditions(
        rows,
        TURNED_RED,
        fires=fires.to_numpy(dtype=bool),
        severity=settings.severity,
        evidence=evidence,
    )


def sponsor_left(
    inputs: pd.DataFrame, moves: pd.DataFrame, settings: RuleSettings, *, as_of: date
) -> pd.DataFrame:
    """An executive sponsor or decision maker left or moved out of the role, and no risk was
    raised for that move yet (moves later than the account's handled_change_id). With a
    window, only moves dated within it count. The evidence names the latest such move."""
    on_or_before = moves[CHANGED_ON] <= pd.Timestamp(as_of)
    window = rule_window_days(SPONSOR_LEFT, settings)
    if window is not None:
        on_or_before &= _days_between(pd.Timestamp(as_of), moves[CHANGED_ON]) <= window
    handled = inputs.set_index(ACCOUNT_ID)[HANDLED_CHANGE_ID]
    moves = moves[on_or_before & moves[ACCOUNT_ID].isin(handled.index)]
    fresh = moves[moves[CHANGE_ID] > moves[ACCOUNT_ID].map(handled).fillna(0)]
    fresh = fresh.sort_values([ACCOUNT_ID, CHANGE_ID], kind="stable")
    counts = fresh.groupby(ACCOUNT_ID)[CHANGE_ID].count()
    latest = fresh.drop_duplicates(ACCOUNT_ID, keep="last")
    evidence = [
        {
            "contact_change_id": int(change_id),
            "contact_id": int(contact_id),
            "contact": name,
            "role": role,
            "move": kind,
            "changed_on": _iso(on),
            "moves": int(counts[account_id]),
        }
        for account_id, change_id, contact_id, name, kind, role, on in zip(
            latest[ACCOUNT_ID],
            latest[CHANGE_ID],
            latest[CONTACT_ID],
            latest[CONTACT_NAME],
            latest[KIND],
            latest[FROM_ROLE],
            latest[CHANGED_ON],
            strict=True,
        )
    ]
    return _conditions(
        latest, SPONSOR_LEFT, fires=True, severity=settings.severity, evidence=evidence
    )


def no_sponsor(inputs: pd.DataFrame, settings: RuleSettings) -> pd.DataFrame:
    """No active executive sponsor."""
    rows = inputs[inputs[EXECUTIVE_SPONSORS].fillna(0) == 0]
    evidence = [{"active_executive_sponsors": 0} for _ in range(len(rows))]
    return _conditions(rows, NO_SPONSOR, fires=True, severity=settings.severity, evidence=evidence)


def sponsor_disengaged(
    inputs: pd.DataFrame, settings: RuleSettings, *, as_of: date
) -> pd.DataFrame:
    """No touchpoint with an active sponsor or decision maker in the last window (90) days:
    a touchpoint exactly `window` days ago still counts. An account with no active sponsor
    or decision maker has nobody to engage; no_sponsor covers it."""
    window = rule_window_days(SPONSOR_DISENGAGED, settings)
    days_since = _days_between(pd.Timestamp(as_of), inputs[LAST_SPONSOR_TOUCH_ON])
    has_sponsor = inputs[SPONSORS].fillna(0) > 0
    holds = has_sponsor & ~(days_since <= window)
    rows, days_since = inputs[holds], days_since[holds]
    evidence = [
        {
            "last_touch_on": _iso(on),
            "days_since_touch": None if pd.isna(days) else int(days),
            "window_days": window,
        }
        for on, days in zip(rows[LAST_SPONSOR_TOUCH_ON], days_since, strict=True)
    ]
    return _conditions(
        rows, SPONSOR_DISENGAGED, fires=True, severity=settings.severity, evidence=evidence
    )


def renewal_at_risk(inputs: pd.DataFrame, settings: RuleSettings, *, as_of: date) -> pd.DataFrame:
    """The renewal date is within the next window (90) days, both ends included, and the
    band is Red."""
    window = rule_window_days(RENEWAL_AT_RISK, settings)
    days_to = _days_between(inputs[RENEWAL_DATE], pd.Timestamp(as_of))
    holds = inputs[IS_RED].astype(bool) & (days_to >= 0) & (days_to <= window)
    rows, days_to = inputs[holds], days_to[holds]
    evidence = [
        {
            "renewal_date": _iso(renewal),
            "days_to_renewal": int(days),
            "window_days": window,
            "band": band,
        }
        for renewal, days, band in zip(rows[RENEWAL_DATE], days_to, rows[BAND], strict=True)
    ]
    return _conditions(
        rows, RENEWAL_AT_RISK, fires=True, severity=settings.severity, evidence=evidence
    )


def single_threaded(inputs: pd.DataFrame, settings: RuleSettings) -> pd.DataFrame:
    """Fewer than threshold (2) distinct active contacts with a touchpoint in the window
    (90 days; the caller counts them over that window)."""
    threshold = rule_threshold(SINGLE_THREADED, settings)
    touched = inputs[TOUCHED_CONTACTS].fillna(0)
    rows = inputs[touched < threshold]
    evidence = [
        {
            "contacts_touched": int(count),
            "threshold": threshold,
            "window_days": rule_window_days(SINGLE_THREADED, settings),
        }
        for count in touched[touched < threshold]
    ]
    return _conditions(
        rows, SINGLE_THREADED, fires=True, severity=settings.severity, evidence=evidence
    )


def sentiment_divergence(
    inputs: pd.DataFrame,
    settings: RuleSettings,
    *,
    as_of: date,
    sentiment_max_age_days: int | None = None,
) -> pd.DataFrame:
    """The CSM's sentiment score ≥ threshold (75) while the band is Red: an optimistic read
    to check."""
    threshold = rule_threshold(SENTIMENT_DIVERGENCE, settings)
    score = _current_sentiment(inputs, as_of=as_of, max_age_days=sentiment_max_age_days)
    holds = inputs[IS_RED].astype(bool) & (score >= threshold)
    rows, score = inputs[holds], score[holds]
    evidence = [
        {"sentiment_score": _number(value), "threshold": threshold, "band": band}
        for value, band in zip(score, rows[BAND], strict=True)
    ]
    return _conditions(
        rows, SENTIMENT_DIVERGENCE, fires=True, severity=settings.severity, evidence=evidence
    )


# --- All rules -----------------------------------------------------------------------------------
def risk_conditions(
    inputs: pd.DataFrame,
    moves: pd.DataFrame,
    rules: Mapping[str, RuleSettings],
    *,
    as_of: date,
    sentiment_max_age_days: int | None = None,
) -> pd.DataFrame:
    """Run every rule in `rules` (the enabled ones, by risk type) over the portfolio.

    Returns :data:`CONDITION_COLUMNS`, one row per account and rule whose condition holds,
    sorted by account_id then risk_type (writers take rows in this order, so two evaluations
    lock rows in the same order)."""
    missing = sorted(set(INPUT_COLUMNS) - set(inputs.columns))
    if missing:
        raise ValueError(f"inputs lacks columns {missing}")
    missing = sorted(set(MOVE_COLUMNS) - set(moves.columns))
    if missing:
        raise ValueError(f"moves lacks columns {missing}")
    sentiment = {"as_of": as_of, "sentiment_max_age_days": sentiment_max_age_days}
    evaluate = {
        LOW_SENTIMENT: lambda s: low_sentiment(inputs, s, **sentiment),
        SCORE_DROP: lambda s: score_drop(inputs, s),
        TURNED_RED: lambda s: turned_red(inputs, s),
        SPONSOR_LEFT: lambda s: sponsor_left(inputs, moves, s, as_of=as_of),
        NO_SPONSOR: lambda s: no_sponsor(inputs, s),
        SPONSOR_DISENGAGED: lambda s: sponsor_disengaged(inputs, s, as_of=as_of),
        RENEWAL_AT_RISK: lambda s: renewal_at_risk(inputs, s, as_of=as_of),
        SINGLE_THREADED: lambda s: single_threaded(inputs, s),
        SENTIMENT_DIVERGENCE: lambda s: sentiment_divergence(inputs, s, **sentiment),
    }
    unknown = sorted(set(rules) - set(evaluate))
    if unknown:
        raise ValueError(f"no rule for risk types {unknown}")
    frames = [evaluate[risk_type](settings) for risk_type, settings in sorted(rules.items())]
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=CONDITION_COLUMNS).astype({ACCOUNT_ID: "int64", FIRES: bool})
    conditions = pd.concat(frames, ignore_index=True)
    return conditions.sort_values([ACCOUNT_ID, RISK_TYPE], kind="stable", ignore_index=True)
