"""Reads for risk evaluation: the engine's input frames, loaded portfolio-wide in a handful of
set-based queries (never a query per account), and the risks an evaluation updates."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery

from accounts.models import Account, Contact, ContactChange, Touchpoint
from risk import engine
from risk.choices import UNRESOLVED_STATUSES, RiskStatus, RiskType
from risk.models import Risk, RiskRule
from scorecards import engine as scoring_engine
from scorecards.models import Measure, MeasureValue, ScoreSnapshot
from scorecards.selectors import lowest_bands

SENTIMENT_MEASURE_KEY = "csm_sentiment"


def risk_rules_by_type() -> dict[str, RiskRule]:
    """Every RiskRule (enabled or not), by risk type."""
    return {rule.risk_type: rule for rule in RiskRule.objects.all()}


def _scoped(queryset: QuerySet, *, account_field: str, account_ids: list[int] | None) -> QuerySet:
    """Rows of the active accounts, or of the given ones among them. The whole portfolio is a
    join on the account's status rather than a list of ids, which stays one short query."""
    prefix = f"{account_field}__" if account_field else ""
    queryset = queryset.filter(**{f"{prefix}status": Account.Status.ACTIVE})
    if account_ids is not None:
        queryset = queryset.filter(**{f"{prefix}pk__in": account_ids})
    return queryset


def _active_on(as_of: date, prefix: str = "") -> Q:
    """Contacts still at the company on `as_of`: active, or left after that day."""
    return Q(**{f"{prefix}is_active": True}) | Q(**{f"{prefix}left_on__gt": as_of})


def sponsor_contacts_frame(*, as_of: date, account_ids: list[int] | None = None) -> pd.DataFrame:
    """Per account with an active sponsor or decision maker on `as_of`: account_id,
    executive_sponsors, sponsors (executive sponsors and decision makers). One query."""
    rows = (
        _scoped(
            Contact.objects.filter(_active_on(as_of), role__in=Contact.SPONSOR_ROLES),
            account_field="account",
            account_ids=account_ids,
        )
        .values("account_id")
        .annotate(
            executive_sponsors=Count("pk", filter=Q(role=Contact.Role.EXECUTIVE_SPONSOR)),
            sponsors=Count("pk"),
        )
        .values_list("account_id", "executive_sponsors", "sponsors")
    )
    return pd.DataFrame(
        list(rows), columns=[engine.ACCOUNT_ID, engine.EXECUTIVE_SPONSORS, engine.SPONSORS]
    ).astype("int64")


def last_sponsor_touch_frame(*, as_of: date, account_ids: list[int] | None = None) -> pd.DataFrame:
    """Per account, the latest touchpoint on or before `as_of` with a sponsor or decision
    maker still at the company on `as_of`: account_id, last_sponsor_touch_on. One query."""
    through = Touchpoint.contacts.through.objects.filter(
        _active_on(as_of, "contact__"),
        contact__role__in=Contact.SPONSOR_ROLES,
        touchpoint__occurred_on__lte=as_of,
    )
    rows = (
        _scoped(through, account_field="touchpoint__account", account_ids=account_ids)
        .values("touchpoint__account_id")
        .annotate(last=Max("touchpoint__occurred_on"))
        .values_list("touchpoint__account_id", "last")
    )
    frame = pd.DataFrame(list(rows), columns=[engine.ACCOUNT_ID, engine.LAST_SPONSOR_TOUCH_ON])
    frame[engine.LAST_SPONSOR_TOUCH_ON] = pd.to_datetime(frame[engine.LAST_SPONSOR_TOUCH_ON])
    return frame.astype({engine.ACCOUNT_ID: "int64"})


def touched_contacts_frame(
    *, as_of: date, window_days: int, account_ids: list[int] | None = None
) -> pd.DataFrame:
    """Per account, the distinct contacts still at the company on `as_of` with a touchpoint
    in [as_of − window_days, as_of]: account_id, touched_contacts. One query."""
    through = Touchpoint.contacts.through.objects.filter(
        _active_on(as_of, "contact__"),
        touchpoint__occurred_on__lte=as_of,
        touchpoint__occurred_on__gte=as_of - timedelta(days=window_days),
    )
    rows = (
        _scoped(through, account_field="touchpoint__account", account_ids=account_ids)
        .values("touchpoint__account_id")
        .annotate(touched=Count("contact_id", distinct=True))
        .values_list("touchpoint__account_id", "touched")
    )
    return pd.DataFrame(list(rows), columns=[engine.ACCOUNT_ID, engine.TOUCHED_CONTACTS]).astype(
        "int64"
    )


