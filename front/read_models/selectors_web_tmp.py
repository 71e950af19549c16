"""Read-models for the web pages: the dashboard, the account page and the portfolio.

Every function takes the accounts the user may see (a queryset that starts from
`accounts.selectors.accounts_visible_to`) and returns plain dataclasses, so templates never
query. Each page costs a constant number of queries whatever the number of accounts or the
page size: rows are loaded set-based, and per-row extras (sparklines, band colours) come from
one query each for the whole page.
"""

import heapq
import operator
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import reduce
from typing import Any

import pandas as pd
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import (
    Avg,
    CharField,
    Count,
    F,
    FilteredRelation,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
)

from accounts.models import Account, Contact, Touchpoint
from scorecards import engine
from scorecards.choices import NOT_SCORED, ExceptionAction, ValueSource
from scorecards.models import (
    Band,
    CurrentScore,
    Measure,
    MeasureGroup,
    MeasureValue,
    ScoreRun,
    ScoreSnapshot,
)
from scorecards.services.backtest import RenewalLikelihood, renewal_likelihood_of

# Rule 9: a trend smaller than this (in points) is flat.
FLAT_BELOW = Decimal("2")
SPARKLINE_DAYS = 90
SPARKLINE_WIDTH = 96
SPARKLINE_HEIGHT = 24
HISTORY_DAYS = 180
PORTFOLIO_TREND_DAYS = 180
PORTFOLIO_TREND_STEP_DAYS = 7
PORTFOLIO_TREND_CACHE_SECONDS = 24 * 3600
RENEWAL_WINDOW_DAYS = 90
CHANGE_WINDOWS = (7, 30, 90)
SUMMARY_LIST_LENGTH = 8
MOVERS_LENGTH = 5
TIMELINE_LENGTH = 30
NOT_SCORED_COLOR = "#52606d"

SORT_LABELS = {
    "name": "Account",
    "arr": "ARR",
    "renewal": "Renewal",
    "score": "Score",
    "trend": "Trend (30 d)",
    "risks": "Open risks",
}
SORT_FIELDS = {
    "name": "name",
    "arr": "arr",
    "renewal": "renewal_date",
    "score": "current_score__overall",
    "trend": "current_score__snapshot__trend_30",
    "risks": "open_risks",
}
DEFAULT_SORT = "score"
PAGE_SIZES = (25, 50)


# --- Bands -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BandStyle:
    """How a band looks: its label (always shown as text) and colours with enough contrast."""

    label: str
    color: str
    text_color: str


def _text_color(background: str) -> str:
    """Black or white, whichever contrasts more with `background` (WCAG relative luminance)."""
    try:
        red, green, blue = (int(background[i : i + 2], 16) / 255 for i in (1, 3, 5))
    except (ValueError, IndexError):
        return "#ffffff"

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


@dataclass(frozen=True)
class BandPalette:
    """Every scorecard's bands, loaded in one query."""

    by_scorecard: dict[tuple[int, str], BandStyle]
    by_label: dict[str, BandStyle]
    # Labels from the best band down, across scorecards (by their best lower bound).
    labels: list[str]
    top_labels: frozenset[str]
    bottom_labels: frozenset[str]
    # (scorecard_id, label) of each scorecard's lowest band: its accounts' ARR is at risk.
    bottom_bands: frozenset[tuple[int, str]]
    zones: dict[int, list[dict]]

    def style(self, label: str | None, scorecard_id: int | None = None) -> BandStyle:
        if not label or label == NOT_SCORED:
            return BandStyle(NOT_SCORED, NOT_SCORED_COLOR, "#ffffff")
        found = self.by_scorecard.get((scorecard_id, label)) or self.by_label.get(label)
        return found or BandStyle(label, NOT_SCORED_COLOR, "#ffffff")

    def at_risk_q(self) -> Q:
        """Accounts whose current score is in the lowest band of its own scorecard (a label
        that is lowest on one scorecard may not be on another)."""
        pairs = [
            Q(current_score__scorecard_id=scorecard_id, current_score__band=label)
            for scorecard_id, label in sorted(self.bottom_bands)
        ]
        return reduce(operator.or_, pairs) if pairs else Q(pk__isnull=True)  # no bands: none

    @property
    def filter_labels(self) -> list[str]:
        return [*self.labels, NOT_SCORED]

    @property
    def not_top_labels(self) -> list[str]:
        return [label for label in self.filter_labels if label not in self.top_labels]


