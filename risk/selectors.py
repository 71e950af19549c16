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
from scorecards import comparisons
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
    frame[engine.LAST_SPONSOR_TOUCH_ON] = scoring_engine.days(frame[engine.LAST_SPONSOR_TOUCH_ON])
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
    """as_of, overall, band, scorecard_id, scorecard_version of the given snapshots (not
    their breakdowns)."""
    rows = {}
    for start in range(0, len(ids), 5000):
        for pk, *fields in ScoreSnapshot.objects.filter(
            pk__in=ids[start : start + 5000]
        ).values_list("pk", "as_of", "overall", "band", "scorecard_id", "scorecard_version"):
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
    frame[engine.CHANGED_ON] = scoring_engine.days(frame[engine.CHANGED_ON])
    return frame.astype({engine.ACCOUNT_ID: "int64", engine.CHANGE_ID: "int64"})


def risk_inputs_frame(
    *,
    as_of: date,
    account_ids: list[int] | None = None,
    score_drop_window_days: int = 30,
    single_threaded_window_days: int = 90,
) -> pd.DataFrame:
    """One row per active account (or the given ones) in the engine's INPUT_COLUMNS shape.

    The account's snapshot is its latest on or before `as_of`. The movement rules compare it
    like for like (scoring rule 13, scorecards.comparisons): turned_red with the previous
    scored day (the latest snapshot before it), score_drop with the day as_of −
    score_drop_window_days; each earlier score is that day's snapshot when of the same
    scorecard version, else that day rescored under it from the value history (one engine
    call per distinct day, for the accounts that need it), so a publish never reads as
    customer movement. The sentiment is the latest csm_sentiment value on or before `as_of`,
    scored by the measure's mapping (the engine drops a stale one). About ten queries
    whatever the portfolio's size, plus the rescores.
    """
    snapshots = ScoreSnapshot.objects.filter(account=OuterRef("pk")).order_by("-as_of")
    current = snapshots.filter(as_of__lte=as_of)
    earlier_on = as_of - timedelta(days=score_drop_window_days)
    accounts = _scoped(Account.objects.all(), account_field="", account_ids=account_ids).annotate(
        current_id=Subquery(current.values("pk")[:1]),
        current_as_of=Subquery(current.values("as_of")[:1]),
    )
    accounts = accounts.annotate(
        previous_id=Subquery(snapshots.filter(as_of__lt=OuterRef("current_as_of")).values("pk")[:1])
    )
    columns = ["pk", "renewal_date", "current_id", "previous_id"]
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

    snapshot_ids = pd.concat([base["current_id"], base["previous_id"]])
    found = _snapshot_rows(sorted({int(pk) for pk in snapshot_ids.dropna()}))
    lowest = lowest_bands()

    def field(ids: pd.Series, position: int) -> list:
        return [found[int(pk)][position] if pd.notna(pk) else None for pk in ids]

    later = pd.DataFrame(
        {
            scoring_engine.ACCOUNT_ID: base["pk"].astype("int64"),
            scoring_engine.SCORECARD_ID: field(base["current_id"], 3),
            comparisons.LATER_VERSION: field(base["current_id"], 4),
            "current_overall": field(base["current_id"], 1),
        }
    )
    previous = _previous_like_for_like(later, base, found)
    earlier = _earlier_like_for_like(later, earlier_on)

    def is_red(scorecard_ids: list, bands: list) -> list:
        return [
            float(band == lowest.get(scorecard_id)) if isinstance(band, str) else np.nan
            for scorecard_id, band in zip(scorecard_ids, bands, strict=True)
        ]

    current_scorecards = field(base["current_id"], 3)
    inputs = pd.DataFrame(
        {
            engine.ACCOUNT_ID: base["pk"].astype("int64"),
            engine.RENEWAL_DATE: base["renewal_date"],
            engine.SNAPSHOT_AS_OF: field(base["current_id"], 0),
            engine.OVERALL: field(base["current_id"], 1),
            engine.BAND: field(base["current_id"], 2),
            engine.IS_RED: [
                value == 1.0 for value in is_red(current_scorecards, field(base["current_id"], 2))
            ],
            engine.PREVIOUS_AS_OF: previous["on"],
            engine.PREVIOUS_BAND: previous["band"],
            engine.PREVIOUS_IS_RED: is_red(current_scorecards, previous["band"]),
            engine.EARLIER_AS_OF: earlier["on"],
            engine.EARLIER_OVERALL: earlier["overall"],
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
        inputs[column] = scoring_engine.days(inputs[column])
    for column in (engine.OVERALL, engine.EARLIER_OVERALL, engine.SENTIMENT_SCORE):
        inputs[column] = inputs[column].astype(float)
    inputs[engine.PREVIOUS_IS_RED] = inputs[engine.PREVIOUS_IS_RED].astype(float)
    return inputs[engine.INPUT_COLUMNS]


def _previous_like_for_like(
    later: pd.DataFrame, base: pd.DataFrame, found: dict[int, tuple]
) -> dict[str, list]:
    """turned_red's comparison (rule 13): the band of the previous snapshot's day, from that
    snapshot when it is of the current snapshot's scorecard version, else from that day
    rescored under it. None where there is nothing comparable."""
    days = [found[int(pk)][0] if pd.notna(pk) else None for pk in base["previous_id"]]
    bands: list = [None] * len(base)
    for position, (pk, scorecard_id, version) in enumerate(
        zip(
            base["previous_id"],
            later[scoring_engine.SCORECARD_ID],
            later[comparisons.LATER_VERSION],
            strict=True,
        )
    ):
        if pd.notna(pk) and found[int(pk)][3:5] == (scorecard_id, version):
            bands[position] = found[int(pk)][2]
    needs = [
        position
        for position, band in enumerate(bands)
        if band is None
        and days[position] is not None
        and pd.notna(later["current_overall"][position])
    ]
    by_day: dict = {}
    for position in needs:
        by_day.setdefault(days[position], []).append(position)
    for day, positions in sorted(by_day.items()):
        subset = later.iloc[positions].astype(
            {scoring_engine.SCORECARD_ID: "int64", comparisons.LATER_VERSION: "int64"}
        )
        rescored = comparisons.earlier_scores_frame(later=subset, on=day)
        for position, band in zip(positions, rescored[scoring_engine.BAND], strict=True):
            bands[position] = band if isinstance(band, str) else None
    return {
        "on": [day if band is not None else None for day, band in zip(days, bands, strict=True)],
        "band": bands,
    }


def _earlier_like_for_like(later: pd.DataFrame, on: date) -> dict[str, list]:
    """score_drop's comparison (rule 13): each scored account's score on `on`, like for
    like. NaN where there is none."""
    scored = later[later["current_overall"].notna() & later[scoring_engine.SCORECARD_ID].notna()]
    overall = pd.Series(np.nan, index=later.index)
    if len(scored):
        scored = scored.astype(
            {scoring_engine.SCORECARD_ID: "int64", comparisons.LATER_VERSION: "int64"}
        )
        earlier = comparisons.earlier_scores_frame(later=scored, on=on)
        overall.loc[scored.index] = earlier[scoring_engine.OVERALL].to_numpy(dtype=float)
    return {
        "on": [on if pd.notna(value) else None for value in overall],
        "overall": overall.to_numpy(dtype=float),
    }


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
