"""Read-model of the account page: the score with its breakdown, what changed over
7/30/90 days, the history chart, contacts and the timeline. Plain dataclasses, so templates
never query."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    Max,
    Q,
)

from accounts.models import Account, Contact, Touchpoint
from front.read_models.bands import BandPalette, BandStyle, band_palette, trend_direction
from healthscore.generations import ACCOUNTS, SCORECARDS, SCORES
from healthscore.read_model_cache import read_model_cached
from scorecards import comparisons, engine, selectors
from scorecards.choices import ExceptionAction, ValueSource
from scorecards.learning.likelihood import (
    RenewalLikelihood,
    renewal_calibration_current,
    renewal_likelihood_under,
)
from scorecards.models import (
    Measure,
    MeasureValue,
    RenewalCalibration,
    Scorecard,
    ScoreSnapshot,
)
from scorecards.services.derived import account_inputs

HISTORY_DAYS = 180
CHANGE_WINDOWS = (7, 30, 90)
TIMELINE_LENGTH = 30


@dataclass(frozen=True)
class MeasureLine:
    key: str
    name: str
    raw_value: float | None
    score: float | None
    weight: float
    effective_weight: float
    contribution: float | None
    value_as_of: date | None
    age_days: int | None
    max_age_days: int | None
    is_stale: bool
    is_present: bool
    comment: str = ""
    comment_on: date | None = None
    comment_by: str = ""
    inputs: str = ""  # a derived measure's inputs in words


@dataclass(frozen=True)
class GroupBlock:
    name: str
    weight: float
    score: float | None
    effective_weight: float
    measures: list[MeasureLine]


@dataclass(frozen=True)
class MeasureChange:
    key: str
    name: str
    change: float
    contribution_a: float | None
    contribution_b: float | None
    inputs_a: str = ""
    inputs_b: str = ""


@dataclass(frozen=True)
class ChangeWindow:
    """Rules 11–13 between the score of as_of − days (A) and the current one (B), made by
    the same scorecard version: A is that day's snapshot, or that day rescored."""

    days: int
    since: date | None
    overall_a: float | None = None
    overall_b: Decimal | None = None
    delta: float | None = None
    changes: list[MeasureChange] = field(default_factory=list)
    is_rescored: bool = False
    is_pending_rescore: bool = False


@dataclass(frozen=True)
class Lever:
    name: str
    score: float | None
    gain: float


@dataclass(frozen=True)
class TimelineEntry:
    on: date
    kind: str
    title: str
    detail: str = ""
    by: str = ""


@dataclass(frozen=True)
class AccountScore:
    """The account page's score: header, breakdown, lever, what changed and history."""

    snapshot: ScoreSnapshot | None
    band: BandStyle
    trends: list[tuple[int, Decimal | None, str | None, str]]
    exceptions: list[dict]
    missing: list[str]
    groups: list[GroupBlock]
    lever: Lever | None
    changes: list[ChangeWindow]
    history: dict

    @property
    def exception_reasons(self) -> list[str]:
        return [exception["reason"] for exception in self.exceptions]

    @property
    def exception_lines(self) -> list[dict]:
        """Rule 12: the exceptions that moved the score, each a line of the breakdown."""
        return [exception for exception in self.exceptions if exception["effect"]]


@dataclass(frozen=True)
class ContactLine:
    name: str
    title: str
    email: str
    role: str
    is_sponsor: bool
    is_active: bool
    left_on: date | None
    last_touch_on: date | None
    days_since_touch: int | None