def band_palette() -> BandPalette:
    """Band colours, order, best and worst bands and chart zones of every scorecard."""
    bands = list(Band.objects.order_by("scorecard_id", "min_score"))
    by_scorecard, by_label, best_min = {}, {}, {}
    per_scorecard: dict[int, list[Band]] = defaultdict(list)
    for band in bands:
        style = BandStyle(band.label, band.color, _text_color(band.color))
        by_scorecard[(band.scorecard_id, band.label)] = style
        by_label.setdefault(band.label, style)
        best_min[band.label] = max(best_min.get(band.label, band.min_score), band.min_score)
        per_scorecard[band.scorecard_id].append(band)
    zones = {
        scorecard_id: [
            {
                "label": band.label,
                "min": float(band.min_score),
                "max": float(rows[i + 1].min_score) if i + 1 < len(rows) else 100.0,
                "color": band.color,
            }
            for i, band in enumerate(rows)
        ]
        for scorecard_id, rows in per_scorecard.items()
    }
    return BandPalette(
        by_scorecard=by_scorecard,
        by_label=by_label,
        labels=sorted(best_min, key=lambda label: (-best_min[label], label)),
        top_labels=frozenset(rows[-1].label for rows in per_scorecard.values()),
        bottom_labels=frozenset(rows[0].label for rows in per_scorecard.values()),
        bottom_bands=frozenset((key, rows[0].label) for key, rows in per_scorecard.items()),
        zones=zones,
    )


def _band_q(labels: list[str] | tuple[str, ...]) -> Q:
    """Accounts whose current band is one of `labels` ("Not scored" includes never scored)."""
    query = Q(current_score__band__in=[label for label in labels if label != NOT_SCORED])
    if NOT_SCORED in labels:
        query |= Q(current_score__isnull=True) | Q(current_score__band=NOT_SCORED)
    return query


def trend_title(trend_7: Decimal | None, trend_30: Decimal | None, trend_90: Decimal | None) -> str:
    """E.g. "7 days: +1.2 · 30 days: −3.4 · 90 days: no earlier score"."""
    parts = []
    for days, delta in ((7, trend_7), (30, trend_30), (90, trend_90)):
        text = "no earlier score" if delta is None else f"{delta:+.1f}"
        parts.append(f"{days} days: {text}")
    return " · ".join(parts)


def _direction(delta: Decimal | None) -> str | None:
    """Rule 9: 'up', 'down' or 'flat' (|delta| < 2)."""
    if delta is None:
        return None
    if abs(delta) < FLAT_BELOW:
        return "flat"
    return "up" if delta > 0 else "down"


# --- Dashboard ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardFilters:
    """What the dashboard form asks for; empty values filter nothing."""

    q: str = ""
    bands: tuple[str, ...] = ()
    segment: str = ""
    region: str = ""
    owner_id: int | None = None
    renewal_within: int | None = None
    has_open_risk: bool = False
    moved: bool = False
    sort: str = DEFAULT_SORT


@dataclass(frozen=True)
class Sparkline:
    points: str
    last_x: float
    last_y: float
    width: int = SPARKLINE_WIDTH
    height: int = SPARKLINE_HEIGHT


@dataclass(frozen=True)
class DashboardRow:
    pk: int
    name: str
    owner_name: str
    segment: str
    arr: Decimal
    renewal_date: date | None
    renewal_days: int | None
    overall: Decimal | None
    band: BandStyle
    exceptions: list[str]
    trend_7: Decimal | None
    trend_30: Decimal | None
    trend_90: Decimal | None
    direction: str | None
    sparkline: Sparkline | None
    group_scores: list[tuple[str, float | None]]
    open_risks: int | None

    @property
    def trend_title(self) -> str:
        return trend_title(self.trend_7, self.trend_30, self.trend_90)

    @property
    def trend_30_text(self) -> str:
        return "" if self.trend_30 is None else f"{self.trend_30:+.1f}"

    @property
    def arrow(self) -> str:
        return {"up": "▲", "down": "▼", "flat": "▶"}.get(self.direction or "", "")

    @property
    def exception_text(self) -> str:
        return "; ".join(self.exceptions)


@dataclass(frozen=True)
class SortHeader:
    """A sortable column: clicking it sorts by `next_sort` (ascending first, then descending)."""

    key: str
    label: str
    next_sort: str
    aria_sort: str


@dataclass(frozen=True)
class DashboardPage:
    page: Page
    rows: list[DashboardRow]
    group_names: list[str]
    total: int
    sort: str
    headers: dict[str, SortHeader]
    has_risk_counts: bool
    is_filtered: bool
    page_sizes: tuple[int, ...] = PAGE_SIZES


def previous_scoring_day() -> date | None:
    """The last day scored before the latest current score: yesterday, after a nightly run.
    Two index probes."""
    latest = CurrentScore.objects.aggregate(latest=Max("as_of"))["latest"]
    if latest is None:
        return None
    earlier = ScoreSnapshot.objects.filter(as_of__lt=latest).order_by("-as_of")
    return earlier.values_list("as_of", flat=True).first()


