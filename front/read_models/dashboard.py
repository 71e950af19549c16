"""Read-model of the dashboard: the accounts table (filters, sorting, pages, sparklines)
and the summary cards.

Every function takes the accounts the user may see (a queryset that starts from
`accounts.selectors.accounts_visible_to`) and returns plain dataclasses, so templates never
query. The page costs a constant number of queries whatever the number of accounts or the
page size: rows are loaded set-based, and per-row extras (sparklines, band colours) come from
one query each for the whole page.
"""

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    CharField,
    F,
    FilteredRelation,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import NullIf
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import Account
from front.read_models.bands import (
    BandCount,
    BandPalette,
    BandStyle,
    band_palette,
    band_q,
    tier_counts,
    trend_direction,
    trend_title,
)
from healthscore.generations import ACCOUNTS, RISKS, SCORECARDS, SCORES
from healthscore.read_model_cache import read_model_cached
from scorecards.choices import NOT_SCORED, BandTier
from scorecards.learning.likelihood import renewal_likelihood_fits, renewal_likelihood_from_fit
from scorecards.models import (
    CurrentScore,
    MeasureGroup,
    ScoreSnapshot,
)

SPARKLINE_DAYS = 90
SPARKLINE_WIDTH = 96
SPARKLINE_HEIGHT = 24
RENEWAL_WINDOW_DAYS = 90
SUMMARY_LIST_LENGTH = 8
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
ONE = Decimal(1)
TENTH = Decimal("0.1")
PAGE_SIZES = (25, 50)


@dataclass(frozen=True)
class DashboardFilters:
    """What the dashboard form asks for; empty values filter nothing."""

    q: str = ""
    bands: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
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
    coverage: Decimal | None = None
    missing_measures: tuple[str, ...] = ()
    likelihood: float | None = None

    @property
    def coverage_percent(self) -> int | None:
        return None if self.coverage is None else int(round(self.coverage * 100))

    @property
    def is_coverage_partial(self) -> bool:
        return self.coverage is not None and self.coverage < 1

    @property
    def likelihood_percent(self) -> int | None:
        return None if self.likelihood is None else round(self.likelihood * 100)

    # Made once with the page (and cached with it), not on every render.
    url: str = ""
    sparkline_svg: str = ""

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

    # Formatted here rather than with template filters: floatformat, date and {% url %} on
    # every row of a 50-row page cost more than the rest of the cached page together.
    @property
    def arr_text(self) -> str:
        """As floatformat:"0g" shows it (en-us): 1,234,568."""
        return f"{self.arr.quantize(ONE, ROUND_HALF_UP):,}"

    @property
    def overall_text(self) -> str:
        """As floatformat:1: 72.5."""
        return "" if self.overall is None else str(self.overall.quantize(TENTH, ROUND_HALF_UP))

    @property
    def renewal_text(self) -> str:
        return self.renewal_date.isoformat() if self.renewal_date else ""

    @property
    def group_cells(self) -> list[tuple[str, str]]:
        """(group name, score as floatformat:0 shows it, "" when missing) per group column."""
        return [
            (name, "" if score is None else str(Decimal(repr(score)).quantize(ONE, ROUND_HALF_UP)))
            for name, score in self.group_scores
        ]


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
    """The accounts whose current band differs from their band on `previous_day`, like for
    like (scoring rule 13), annotated with `previous_band`: that day's snapshot when it is of
    the current snapshot's scorecard version, else the band the current snapshot recorded
    for the day before by rescoring it under its own version (`previous_band`), so that a
    publish is never counted as customers changing. A join on that day's snapshots (the
    planner may hash it), not a correlated lookup of each account's previous snapshot."""
    if previous_day is None:
        return accounts.annotate(previous_band=Value(None, output_field=CharField())).none()
    on_previous_day = FilteredRelation("snapshots", condition=Q(snapshots__as_of=previous_day))
    current = "current_score__snapshot__"
    same_version = Q(
        previous__scorecard_id=F(f"{current}scorecard_id"),
        previous__scorecard_version=F(f"{current}scorecard_version"),
    )
    # A day before without a score (an account new today) is no move, as without a snapshot.
    recorded = NullIf(NullIf(F(f"{current}previous_band"), Value("")), Value(NOT_SCORED))
    return (
        accounts.annotate(previous=on_previous_day)
        .annotate(
            previous_band=Case(
                When(same_version, then=F("previous__band")),
                default=recorded,
                output_field=CharField(),
            )
        )
        .filter(previous_band__isnull=False, current_score__isnull=False)
        .exclude(previous_band=F("current_score__band"))
    )