@read_model_cached(SCORES, ACCOUNTS, SCORECARDS)
def account_score(*, account: Account, today: date) -> AccountScore:
    """Everything the account page says about the score, from the current snapshot and the
    snapshots before it. About ten queries, however long the history."""
    snapshot = (
        ScoreSnapshot.objects.filter(current_for__account=account)
        .select_related("scorecard")
        .first()
    )
    palette = band_palette()
    measures = measures_by_key()
    if snapshot is None:
        return AccountScore(
            snapshot=None,
            band=palette.style(None),
            trends=[],
            exceptions=[],
            missing=[],
            groups=[],
            lever=None,
            changes=[],
            history=_history(account=account, today=today, palette=palette, scorecard_id=None),
        )
    lever = snapshot.biggest_lever
    rows_by_key = {row["key"]: row for row in snapshot.measure_rows}
    inputs, inputs_by_day = account_inputs(
        snapshot=snapshot,
        days=_change_window_days(snapshot),
        derived_keys={key for key, measure in measures.items() if measure.source},
    )
    return AccountScore(
        snapshot=snapshot,
        band=palette.style(snapshot.band, snapshot.scorecard_id),
        trends=[
            (days, value, trend_direction(value), f"Change over the last {days} days")
            for days, value in (
                (7, snapshot.trend_7),
                (30, snapshot.trend_30),
                (90, snapshot.trend_90),
            )
        ],
        exceptions=[
            {
                "reason": exception["reason"],
                "action": exception["action"],
                "action_label": _action_label(exception["action"]),
                "effect": comparisons.exception_effect(
                    exception, overall=snapshot.overall, computed=snapshot.computed
                ),
            }
            for exception in snapshot.exceptions
        ],
        missing=[_measure_name(measures, key) for key in snapshot.missing_measures],
        groups=_breakdown(account=account, snapshot=snapshot, measures=measures, inputs=inputs),
        lever=(
            Lever(
                name=_measure_name(measures, lever["measure"]),
                score=(rows_by_key.get(lever["measure"]) or {}).get("score"),
                gain=lever["gain"],
            )
            if lever and lever.get("gain")
            else None
        ),
        changes=_change_windows(
            snapshot=snapshot, measures=measures, inputs=inputs, inputs_by_day=inputs_by_day
        ),
        history=_history(
            account=account, today=today, palette=palette, scorecard_id=snapshot.scorecard_id
        ),
    )


@read_model_cached(SCORECARDS)
def measures_by_key() -> dict[str, Measure]:
    """Every measure by key (names, max ages, sources), read once until a scorecard or
    measure changes rather than by every account page."""
    return {measure.key: measure for measure in Measure.objects.all()}


@read_model_cached(SCORES, ACCOUNTS, SCORECARDS)
def account_renewal_likelihood(*, snapshot: ScoreSnapshot | None) -> RenewalLikelihood | None:
    """The renewal likelihood shown on the account page: the calibration of the snapshot's
    scorecard applied to its overall score. None when not scored or when the scorecard has too
    few renewal outcomes (then the page shows nothing). No query once the scorecard's
    calibration is cached."""
    if snapshot is None or snapshot.overall is None:
        return None
    return renewal_likelihood_under(
        calibration=scorecard_calibration(scorecard=snapshot.scorecard),
        overall=float(snapshot.overall),
    )


# Renewal outcomes are accounts' (ACCOUNTS); a new fit is stored as a score (SCORES).
@read_model_cached(SCORES, ACCOUNTS, SCORECARDS)
def scorecard_calibration(*, scorecard: Scorecard) -> RenewalCalibration | None:
    """The scorecard's current renewal calibration (fitted first when out of date), read once
    for all the account pages of the scorecard rather than by each (two queries)."""
    return renewal_calibration_current(scorecard=scorecard)


def _action_label(action: str) -> str:
    return {
        ExceptionAction.FLAG: "flagged, score unchanged",
        ExceptionAction.CAP_BAND: "band capped",
        ExceptionAction.OVERRIDE: "score overridden",
    }.get(action, action)


def _measure_name(measures: dict[str, Measure], key: str) -> str:
    measure = measures.get(key)
    return measure.name if measure else key


def _breakdown(
    *,
    account: Account,
    snapshot: ScoreSnapshot,
    measures: dict[str, Measure],
    inputs: dict[str, str | None],
) -> list[GroupBlock]:
    """Rule 6 per group and measure, with each measure's latest comment up to the snapshot."""
    comments: dict[str, MeasureValue] = {}
    for value in (
        MeasureValue.objects.filter(account=account, as_of__lte=snapshot.as_of)
        .exclude(comment="")
        .exclude(source=ValueSource.COMPUTED)  # their comment is the inputs, shown apart
        .select_related("measure", "entered_by")
        .order_by("-as_of", "-id")
    ):
        comments.setdefault(value.measure.key, value)
    lines: dict[int, list[MeasureLine]] = defaultdict(list)
    for row in snapshot.measure_rows:
        measure = measures.get(row["key"])
        value_as_of = date.fromisoformat(row["as_of"]) if row["as_of"] else None
        comment = comments.get(row["key"])
        lines[row["group_id"]].append(
            MeasureLine(
                key=row["key"],
                name=measure.name if measure else row["key"],
                raw_value=row["raw_value"],
                score=row["score"],
                weight=row["weight"],
                effective_weight=row["effective_weight"] or 0.0,
                contribution=row["contribution"],
                value_as_of=value_as_of,
                age_days=(snapshot.as_of - value_as_of).days if value_as_of else None,
                max_age_days=measure.max_age_days if measure else None,
                is_stale=bool(row["stale"]),
                is_present=row["score"] is not None and not row["stale"],
                comment=comment.comment if comment else "",
                comment_on=comment.as_of if comment else None,
                comment_by=_person(comment.entered_by) if comment else "",
                inputs=inputs.get(row["key"]) or "",
            )
        )
    return [
        GroupBlock(
            name=group["name"],
            weight=group["weight"],
            score=group["score"],
            effective_weight=group["effective_weight"] or 0.0,
            measures=lines.get(group["group_id"], []),
        )
        for group in snapshot.groups
    ]