def _band_moved(accounts: QuerySet[Account], previous_day: date | None) -> QuerySet[Account]:
    """The accounts whose current band differs from their band on `previous_day`, annotated
    with `previous_band`. A join on that day's snapshots (the planner may hash it), not a
    correlated lookup of each account's previous snapshot."""
    if previous_day is None:
        return accounts.annotate(previous_band=Value(None, output_field=CharField())).none()
    on_previous_day = FilteredRelation("snapshots", condition=Q(snapshots__as_of=previous_day))
    return (
        accounts.annotate(previous=on_previous_day)
        .annotate(previous_band=F("previous__band"))
        .filter(previous_band__isnull=False, current_score__isnull=False)
        .exclude(previous_band=F("current_score__band"))
    )


def dashboard_accounts(
    *, accounts: QuerySet[Account], filters: DashboardFilters, today: date
) -> QuerySet[Account]:
    """The active accounts among `accounts` that pass `filters`, in the asked order (nulls
    last, then by name). `accounts` may carry an `open_risks` annotation (added by the risk
    layer); the open-risk filter and sort use it when it is there."""
    result = accounts.filter(status=Account.Status.ACTIVE)
    if filters.q:
        result = result.filter(Q(name__icontains=filters.q) | Q(external_id__icontains=filters.q))
    if filters.segment:
        result = result.filter(segment=filters.segment)
    if filters.region:
        result = result.filter(region=filters.region)
    if filters.owner_id is not None:
        result = result.filter(owner_id=filters.owner_id)
    if filters.bands:
        result = result.filter(_band_q(filters.bands))
    if filters.renewal_within is not None:
        result = result.filter(
            renewal_date__gte=today,
            renewal_date__lte=today + timedelta(days=filters.renewal_within),
        )
    has_risk_counts = "open_risks" in result.query.annotations
    if filters.has_open_risk and has_risk_counts:
        result = result.filter(open_risks__gt=0)
    if filters.moved:
        result = _band_moved(result, previous_scoring_day())
    key = filters.sort.removeprefix("-")
    if key not in SORT_FIELDS or (key == "risks" and not has_risk_counts):
        key = DEFAULT_SORT
    column = F(SORT_FIELDS[key])
    order = (
        column.desc(nulls_last=True)
        if filters.sort.startswith("-")
        else column.asc(nulls_last=True)
    )
    return result.order_by(order, "name", "pk")


def dashboard_page(
    *,
    accounts: QuerySet[Account],
    filters: DashboardFilters,
    today: date,
    page_number: Any = 1,
    per_page: int = PAGE_SIZES[0],
) -> DashboardPage:
    """One page of the dashboard table in six queries (count, page ids, rows, bands,
    sparklines, group names), whatever the page size."""
    ordered = dashboard_accounts(accounts=accounts, filters=filters, today=today)
    # The page's ids first, from a lean query; then its rows with their snapshots and
    # annotations, so that the joins and the open-risk counts cost 25 rows, not thousands.
    page = Paginator(ordered.values_list("pk", flat=True), per_page).get_page(page_number)
    ids = list(page.object_list)
    details = (
        accounts.filter(pk__in=ids)
        .select_related("owner", "current_score__snapshot")
        .defer("current_score__snapshot__measures")
    )
    by_pk = {account.pk: account for account in details}
    accounts_on_page = [by_pk[pk] for pk in ids]
    palette = band_palette()
    sparklines = _sparklines(account_ids=[a.pk for a in accounts_on_page], today=today)
    group_names = _default_group_names()
    rows = [
        _dashboard_row(account, palette, sparklines.get(account.pk), len(group_names), today)
        for account in accounts_on_page
    ]
    sort = filters.sort if filters.sort.removeprefix("-") in SORT_FIELDS else DEFAULT_SORT
    return DashboardPage(
        page=page,
        rows=rows,
        group_names=group_names,
        total=page.paginator.count,
        sort=sort,
        headers={key: _sort_header(key, sort) for key in SORT_FIELDS},
        has_risk_counts="open_risks" in ordered.query.annotations,
        is_filtered=replace(filters, sort=DEFAULT_SORT) != DashboardFilters(),
    )


def _sort_header(key: str, sort: str) -> SortHeader:
    if sort == key:
        return SortHeader(key, SORT_LABELS[key], f"-{key}", "ascending")
    if sort == f"-{key}":
        return SortHeader(key, SORT_LABELS[key], key, "descending")
    return SortHeader(key, SORT_LABELS[key], key, "none")


def _default_group_names() -> list[str]:
    """Column headers for the group scores: the default scorecard's groups, in order."""
    groups = MeasureGroup.objects.filter(scorecard__is_default=True).order_by("position", "id")
    return list(groups.values_list("name", flat=True))


def _current_snapshot(account: Account) -> ScoreSnapshot | None:
    try:
        return account.current_score.snapshot
    except Account.current_score.RelatedObjectDoesNotExist:
        return None