def sentiment_measure() -> Measure | None:
    return Measure.objects.filter(key=SENTIMENT_MEASURE_KEY).first()


def _snapshot_rows(ids: list[int]) -> dict[int, tuple]:
    """as_of, overall, band, scorecard_id of the given snapshots (not their breakdowns)."""
    rows = {}
    for start in range(0, len(ids), 5000):
        for pk, *fields in ScoreSnapshot.objects.filter(
            pk__in=ids[start : start + 5000]
        ).values_list("pk", "as_of", "overall", "band", "scorecard_id"):
            rows[pk] = tuple(fields)
    return rows


def sponsor_left_handled_frame(*, account_ids: list[int] | None = None) -> pd.DataFrame:
    """Per account, the latest move (ContactChange id) a sponsor_left risk, open or closed,
    was raised for: account_id, handled_change_id. One query over sponsor_left risks."""
    handled: dict[int, int] = {}
    risks = _scoped(
        Risk.objects.filter(risk_type=RiskType.SPONSOR_LEFT),
        account_field="account",
        account_ids=account_ids,
    )
    for account_id, evidence in risks.values_list("account_id", "evidence"):
        change_id = int((evidence or {}).get("contact_change_id") or 0)
        handled[account_id] = max(handled.get(account_id, 0), change_id)
    return pd.DataFrame(
        list(handled.items()), columns=[engine.ACCOUNT_ID, engine.HANDLED_CHANGE_ID]
    ).astype("int64")


def sponsor_moves_frame(*, as_of: date, account_ids: list[int] | None = None) -> pd.DataFrame:
    """Recorded sponsor losses dated on or before `as_of` (engine.MOVE_COLUMNS). One query."""
    rows = _scoped(
        ContactChange.objects.filter(is_sponsor_loss=True, changed_on__lte=as_of),
        account_field="account",
        account_ids=account_ids,
    ).values_list(
        "account_id", "pk", "contact_id", "contact__name", "kind", "from_role", "changed_on"
    )
    frame = pd.DataFrame(list(rows), columns=engine.MOVE_COLUMNS)
    frame[engine.CHANGED_ON] = pd.to_datetime(frame[engine.CHANGED_ON])
    return frame.astype({engine.ACCOUNT_ID: "int64", engine.CHANGE_ID: "int64"})


