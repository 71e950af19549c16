"""Read-model of the portfolio page and its CSV: totals, band mix, rollups by CSM, segment
and region, movers, renewals by band and the 180-day trend, for the accounts the user may see."""

import heapq
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
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
    BandCount,
    BandPalette,
    BandStyle,
    band_counts,
    band_palette,
    band_q,
)
from healthscore.generations import ACCOUNTS, SCORECARDS, SCORES
from healthscore.read_model_cache import read_model_cached
from scorecards.choices import NOT_SCORED
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


@read_model_cached(SCORES, ACCOUNTS, SCORECARDS)
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
        f"band_{i}": Count("pk", filter=band_q([label])) for i, label in enumerate(labels)
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