def _dashboard_row(
    account: Account,
    palette: BandPalette,
    sparkline: Sparkline | None,
    group_count: int,
    today: date,
) -> DashboardRow:
    snapshot = _current_snapshot(account)
    groups = list(snapshot.groups) if snapshot else []
    group_scores = [
        (groups[i]["name"], groups[i]["score"]) if i < len(groups) else ("", None)
        for i in range(group_count)
    ]
    owner = account.owner
    return DashboardRow(
        pk=account.pk,
        name=account.name,
        owner_name=(owner.get_full_name() or owner.username) if owner else "",
        segment=account.segment,
        arr=account.arr,
        renewal_date=account.renewal_date,
        renewal_days=(account.renewal_date - today).days if account.renewal_date else None,
        overall=snapshot.overall if snapshot else None,
        band=palette.style(snapshot.band if snapshot else None, snapshot and snapshot.scorecard_id),
        exceptions=[e["reason"] for e in snapshot.exceptions] if snapshot else [],
        trend_7=snapshot.trend_7 if snapshot else None,
        trend_30=snapshot.trend_30 if snapshot else None,
        trend_90=snapshot.trend_90 if snapshot else None,
        direction=_direction(snapshot.trend_30) if snapshot else None,
        sparkline=sparkline,
        group_scores=group_scores,
        open_risks=getattr(account, "open_risks", None),
    )


def _sparklines(*, account_ids: list[int], today: date) -> dict[int, Sparkline]:
    """An SVG polyline of each account's scores over the last 90 days, in one query."""
    start = today - timedelta(days=SPARKLINE_DAYS)
    rows = (
        ScoreSnapshot.objects.filter(
            account_id__in=account_ids, as_of__gt=start, as_of__lte=today, overall__isnull=False
        )
        .order_by("account_id", "as_of")
        .values_list("account_id", "as_of", "overall")
    )
    points: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for account_id, as_of, overall in rows:
        x = (as_of - start).days / SPARKLINE_DAYS * SPARKLINE_WIDTH
        y = SPARKLINE_HEIGHT - float(overall) / 100 * (SPARKLINE_HEIGHT - 2) - 1
        points[account_id].append((round(x, 1), round(y, 1)))
    return {
        account_id: Sparkline(
            points=" ".join(f"{x},{y}" for x, y in line), last_x=line[-1][0], last_y=line[-1][1]
        )
        for account_id, line in points.items()
        if len(line) >= 2
    }


# --- Dashboard summary -------------------------------------------------------------------------


@dataclass(frozen=True)
class BandCount:
    band: BandStyle
    count: int
    arr: Decimal
    count_share: float
    arr_share: float


@dataclass(frozen=True)
class AccountMention:
    pk: int
    name: str
    band: BandStyle
    previous_band: BandStyle | None = None
    renewal_date: date | None = None
    renewal_days: int | None = None


@dataclass(frozen=True)
class DashboardSummary:
    total: int
    band_counts: list[BandCount]
    moved: list[AccountMention]
    moved_count: int
    renewing: list[AccountMention]
    renewing_count: int
    renewing_bands: list[str]
    previous_day: date | None
    top_label: str
    renewal_window: int = RENEWAL_WINDOW_DAYS


def band_counts(*, accounts: QuerySet[Account], palette: BandPalette) -> list[BandCount]:
    """Active accounts and their ARR per current band, best band first (one query)."""
    rows = (
        accounts.filter(status=Account.Status.ACTIVE)
        .values("current_score__band")
        .annotate(count=Count("pk"), arr=Sum("arr"))
        .order_by()
    )
    counts: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for row in rows:
        label = row["current_score__band"] or NOT_SCORED
        counts[label][0] += row["count"]
        counts[label][1] += row["arr"] or Decimal(0)
    total = sum(count for count, _ in counts.values())
    total_arr = sum((arr for _, arr in counts.values()), Decimal(0))
    return [
        BandCount(
            band=palette.style(label),
            count=counts[label][0],
            arr=counts[label][1],
            count_share=counts[label][0] / total if total else 0.0,
            arr_share=float(counts[label][1] / total_arr) if total_arr else 0.0,
        )
        for label in palette.filter_labels
        if label in counts or label != NOT_SCORED
    ]