def risk_inputs_frame(
    *,
    as_of: date,
    account_ids: list[int] | None = None,
    score_drop_window_days: int = 30,
    single_threaded_window_days: int = 90,
) -> pd.DataFrame:
    """One row per active account (or the given ones) in the engine's INPUT_COLUMNS shape.

    The account's snapshot is its latest on or before `as_of`; the previous one is the latest
    before that; the earlier one (score_drop) is the latest on or before as_of −
    score_drop_window_days. The sentiment is the latest csm_sentiment value on or before
    `as_of`, scored by the measure's mapping (the engine drops a stale one). About ten
    queries whatever the portfolio's size.
    """
    snapshots = ScoreSnapshot.objects.filter(account=OuterRef("pk")).order_by("-as_of")
    current = snapshots.filter(as_of__lte=as_of)
    earlier_on = as_of - timedelta(days=score_drop_window_days)
    accounts = _scoped(Account.objects.all(), account_field="", account_ids=account_ids).annotate(
        current_id=Subquery(current.values("pk")[:1]),
        current_as_of=Subquery(current.values("as_of")[:1]),
        earlier_id=Subquery(snapshots.filter(as_of__lte=earlier_on).values("pk")[:1]),
    )
    accounts = accounts.annotate(
        previous_id=Subquery(snapshots.filter(as_of__lt=OuterRef("current_as_of")).values("pk")[:1])
    )
    columns = ["pk", "renewal_date", "current_id", "previous_id", "earlier_id"]
    measure = sentiment_measure()
    if measure is not None:
        sentiment = MeasureValue.objects.filter(
            account=OuterRef("pk"), measure=measure, as_of__lte=as_of
        ).order_by("-as_of", "-id")
        accounts = accounts.annotate(
            sentiment_raw=Subquery(sentiment.values("raw_value")[:1]),
            sentiment_as_of=Subquery(sentiment.values("as_of")[:1]),
        )
        columns += ["sentiment_raw", "sentiment_as_of"]
    base = pd.DataFrame(list(accounts.order_by("pk").values_list(*columns)), columns=columns)
    if measure is None:
        base["sentiment_score"] = np.nan
        base["sentiment_as_of"] = None
    else:
        # Scored by the measure's mapping as it is today, like the health score itself.
        base["sentiment_score"] = scoring_engine.measure_scores_from_raw(
            base["sentiment_raw"].astype(float),
            measure.mapping_type,
            measure.lo,
            measure.hi,
            measure.higher_is_better,
            measure.steps,
        )

    snapshot_ids = pd.concat([base["current_id"], base["previous_id"], base["earlier_id"]])
    found = _snapshot_rows(sorted({int(pk) for pk in snapshot_ids.dropna()}))
    lowest = lowest_bands()

    def field(ids: pd.Series, position: int) -> list:
        return [found[int(pk)][position] if pd.notna(pk) else None for pk in ids]

    def is_red(ids: pd.Series) -> list:
        return [
            float(found[int(pk)][2] == lowest.get(found[int(pk)][3])) if pd.notna(pk) else np.nan
            for pk in ids
        ]

    inputs = pd.DataFrame(
        {
            engine.ACCOUNT_ID: base["pk"].astype("int64"),
            engine.RENEWAL_DATE: base["renewal_date"],
            engine.SNAPSHOT_AS_OF: field(base["current_id"], 0),
            engine.OVERALL: field(base["current_id"], 1),
            engine.BAND: field(base["current_id"], 2),
            engine.IS_RED: [value == 1.0 for value in is_red(base["current_id"])],
            engine.PREVIOUS_AS_OF: field(base["previous_id"], 0),
            engine.PREVIOUS_BAND: field(base["previous_id"], 2),
            engine.PREVIOUS_IS_RED: is_red(base["previous_id"]),
            engine.EARLIER_AS_OF: field(base["earlier_id"], 0),
            engine.EARLIER_OVERALL: field(base["earlier_id"], 1),
            engine.SENTIMENT_SCORE: base["sentiment_score"],
            engine.SENTIMENT_AS_OF: base["sentiment_as_of"],
        }
    )
    for frame in (
        sponsor_contacts_frame(as_of=as_of, account_ids=account_ids),
        last_sponsor_touch_frame(as_of=as_of, account_ids=account_ids),
        touched_contacts_frame(
            as_of=as_of, window_days=single_threaded_window_days, account_ids=account_ids
        ),
        sponsor_left_handled_frame(account_ids=account_ids),
    ):
        inputs = inputs.merge(frame, on=engine.ACCOUNT_ID, how="left")
    counts = [
        engine.EXECUTIVE_SPONSORS,
        engine.SPONSORS,
        engine.TOUCHED_CONTACTS,
        engine.HANDLED_CHANGE_ID,
    ]
    inputs[counts] = inputs[counts].fillna(0).astype("int64")
    for column in engine.DATE_COLUMNS:
        inputs[column] = pd.to_datetime(inputs[column])
    for column in (engine.OVERALL, engine.EARLIER_OVERALL, engine.SENTIMENT_SCORE):
        inputs[column] = inputs[column].astype(float)
    inputs[engine.PREVIOUS_IS_RED] = inputs[engine.PREVIOUS_IS_RED].astype(float)
    return inputs[engine.INPUT_COLUMNS]


def risks_unresolved(*, account_ids: list[int] | None = None) -> QuerySet[Risk]:
    """The open (not yet resolved or closed) risks of the active accounts, or the given ones,
    in the order writers lock them: account, then type."""
    return _scoped(
        Risk.objects.filter(status__in=UNRESOLVED_STATUSES),
        account_field="account",
        account_ids=account_ids,
    ).order_by("account_id", "risk_type")


def risks_silenced(*, as_of: date, account_ids: list[int] | None = None) -> QuerySet[Risk]:
    """Risks snoozed on `as_of`: closed (resolved or won't fix) while their condition held,
    with a snoozed_until after `as_of`, and no clearing of the condition since. A risk closed
    as won't fix before snoozing existed (no date) stays silent until its condition clears."""
    snoozed = Q(snoozed_until__gt=as_of) | Q(status=RiskStatus.WONT_FIX, snoozed_until__isnull=True)
    return _scoped(
        Risk.objects.filter(
            snoozed,
            status__in=[RiskStatus.RESOLVED, RiskStatus.WONT_FIX],
            condition_cleared_at__isnull=True,
        ),
        account_field="account",
        account_ids=account_ids,
    )