def dashboard_filtered(
    *,
    accounts: QuerySet[Account],
    filters: DashboardFilters,
    today: date,
    palette: BandPalette | None = None,
) -> QuerySet[Account]:
    """The active accounts among `accounts` that pass `filters`, unordered. `accounts` may
    carry an `open_risks` annotation (added by the risk layer); the open-risk filter uses it
    when it is there."""
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
        result = result.filter(band_q(filters.bands))
    if filters.tiers:
        result = result.filter((palette or band_palette()).tier_q(filters.tiers))
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
    return result


def dashboard_accounts(
    *,
    accounts: QuerySet[Account],
    filters: DashboardFilters,
    today: date,
    palette: BandPalette | None = None,
) -> QuerySet[Account]:
    """`dashboard_filtered` in the asked order (nulls last, then by name); sorting by open
    risks needs the `open_risks` annotation."""
    result = dashboard_filtered(accounts=accounts, filters=filters, today=today, palette=palette)
    has_risk_counts = "open_risks" in result.query.annotations
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


@read_model_cached(SCORES, RISKS, ACCOUNTS, SCORECARDS)
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
    palette = band_palette()
    ordered = dashboard_accounts(accounts=accounts, filters=filters, today=today, palette=palette)
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
    sparklines = _sparklines(account_ids=[a.pk for a in accounts_on_page], today=today)
    group_names = _default_group_names()
    snapshots = [_current_snapshot(account) for account in accounts_on_page]
    fits = renewal_likelihood_fits(
        scorecard_ids={snapshot.scorecard_id for snapshot in snapshots if snapshot}
    )
    rows = [
        _dashboard_row(
            account, palette, sparklines.get(account.pk), len(group_names), today, fits=fits
        )
        for account in accounts_on_page
    ]
    sort = filters.sort if filters.sort.removeprefix("-") in SORT_FIELDS else DEFAULT_SORT
    return DashboardPage(
        page=_page_detached(page),
        rows=rows,
        group_names=group_names,
        total=page.paginator.count,
        sort=sort,
        headers={key: _sort_header(key, sort) for key in SORT_FIELDS},
        has_risk_counts="open_risks" in ordered.query.annotations,
        is_filtered=replace(filters, sort=DEFAULT_SORT) != DashboardFilters(),
    )


def _page_detached(page: Page) -> Page:
    """The page without its paginator's queryset (its count and number of pages are kept), so
    that caching the page does not load the ids of every matching account."""
    page.paginator.count, page.paginator.num_pages  # noqa: B018 (cached on the paginator)
    page.paginator.object_list = ()
    page.object_list = list(page.object_list)  # already fetched: the page's ids
    return page


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
    *,
    fits: dict[int, dict | None],
) -> DashboardRow:
    snapshot = _current_snapshot(account)
    groups = list(snapshot.groups) if snapshot else []
    group_scores = [
        (groups[i]["name"], groups[i]["score"]) if i < len(groups) else ("", None)
        for i in range(group_count)
    ]
    owner = account.owner
    band = palette.style(snapshot.band if snapshot else None, snapshot and snapshot.scorecard_id)
    return DashboardRow(
        pk=account.pk,
        name=account.name,
        owner_name=(owner.get_full_name() or owner.username) if owner else "",
        segment=account.segment,
        arr=account.arr,
        renewal_date=account.renewal_date,
        renewal_days=(account.renewal_date - today).days if account.renewal_date else None,
        overall=snapshot.overall if snapshot else None,
        band=band,
        exceptions=[e["reason"] for e in snapshot.exceptions] if snapshot else [],
        trend_7=snapshot.trend_7 if snapshot else None,
        trend_30=snapshot.trend_30 if snapshot else None,
        trend_90=snapshot.trend_90 if snapshot else None,
        direction=trend_direction(snapshot.trend_30) if snapshot else None,
        sparkline=sparkline,
        group_scores=group_scores,
        open_risks=getattr(account, "open_risks", None),
        coverage=snapshot.coverage if snapshot else None,
        missing_measures=tuple(snapshot.missing_measures or ()) if snapshot else (),
        # Shown only where the scorecard has enough outcomes (PRODUCT.md: renewal likelihood).
        likelihood=renewal_likelihood_from_fit(
            fits.get(snapshot.scorecard_id),
            None if snapshot.overall is None else float(snapshot.overall),
        )
        if snapshot
        else None,
        url=reverse("front:account-detail", args=[account.pk]),
        sparkline_svg=_sparkline_svg(sparkline, band.color) if sparkline else "",
    )