def dashboard_summary(*, accounts: QuerySet[Account], today: date) -> DashboardSummary:
    """Above the table: counts by band, the accounts whose band moved since the previous
    scoring day, and those renewing within 90 days outside the best band. Eight queries."""
    palette = band_palette()
    counts = band_counts(accounts=accounts, palette=palette)
    active = accounts.filter(status=Account.Status.ACTIVE)
    previous_day = previous_scoring_day()
    moved = _band_moved(active, previous_day).order_by("name", "pk")
    # All of them in one query: a day moves a few accounts in a hundred, and counting them
    # separately would join the previous day's snapshots a second time.
    moved_rows = list(moved.values("pk", "name", "current_score__band", "previous_band"))
    renewing_bands = palette.not_top_labels
    renewing = active.filter(
        _band_q(renewing_bands),
        renewal_date__gte=today,
        renewal_date__lte=today + timedelta(days=RENEWAL_WINDOW_DAYS),
    ).order_by("renewal_date", "name")
    renewing_rows = list(
        renewing.values("pk", "name", "renewal_date", "current_score__band")[:SUMMARY_LIST_LENGTH]
    )
    return DashboardSummary(
        total=sum(c.count for c in counts),
        band_counts=counts,
        moved=[
            AccountMention(
                pk=row["pk"],
                name=row["name"],
                band=palette.style(row["current_score__band"]),
                previous_band=palette.style(row["previous_band"]),
            )
            for row in moved_rows[:SUMMARY_LIST_LENGTH]
        ],
        moved_count=len(moved_rows),
        renewing=[
            AccountMention(
                pk=row["pk"],
                name=row["name"],
                band=palette.style(row["current_score__band"]),
                renewal_date=row["renewal_date"],
                renewal_days=(row["renewal_date"] - today).days,
            )
            for row in renewing_rows
        ],
        renewing_count=(
            renewing.count() if len(renewing_rows) == SUMMARY_LIST_LENGTH else len(renewing_rows)
        ),
        renewing_bands=renewing_bands,
        previous_day=previous_day,
        top_label=palette.labels[0] if palette.labels else "",
    )


def filter_choices(*, accounts: QuerySet[Account]) -> dict[str, list]:
    """The segments, regions and owners that occur among `accounts`, for the filter form."""
    active = accounts.filter(status=Account.Status.ACTIVE).order_by()
    owners = (
        active.filter(owner__isnull=False)
        .values_list("owner_id", "owner__first_name", "owner__last_name", "owner__username")
        .distinct()
    )
    return {
        "segments": sorted(set(active.exclude(segment="").values_list("segment", flat=True))),
        "regions": sorted(set(active.exclude(region="").values_list("region", flat=True))),
        "owners": sorted(
            ((pk, f"{first} {last}".strip() or username) for pk, first, last, username in owners),
            key=lambda owner: owner[1].lower(),
        ),
    }


# --- Account page ------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class ChangeWindow:
    """Rule 11 between the snapshot on or before as_of − days (A) and the current one (B)."""

    days: int
    since: date | None
    overall_a: Decimal | None = None
    overall_b: Decimal | None = None
    delta: float | None = None
    changes: list[MeasureChange] = field(default_factory=list)


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


def account_score(*, account: Account, today: date) -> AccountScore:
    """Everything the account page says about the score, from the current snapshot and the
    snapshots before it. About ten queries, however long the history."""
    snapshot = (
        ScoreSnapshot.objects.filter(current_for__account=account)
        .select_related("scorecard")
        .first()
    )
    palette = band_palette()
    measures = {m.key: m for m in Measure.objects.all()}
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
    return AccountScore(
        snapshot=snapshot,
        band=palette.style(snapshot.band, snapshot.scorecard_id),
        trends=[
            (days, value, _direction(value), f"Change over the last {days} days")
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
            }
            for exception in snapshot.exceptions
        ],
        missing=[_measure_name(measures, key) for key in snapshot.missing_measures],
        groups=_breakdown(account=account, snapshot=snapshot, measures=measures),
        lever=(
            Lever(
                name=_measure_name(measures, lever["measure"]),
                score=(rows_by_key.get(lever["measure"]) or {}).get("score"),
                gain=lever["gain"],
            )
            if lever and lever.get("gain")
            else None
        ),
        changes=_change_windows(snapshot=snapshot, measures=measures),
        history=_history(
            account=account, today=today, palette=palette, scorecard_id=snapshot.scorecard_id
        ),
    )


