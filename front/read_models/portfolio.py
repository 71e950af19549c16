"""Read-model of the portfolio page and its CSV: totals, band mix, rollups by CSM, segment
and region, movers, renewals by band and the 180-day trend, for the accounts the user may see."""

import heapq
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import (
    Avg,
    Count,
    Q,
    QuerySet,
    Sum,
)

from accounts.models import Account
from front.read_models.bands import (
    TIER_NOT_SCORED,
    TIERS_SHOWN,
    BandCount,
    BandPalette,
    BandStyle,
    band_palette,
    tier_counts,
    tier_style,
)
from healthscore.generations import ACCOUNTS, SCORECARDS, SCORES
from healthscore.read_model_cache import read_model_cached
from scorecards.choices import NOT_SCORED
from scorecards.learning.likelihood import renewal_likelihood_fits, renewal_likelihood_from_fit
from scorecards.models import (
    ScoreRun,
    ScoreSnapshot,
)

PORTFOLIO_TREND_DAYS = 180
PORTFOLIO_TREND_STEP_DAYS = 7
PORTFOLIO_TREND_CACHE_SECONDS = 24 * 3600
RENEWAL_WINDOW_DAYS = 90
MOVERS_LENGTH = 5


@dataclass(frozen=True)
class PortfolioTotals:
    accounts: int
    scored: int
    arr: Decimal
    average_score: Decimal | None
    arr_at_risk: Decimal


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
class RenewalTier:
    """Renewals of one tier within the window, with their mean renewal likelihood (over the
    accounts whose scorecard has enough outcomes to show one; None when none has)."""

    band: BandStyle
    count: int
    arr: Decimal
    likelihood: float | None
    likelihood_accounts: int

    @property
    def likelihood_percent(self) -> int | None:
        return None if self.likelihood is None else round(self.likelihood * 100)


@dataclass(frozen=True)
class Portfolio:
    totals: PortfolioTotals
    band_counts: list[BandCount]
    trend: dict
    rollups: list[tuple[str, list[RollupRow]]]
    movers_down: list[Mover]
    movers_up: list[Mover]
    renewals: list[RenewalTier]
    renewal_window: int = RENEWAL_WINDOW_DAYS


ROLLUP_DIMENSIONS = (
    ("CSM", "owner", ("owner_id", "owner__first_name", "owner__last_name", "owner__username")),
    ("Segment", "segment", ("segment",)),
    ("Region", "region", ("region",)),
)