def _sparkline_svg(line: Sparkline, color: str) -> str:
    """The sparkline's SVG (the markup of front/partials/_sparkline.html)."""
    return format_html(
        '<svg class="spark" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-label="Score over the last 90 days"><polyline points="{}" fill="none" '
        'stroke="currentColor" stroke-width="1.5" stroke-linejoin="round"/>'
        '<circle cx="{}" cy="{}" r="2" fill="{}"/></svg>',
        line.width,
        line.height,
        line.width,
        line.height,
        line.points,
        line.last_x,
        line.last_y,
        color,
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
    tier_counts: list[BandCount]
    moved: list[AccountMention]
    moved_count: int
    renewing: list[AccountMention]
    renewing_count: int
    renewing_tiers: list[str]
    previous_day: date | None
    is_filtered: bool = False
    renewal_window: int = RENEWAL_WINDOW_DAYS


@read_model_cached(SCORES, ACCOUNTS, SCORECARDS)
def dashboard_summary(
    *,
    accounts: QuerySet[Account],
    today: date,
    filters: DashboardFilters | None = None,
) -> DashboardSummary:
    """Above the table, for the accounts the table shows (`filters` applied, so drilling in
    from the portfolio to one CSM counts that CSM's accounts): counts by tier, the accounts
    whose band moved since the previous scoring day, and those renewing within 90 days
    outside the healthy tier. About ten queries."""
    palette = band_palette()
    filters = filters or DashboardFilters()
    active = dashboard_filtered(accounts=accounts, filters=filters, today=today, palette=palette)
    if filters.moved:
        # The moved filter joins the previous day's snapshots; the moved list below joins
        # them again, which one query cannot alias twice.
        active = accounts.filter(pk__in=active.values("pk"))
    counts = tier_counts(accounts=active, palette=palette)
    previous_day = previous_scoring_day()
    moved = _band_moved(active, previous_day).order_by("name", "pk")
    # All of them in one query: a day moves a few accounts in a hundred, and counting them
    # separately would join the previous day's snapshots a second time.
    moved_rows = list(
        moved.values(
            "pk", "name", "current_score__band", "current_score__scorecard_id", "previous_band"
        )
    )
    renewing_tiers = [BandTier.WATCH.value, BandTier.AT_RISK.value]
    renewing = active.filter(
        palette.tier_q(renewing_tiers),
        renewal_date__gte=today,
        renewal_date__lte=today + timedelta(days=RENEWAL_WINDOW_DAYS),
    ).order_by("renewal_date", "name")
    renewing_rows = list(
        renewing.values(
            "pk", "name", "renewal_date", "current_score__band", "current_score__scorecard_id"
        )[:SUMMARY_LIST_LENGTH]
    )
    return DashboardSummary(
        total=sum(c.count for c in counts),
        tier_counts=counts,
        moved=[
            AccountMention(
                pk=row["pk"],
                name=row["name"],
                band=palette.style(row["current_score__band"], row["current_score__scorecard_id"]),
                previous_band=palette.style(
                    row["previous_band"], row["current_score__scorecard_id"]
                ),
            )
            for row in moved_rows[:SUMMARY_LIST_LENGTH]
        ],
        moved_count=len(moved_rows),
        renewing=[
            AccountMention(
                pk=row["pk"],
                name=row["name"],
                band=palette.style(row["current_score__band"], row["current_score__scorecard_id"]),
                renewal_date=row["renewal_date"],
                renewal_days=(row["renewal_date"] - today).days,
            )
            for row in renewing_rows
        ],
        renewing_count=(
            renewing.count() if len(renewing_rows) == SUMMARY_LIST_LENGTH else len(renewing_rows)
        ),
        renewing_tiers=renewing_tiers,
        previous_day=previous_day,
        is_filtered=replace(filters, sort=DEFAULT_SORT) != DashboardFilters(),
    )


@read_model_cached(ACCOUNTS)
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