def account_renewal_likelihood(*, snapshot: ScoreSnapshot | None) -> RenewalLikelihood | None:
    """The renewal likelihood shown on the account page: the calibration of the snapshot's
    scorecard applied to its overall score. None when not scored or when the scorecard has too
    few renewal outcomes (then the page shows nothing). Two queries once fitted."""
    if snapshot is None or snapshot.overall is None:
        return None
    return renewal_likelihood_of(scorecard=snapshot.scorecard, overall=float(snapshot.overall))


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
    *, account: Account, snapshot: ScoreSnapshot, measures: dict[str, Measure]
) -> list[GroupBlock]:
    """Rule 6 per group and measure, with each measure's latest comment up to the snapshot."""
    comments: dict[str, MeasureValue] = {}
    for value in (
        MeasureValue.objects.filter(account=account, as_of__lte=snapshot.as_of)
        .exclude(comment="")
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
    return user.get_full_name() or user.username


def _change_windows(*, snapshot: ScoreSnapshot, measures: dict[str, Measure]) -> list[ChangeWindow]:
    """Rule 11 for the last 7, 30 and 90 days: one query per window."""
    windows = []
    for days in CHANGE_WINDOWS:
        earlier = (
            ScoreSnapshot.objects.filter(
                account_id=snapshot.account_id, as_of__lte=snapshot.as_of - timedelta(days=days)
            )
            .order_by("-as_of")
            .first()
        )
        if earlier is None or earlier.computed is None or snapshot.computed is None:
            windows.append(ChangeWindow(days=days, since=earlier.as_of if earlier else None))
            continue
        changes = engine.score_changes(_contributions(earlier), _contributions(snapshot))
        windows.append(
            ChangeWindow(
                days=days,
                since=earlier.as_of,
                overall_a=earlier.computed,
                overall_b=snapshot.computed,
                delta=float(snapshot.computed - earlier.computed),
                changes=[
                    MeasureChange(
                        key=row.measure_key,
                        name=_measure_name(measures, row.measure_key),
                        change=row.change,
                        contribution_a=None if pd.isna(row.contribution_a) else row.contribution_a,
                        contribution_b=None if pd.isna(row.contribution_b) else row.contribution_b,
                    )
                    for row in changes.itertuples()
                    if row.change != 0
                ],
            )
        )
    return windows


def _contributions(snapshot: ScoreSnapshot) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {engine.MEASURE_KEY: row["key"], engine.CONTRIBUTION: row["contribution"]}
            for row in snapshot.measure_rows
            if row["contribution"] is not None
        ],
        columns=[engine.MEASURE_KEY, engine.CONTRIBUTION],
    ).astype({engine.CONTRIBUTION: float})


def _history(
    *, account: Account, today: date, palette: BandPalette, scorecard_id: int | None
) -> dict:
    """The score history chart's data: dates, scores (null = not scored) and band zones."""
    rows = list(
        ScoreSnapshot.objects.filter(
            account=account, as_of__gt=today - timedelta(days=HISTORY_DAYS), as_of__lte=today
        )
        .order_by("as_of")
        .values_list("as_of", "overall", "band")
    )
    return {
        "labels": [as_of.isoformat() for as_of, _, _ in rows],
        "scores": [float(overall) if overall is not None else None for _, overall, _ in rows],
        "bands": [band for _, _, band in rows],
        "zones": palette.zones.get(scorecard_id, []) if scorecard_id else [],
    }


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


def account_timeline(*, account: Account) -> list[TimelineEntry]:
    """The latest values people entered or commented on, and touchpoints, newest first (three
    queries). Automated values arrive every day and would bury everything else; the
    breakdown shows them. The risk layer adds its own entries with `timeline_merge`."""
    values = (
        MeasureValue.objects.filter(account=account)
        .filter(Q(source=ValueSource.MANUAL) | ~Q(comment=""))
        .select_related("measure", "entered_by")
        .order_by("-as_of", "-id")[:TIMELINE_LENGTH]
    )
    touchpoints = (
        Touchpoint.objects.filter(account=account)
        .select_related("created_by")
        .prefetch_related("contacts")
        .order_by("-occurred_on", "-id")[:TIMELINE_LENGTH]
    )
    entries = [
        TimelineEntry(
            on=value.as_of,
            kind="value",
            title=f"{value.measure.name}: {_format_raw(value.raw_value)} (score {value.score})",
            detail=value.comment,
            by=_person(value.entered_by) or value.get_source_display(),
        )
        for value in values
    ] + [
        TimelineEntry(
            on=touchpoint.occurred_on,
            kind="touchpoint",
            title=f"{touchpoint.get_kind_display()} with "
            + (", ".join(c.name for c in touchpoint.contacts.all()) or "no contact recorded"),
            detail=touchpoint.summary,
            by=_person(touchpoint.created_by),
        )
        for touchpoint in touchpoints
    ]
    return timeline_merge(entries)


def timeline_merge(*entry_lists: list[TimelineEntry]) -> list[TimelineEntry]:
    """Entries from several sources, newest first, at most TIMELINE_LENGTH."""
    merged = [entry for entries in entry_lists for entry in entries]
    return sorted(merged, key=lambda entry: entry.on, reverse=True)[:TIMELINE_LENGTH]


def _format_raw(raw: float) -> str:
    return f"{raw:g}"


# --- Portfolio ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioTotals:
    accounts: int
    scored: int
    arr: Decimal
    average_score: Decimal | None
    arr_at_risk: Decimal
    at_risk_bands: list[str]


@dataclass(frozen=True)
class RollupRow:
    label: str
    param: str
    value: str
    accounts: int
    arr: Decimal
    average_score: Decimal | None
    arr_at_risk: Decimal
    band_counts: list[tuple[BandStyle, int]]