@read_model_cached(SCORES, ACCOUNTS, SCORECARDS)
def portfolio_overview(*, accounts: QuerySet[Account], today: date) -> Portfolio:
    """The leaders' page: totals, band distribution, 180-day trend, rollups by CSM, segment
    and region, biggest movers and renewals by band. About a dozen queries."""
    palette = band_palette()
    active = accounts.filter(status=Account.Status.ACTIVE)
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
    current = tier_counts(accounts=active, palette=palette)
    movers_down, movers_up = _movers(accounts=active, palette=palette)
    return Portfolio(
        totals=PortfolioTotals(
            accounts=totals["accounts"],
            scored=totals["scored"],
            arr=totals["total_arr"] or Decimal(0),
            average_score=average_score,
            arr_at_risk=totals["risky_arr"] or Decimal(0),
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
        renewals=_renewals(accounts=renewing, palette=palette),
    )


def _renewals(*, accounts: QuerySet[Account], palette: BandPalette) -> list[RenewalTier]:
    """Renewals in the window by tier, with each tier's mean renewal likelihood (one query for
    the accounts, then one calibration per scorecard)."""
    rows = list(
        accounts.values_list(
            "arr", "current_score__scorecard_id", "current_score__band", "current_score__overall"
        ).order_by()
    )
    fits = renewal_likelihood_fits(scorecard_ids={row[1] for row in rows if row[1]})
    tally: dict[str, list] = {tier: [0, Decimal(0), 0.0, 0] for tier in TIERS_SHOWN}
    for arr, scorecard_id, band, overall in rows:
        tier = tally[palette.tier_of(band, scorecard_id)]
        tier[0] += 1
        tier[1] += arr or Decimal(0)
        likelihood = renewal_likelihood_from_fit(
            fits.get(scorecard_id), None if overall is None else float(overall)
        )
        if likelihood is not None:
            tier[2] += likelihood
            tier[3] += 1
    return [
        RenewalTier(
            band=tier_style(tier),
            count=count,
            arr=arr,
            likelihood=round(total / shown, 4) if shown else None,
            likelihood_accounts=shown,
        )
        for tier, (count, arr, total, shown) in tally.items()
        if count or tier != TIER_NOT_SCORED
    ]


def _two_places(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def _rollup(
    *, accounts: QuerySet[Account], param: str, columns: tuple[str, ...], palette: BandPalette
) -> list[RollupRow]:
    """One row per owner / segment / region, with its tier mix (one query)."""
    band_columns = {
        f"tier_{i}": Count("pk", filter=palette.tier_q([tier]))
        for i, tier in enumerate(TIERS_SHOWN)
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
                    (tier_style(tier), row[f"tier_{i}"]) for i, tier in enumerate(TIERS_SHOWN)
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
    key = f"healthscore:portfolio-trend-tiers:{today.isoformat()}:{run_pk}:{finished}"
    history = cache.get(key)
    if history is None:
        history = _trend_points(dates=past)
        cache.set(key, history, timeout=PORTFOLIO_TREND_CACHE_SECONDS)
    averages, band_counts = history
    # Tiers are read now, not cached: a tier edited in the admin changes the past points too.
    counts: dict[tuple[date, str], int] = {}
    for (day, scorecard_id, label), count in band_counts.items():
        tier = palette.tier_of(label, scorecard_id)
        counts[(day, tier)] = counts.get((day, tier), 0) + count
    shown = [day for day in past if day in averages]
    for item in current:
        counts[(today, item.band.key)] = item.count
    shown.append(today)
    averages = {**averages, today: float(average) if average is not None else None}
    return {
        "labels": [day.isoformat() for day in shown],
        "days": (today - shown[0]).days,
        "average": [averages[day] for day in shown],
        "bands": [
            {
                "label": tier_style(tier).label,
                "color": tier_style(tier).color,
                "counts": [counts.get((day, tier), 0) for day in shown],
            }
            for tier in TIERS_SHOWN
            if any(counts.get((day, tier)) for day in shown)
        ],
    }


def _trend_points(*, dates: list[date]) -> tuple[dict, dict]:
    """Per date, the average score and the count of snapshots per (scorecard, band). Two
    aggregates over that day's snapshots."""
    averages = {
        row["as_of"]: round(float(row["total"]) / row["scored"], 2) if row["scored"] else None
        for row in ScoreSnapshot.objects.filter(as_of__in=dates)
        .values("as_of")
        .annotate(total=Sum("overall"), scored=Count("overall"))
        .order_by()
    }
    counts = {
        (row["as_of"], row["scorecard_id"], row["band"] or NOT_SCORED): row["count"]
        for row in ScoreSnapshot.objects.filter(as_of__in=dates)
        .values("as_of", "scorecard_id", "band")
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
    "currency",
    "arr",
    "renewal_date",
    "score_date",
    "overall",
    "band",
    "band_tier",
    "coverage",
    "renewal_likelihood",
    "trend_7",
    "trend_30",
    "trend_90",
]
ONE_PLACE = Decimal("0.1")


def _one_place(value: Decimal | None) -> str:
    """Scores in lists have one decimal (the account page shows two): 72.45 → "72.5"."""
    if value is None:
        return ""
    return str(Decimal(value).quantize(ONE_PLACE, rounding=ROUND_HALF_UP))


def portfolio_csv_rows(*, accounts: QuerySet[Account], currency: str):
    """The accounts as CSV rows, one per active account in `accounts` (the portfolio, or the
    dashboard's filtered table), streamed from one query. Scores and trends have one
    decimal as in the page lists; coverage is a share (0–1); renewal_likelihood is the
    calibrated probability (0–1), blank where too few outcomes exist to show one."""
    yield PORTFOLIO_CSV_HEADER
    palette = band_palette()
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
            "current_score__scorecard_id",
            "current_score__snapshot__coverage",
            "current_score__snapshot__trend_7",
            "current_score__snapshot__trend_30",
            "current_score__snapshot__trend_90",
        )
    )
    fits = renewal_likelihood_fits(scorecard_ids=set(palette.zones))
    for row in rows.iterator(chunk_size=2000):
        *head, arr, renewal_date, score_date, overall, band, scorecard_id, coverage = row[:-3]
        likelihood = renewal_likelihood_from_fit(
            fits.get(scorecard_id), None if overall is None else float(overall)
        )
        tier = palette.tier_of(band, scorecard_id)
        yield [
            *("" if cell is None else cell for cell in head),
            currency,
            "" if arr is None else arr,
            renewal_date or "",
            score_date or "",
            _one_place(overall),
            band or NOT_SCORED,
            "" if tier == TIER_NOT_SCORED else tier,
            "" if coverage is None else coverage,
            "" if likelihood is None else likelihood,
            *(_one_place(trend) for trend in row[-3:]),
        ]