def _person(user) -> str:
    if user is None:
        return ""
    return _name(user.first_name, user.last_name, user.username)


def _change_window_days(snapshot: ScoreSnapshot) -> list[date]:
    """The earlier day of each "what changed" window (CHANGE_WINDOWS days before)."""
    return [snapshot.as_of - timedelta(days=days) for days in CHANGE_WINDOWS]


def _change_windows(
    *,
    snapshot: ScoreSnapshot,
    measures: dict[str, Measure],
    inputs: dict[str, str | None],
    inputs_by_day: dict[date, dict[str, str]],
) -> list[ChangeWindow]:
    """Rules 11–13 for the last 7, 30 and 90 days, like for like: one query for the earlier
    days' snapshots (else the rescores the run kept in the snapshot), and a rescore of an
    earlier day only when neither is there (snapshots written before runs kept them).
    `inputs`: the snapshot's derived measures' inputs in words; `inputs_by_day`: those that
    counted on each earlier day."""
    windows = []
    if snapshot.overall is None:
        return [ChangeWindow(days=days, since=None) for days in CHANGE_WINDOWS]
    frames = None
    earlier_days = _change_window_days(snapshot)
    kept = comparisons.earlier_breakdowns_kept(later=snapshot, days=earlier_days)
    lines_b = comparisons.snapshot_lines(snapshot)
    for days, since in zip(CHANGE_WINDOWS, earlier_days, strict=True):
        earlier = kept[since]
        if earlier is None:
            frames = frames or selectors.scorecard_frames()
            earlier = comparisons.earlier_breakdown_rescored(
                later=snapshot, on=since, frames=frames
            )
        if earlier is None:
            windows.append(ChangeWindow(days=days, since=since, is_pending_rescore=True))
            continue
        if earlier.overall is None:
            windows.append(ChangeWindow(days=days, since=None))
            continue
        changes = engine.line_changes(earlier.lines, lines_b)
        inputs_a = inputs_by_day[since]
        windows.append(
            ChangeWindow(
                days=days,
                since=since,
                overall_a=earlier.overall,
                overall_b=snapshot.overall,
                delta=float(engine.round_half_up(float(snapshot.overall) - earlier.overall)),
                is_rescored=earlier.is_rescored,
                changes=[
                    MeasureChange(
                        key=row.measure_key,
                        name=_line_name(measures, row.measure_key),
                        change=row.change,
                        contribution_a=row.contribution_a,
                        contribution_b=row.contribution_b,
                        inputs_a=inputs_a.get(row.measure_key) or "",
                        inputs_b=inputs.get(row.measure_key) or "",
                    )
                    for row in changes
                    if row.change != 0
                ],
            )
        )
    return windows


def _line_name(measures: dict[str, Measure], key: str) -> str:
    """A measure's name, or "Override: <reason>" for an exception's line (rule 12)."""
    if key.startswith(comparisons.EXCEPTION_LINE):
        return "Override: " + key.removeprefix(comparisons.EXCEPTION_LINE)
    return _measure_name(measures, key)


def _history(
    *, account: Account, today: date, palette: BandPalette, scorecard_id: int | None
) -> dict:
    """The score history chart's data: dates, scores (null = not scored), band zones, and
    the version boundaries (rule 13): each date from which the scores were made by another
    scorecard or version than the day before, so that a step there reads as a change of
    method, not of customer."""
    rows = list(
        ScoreSnapshot.objects.filter(
            account=account, as_of__gt=today - timedelta(days=HISTORY_DAYS), as_of__lte=today
        )
        .order_by("as_of")
        .values_list(
            "as_of", "overall", "band", "scorecard_id", "scorecard__name", "scorecard_version"
        )
    )
    boundaries = [
        {"date": row[0].isoformat(), "label": f"{row[4]} v{row[5]}"}
        for previous, row in zip(rows, rows[1:], strict=False)
        if (previous[3], previous[5]) != (row[3], row[5])
    ]
    return {
        "labels": [row[0].isoformat() for row in rows],
        "scores": [float(row[1]) if row[1] is not None else None for row in rows],
        "bands": [row[2] for row in rows],
        "versions": [f"{row[4]} v{row[5]}" for row in rows],
        "boundaries": boundaries,
        "zones": palette.zones.get(scorecard_id, []) if scorecard_id else [],
    }