@dataclass(frozen=True)
class Mover:
    pk: int
    name: str
    owner_name: str
    overall: Decimal | None
    band: BandStyle
    trend_30: Decimal


@dataclass(frozen=True)
class Portfolio:
    totals: PortfolioTotals
    band_counts: list[BandCount]
    trend: dict
    rollups: list[tuple[str, list[RollupRow]]]
    movers_down: list[Mover]
    movers_up: list[Mover]
    renewals: list[BandCount]
    renewal_window: int = RENEWAL_WINDOW_DAYS


ROLLUP_DIMENSIONS = (
    ("CSM", "owner", ("owner_id", "owner__first_name", "owner__last_name", "owner__username")),
    ("Segment", "segment", ("segment",)),
    ("Region", "region", ("region",)),
)


def portfolio_overview(*, accounts: QuerySet[Account], today: date) -> Portfolio:
    """The leaders' page: totals, band distribution, 180-day trend, rollups by CSM, segment
    and region, biggest movers and renewals by band. About a dozen queries."""
    palette = band_palette()
    active = accounts.filter(status=Account.Status.ACTIVE)
    at_risk = sorted(palette.bottom_labels)
    totals = active.aggregate(
        accounts=Count("pk"),
        scored=Count("pk", filter=Q(current_score__overall__isnull=False)),
        total_arr=Sum("arr"),
        average_score=Avg("current_score__overall"),
        risky_arr=Sum("arr", filter=palette.at_risk_q()),
    )
    renewing = active.filter(
        renewal_date__gte=today, renewal_date__lte=today + timedelta(days=RENEWAL_WINDOW_DAYS)
    )
    average_score = _two_places(totals["average_score"])
    current = band_counts(accounts=active, palette=palette)
    movers_down, movers_up = _movers(accounts=active, palette=palette)
    return Portfolio(
        totals=PortfolioTotals(
            accounts=totals["accounts"],
            scored=totals["scored"],
            arr=totals["total_arr"] or Decimal(0),
            average_score=average_score,
            arr_at_risk=totals["risky_arr"] or Decimal(0),
            at_risk_bands=at_risk,
        ),
        band_counts=current,
        trend=_portfolio_trend(
            today=today, palette=palette, current=current, average=average_score
        ),
        rollups=[
            (title, _rollup(accounts=active, param=param, columns=columns, palette=palette))
            for title, param, columns in ROLLUP_DIMENSIONS
        ],
        movers_down=movers_down,
        movers_up=movers_up,
        renewals=band_counts(accounts=renewing, palette=palette),
    )


def _two_places(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def _rollup(
    *, accounts: QuerySet[Account], param: str, columns: tuple[str, ...], palette: BandPalette
) -> list[RollupRow]:
    """One row per owner / segment / region, with its band mix (one query)."""
    labels = palette.filter_labels
    band_columns = {
        f"band_{i}": Count("pk", filter=_band_q([label])) for i, label in enumerate(labels)
    }
    rows = (
        accounts.values(*columns)
        .annotate(
            n=Count("pk"),
            total_arr=Sum("arr"),
            average=Avg("current_score__overall"),
            risky_arr=Sum("arr", filter=palette.at_risk_q()),
            **band_columns,
        )
        .order_by(*columns)
    )
    result = []
    for row in rows:
        if param == "owner":
            label = f"{row['owner__first_name']} {row['owner__last_name']}".strip()
            label = label or row["owner__username"] or "No owner"
            value = str(row["owner_id"] or "")
        else:
            value = row[param]
            label = value or f"No {param}"
        result.append(
            RollupRow(
                label=label,
                param=param,
                value=value,
                accounts=row["n"],
                arr=row["total_arr"] or Decimal(0),
                average_score=_two_places(row["average"]),
                arr_at_risk=row["risky_arr"] or Decimal(0),
                band_counts=[
                    (palette.style(label_), row[f"band_{i}"]) for i, label_ in enumerate(labels)
                ],
            )
        )
    return sorted(result, key=lambda r: (-r.arr_at_risk, r.label.lower()))


def _movers(*, accounts: QuerySet[Account], palette: BandPalette) -> tuple[list, list]:
    """The accounts whose score moved most over 30 days (rule 9's trend_30), down and up.

    One pass over the current snapshots' trends (the snapshot rows are wide, so reading them
    once matters more than sorting in the database), then one query for the ten shown."""
    trend = "current_score__snapshot__trend_30"
    trends = list(accounts.filter(**{f"{trend}__isnull": False}).values_list("pk", trend))
    down = heapq.nsmallest(MOVERS_LENGTH, (t for t in trends if t[1] < 0), key=lambda t: t[1])
    up = heapq.nlargest(MOVERS_LENGTH, (t for t in trends if t[1] > 0), key=lambda t: t[1])
    rows = {
        row["pk"]: row
        for row in accounts.filter(pk__in=[pk for pk, _ in down + up]).values(
            "pk",
            "name",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
            "current_score__overall",
            "current_score__band",
            "current_score__snapshot__scorecard_id",
        )
    }

    def mover(pk: int, delta: Decimal) -> Mover:
        row = rows[pk]
        owner = f"{row['owner__first_name']} {row['owner__last_name']}".strip()
        return Mover(
            pk=pk,
            name=row["name"],
            owner_name=owner or (row["owner__username"] or ""),
            overall=row["current_score__overall"],
            band=palette.style(
                row["current_score__band"], row["current_score__snapshot__scorecard_id"]
            ),
            trend_30=delta,
        )

    return [mover(*t) for t in down], [mover(*t) for t in up]


def _portfolio_trend(
    *, today: date, palette: BandPalette, current: list[BandCount], average: Decimal | None
) -> dict:
    """Average score and band mix, weekly over the last 180 days.

    Today's point is the portfolio as it stands (`current`, `average`). The earlier weekly
    points read every snapshot of those dates: the portfolio page is for those who see every
    account, and an account that churned since still counted then. They change only when a
    full run finishes (a backfill), so they are cached under the latest finished full run.
    """
    past = [
        today - timedelta(days=offset)
        for offset in range(
            PORTFOLIO_TREND_STEP_DAYS, PORTFOLIO_TREND_DAYS + 1, PORTFOLIO_TREND_STEP_DAYS
        )
    ][::-1]
    latest_run = (
        ScoreRun.objects.filter(is_full=True, status=ScoreRun.Status.FINISHED)
        .order_by("-pk")
        .values_list("pk", "finished_at")
        .first()
    )
    run_pk, finished_at = latest_run or (None, None)
    finished = finished_at.timestamp() if finished_at else 0
    key = f"healthscore:portfolio-trend:{today.isoformat()}:{run_pk}:{finished}"
    history = cache.get(key)
    if history is None:
        history = _trend_points(dates=past)
        cache.set(key, history, timeout=PORTFOLIO_TREND_CACHE_SECONDS)
    averages, counts = history
    counts = dict(counts)
    shown = [day for day in past if day in averages]
    for item in current:
        counts[(today, item.band.label)] = item.count
    shown.append(today)
    averages = {**averages, today: float(average) if average is not None else None}
    return {
        "labels": [day.isoformat() for day in shown],
        "average": [averages[day] for day in shown],
        "bands": [
            {
                "label": label,
                "color": palette.style(label).color,
                "counts": [counts.get((day, label), 0) for day in shown],
            }
            for label in palette.filter_labels
            if any(counts.get((day, label)) for day in shown)
        ],
    }


def _trend_points(*, dates: list[date]) -> tuple[dict, dict]:
    """Per date, the average score and the count of snapshots per band. Two aggregates that
    the (as_of, overall) and (as_of, band) indexes answer without reading the wide rows."""
    averages = {
        row["as_of"]: round(float(row["total"]) / row["scored"], 2) if row["scored"] else None
        for row in ScoreSnapshot.objects.filter(as_of__in=dates)
        .values("as_of")
        .annotate(total=Sum("overall"), scored=Count("overall"))
        .order_by()
    }
    counts = {
        (row["as_of"], row["band"] or NOT_SCORED): row["count"]
        for row in ScoreSnapshot.objects.filter(as_of__in=dates)
        .values("as_of", "band")
        .annotate(count=Count("*"))
        .order_by()
    }
    return averages, counts


PORTFOLIO_CSV_HEADER = [
    "external_id",
    "name",
    "owner",
    "segment",
    "tier",
    "region",
    "lifecycle",
    "arr",
    "renewal_date",
    "score_date",
    "overall",
    "band",
    "trend_7",
    "trend_30",
    "trend_90",
]


def portfolio_csv_rows(*, accounts: QuerySet[Account]):
    """The portfolio as CSV rows, one per active account, streamed from one query."""
    yield PORTFOLIO_CSV_HEADER
    rows = (
        accounts.filter(status=Account.Status.ACTIVE)
        .order_by("name", "pk")
        .values_list(
            "external_id",
            "name",
            "owner__username",
            "segment",
            "tier",
            "region",
            "lifecycle",
            "arr",
            "renewal_date",
            "current_score__as_of",
            "current_score__overall",
            "current_score__band",
            "current_score__snapshot__trend_7",
            "current_score__snapshot__trend_30",
            "current_score__snapshot__trend_90",
        )
    )
    for row in rows.iterator(chunk_size=2000):
        *head, band, trend_7, trend_30, trend_90 = row
        yield [
            *("" if cell is None else cell for cell in head),
            band or NOT_SCORED,
            *("" if cell is None else cell for cell in (trend_7, trend_30, trend_90)),
        ]