@read_model_cached(ACCOUNTS)
def account_contacts(*, account: Account, today: date) -> list[ContactLine]:
    """Contacts, active before left and sponsors first, each with the date of their last
    touchpoint (one query)."""
    role_order = {role: i for i, role in enumerate(Contact.Role.values)}
    contacts = sorted(
        account.contacts.annotate(last_touch_on=Max("touchpoints__occurred_on")),
        key=lambda c: (not c.is_active, role_order.get(c.role, len(role_order)), c.name.lower()),
    )
    return [
        ContactLine(
            name=contact.name,
            title=contact.title,
            email=contact.email,
            role=contact.get_role_display(),
            is_sponsor=contact.is_sponsor,
            is_active=contact.is_active,
            left_on=contact.left_on,
            last_touch_on=contact.last_touch_on,
            days_since_touch=(
                (today - contact.last_touch_on).days if contact.last_touch_on else None
            ),
        )
        for contact in contacts
    ]


@read_model_cached(SCORES, ACCOUNTS)
def account_timeline(*, account: Account) -> list[TimelineEntry]:
    """The latest values people entered or commented on, and touchpoints, newest first (three
    queries, rows rather than model instances). Automated values arrive every day and would
    bury everything else; the breakdown shows them. The risk layer adds its own entries with
    `timeline_merge`."""
    values = (
        MeasureValue.objects.filter(account=account)
        .filter(Q(source=ValueSource.MANUAL) | ~Q(comment=""))
        .exclude(source=ValueSource.COMPUTED)
        .order_by("-as_of", "-id")
        .values_list(
            "as_of",
            "measure__name",
            "raw_value",
            "score",
            "comment",
            "source",
            "entered_by__first_name",
            "entered_by__last_name",
            "entered_by__username",
        )[:TIMELINE_LENGTH]
    )
    touchpoints = list(
        Touchpoint.objects.filter(account=account)
        .order_by("-occurred_on", "-id")
        .values_list(
            "pk",
            "occurred_on",
            "kind",
            "summary",
            "created_by__first_name",
            "created_by__last_name",
            "created_by__username",
        )[:TIMELINE_LENGTH]
    )
    names: dict[int, list[str]] = defaultdict(list)
    for touchpoint_id, name in (
        Touchpoint.contacts.through.objects.filter(
            touchpoint_id__in=[row[0] for row in touchpoints]
        )
        .order_by("contact__name")
        .values_list("touchpoint_id", "contact__name")
    ):
        names[touchpoint_id].append(name)
    entries = [
        TimelineEntry(
            on=as_of,
            kind="value",
            title=f"{measure}: {_format_raw(raw)} (score {score})",
            detail=comment,
            by=_name(*person) or ValueSource(source).label,
        )
        for as_of, measure, raw, score, comment, source, *person in values
    ] + [
        TimelineEntry(
            on=occurred_on,
            kind="touchpoint",
            title=f"{Touchpoint.Kind(kind).label} with "
            + (", ".join(names[touchpoint_id]) or "no contact recorded"),
            detail=summary,
            by=_name(*person),
        )
        for touchpoint_id, occurred_on, kind, summary, *person in touchpoints
    ]
    return timeline_merge(entries)


def _name(first_name: str | None, last_name: str | None, username: str | None) -> str:
    """A person as the pages name them, from their user's columns: the full name, else the
    username ("" without a user, as a row's outer join gives it)."""
    return f"{first_name or ''} {last_name or ''}".strip() or username or ""


def timeline_merge(*entry_lists: list[TimelineEntry]) -> list[TimelineEntry]:
    """Entries from several sources, newest first, at most TIMELINE_LENGTH."""
    merged = [entry for entries in entry_lists for entry in entries]
    return sorted(merged, key=lambda entry: entry.on, reverse=True)[:TIMELINE_LENGTH]


def _format_raw(raw: float) -> str:
    return f"{raw:g}"
