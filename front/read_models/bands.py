"""Band colours, order and counts shared by every page: one query loads every scorecard's
bands, so a page that shows several scorecards' accounts colours each by its own bands."""

import operator
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce

from django.db.models import (
    Count,
    Q,
    QuerySet,
    Sum,
)

from accounts.models import Account
from healthscore.generations import SCORECARDS
from healthscore.read_model_cache import read_model_cached
from scorecards.choices import BAND_TIER_ORDER, NOT_SCORED, BandTier
from scorecards.models import (
    Band,
)

FLAT_BELOW = Decimal("2")
NOT_SCORED_COLOR = "#52606d"
# The filter value of accounts without a score, beside the three tiers.
TIER_NOT_SCORED = "not_scored"
TIER_COLORS = {
    BandTier.HEALTHY: "#1e8449",
    BandTier.WATCH: "#f1c40f",
    BandTier.AT_RISK: "#c0392b",
    TIER_NOT_SCORED: NOT_SCORED_COLOR,
}


@dataclass(frozen=True)
class BandStyle:
    """How a band (or a tier) looks: its label (always shown as text) and colours with enough
    contrast; `key` is a tier's value in URLs (empty for a band, whose label is its key)."""

    label: str
    color: str
    text_color: str
    key: str = ""


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
    # (scorecard_id, label) → tier (PRODUCT.md "Portfolio tiers").
    tiers: dict[tuple[int, str], str]

    def tier_of(self, label: str | None, scorecard_id: int | None) -> str:
        """The tier of a scorecard's band; TIER_NOT_SCORED when not scored (or unknown)."""
        if not label or label == NOT_SCORED:
            return TIER_NOT_SCORED
        return self.tiers.get((scorecard_id, label), TIER_NOT_SCORED)

    def tier_q(self, tiers: list[str] | tuple[str, ...]) -> Q:
        """Accounts whose current band is in one of `tiers` on its own scorecard."""
        pairs = [
            Q(current_score__scorecard_id=scorecard_id, current_score__band=label)
            for (scorecard_id, label), tier in sorted(self.tiers.items())
            if tier in tiers
        ]
        query = reduce(operator.or_, pairs) if pairs else Q(pk__isnull=True)
        if TIER_NOT_SCORED in tiers:
            query |= Q(current_score__isnull=True) | Q(current_score__band=NOT_SCORED)
        return query

    def style(self, label: str | None, scorecard_id: int | None = None) -> BandStyle:
        if not label or label == NOT_SCORED:
            return BandStyle(NOT_SCORED, NOT_SCORED_COLOR, "#ffffff")
        found = self.by_scorecard.get((scorecard_id, label)) or self.by_label.get(label)
        return found or BandStyle(label, NOT_SCORED_COLOR, "#ffffff")

    def at_risk_q(self) -> Q:
        """Accounts whose current band is in the at_risk tier of its own scorecard: their ARR
        is at risk (a label that is at risk on one scorecard may not be on another)."""
        return self.tier_q([BandTier.AT_RISK])

    @property
    def filter_labels(self) -> list[str]:
        return [*self.labels, NOT_SCORED]

    @property
    def not_top_labels(self) -> list[str]:
        return [label for label in self.filter_labels if label not in self.top_labels]


@read_model_cached(SCORECARDS)
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
        tiers={(band.scorecard_id, band.label): band.tier for band in bands},
    )


def tier_style(tier: str) -> BandStyle:
    """A tier shown like a band: "At risk" on red, "Watch" on yellow, "Healthy" on green."""
    label = NOT_SCORED if tier == TIER_NOT_SCORED else BandTier(tier).label
    color = TIER_COLORS[tier]
    return BandStyle(str(label), color, _text_color(color), key=tier)


# Best first, as the band counts are; "Not scored" last.
TIERS_SHOWN = (*reversed(BAND_TIER_ORDER), TIER_NOT_SCORED)
TIER_CHOICES = [(tier, tier_style(tier).label) for tier in TIERS_SHOWN]


def band_q(labels: list[str] | tuple[str, ...]) -> Q:
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


def trend_direction(delta: Decimal | None) -> str | None:
    """Rule 9: 'up', 'down' or 'flat' (|delta| < 2)."""
    if delta is None:
        return None
    if abs(delta) < FLAT_BELOW:
        return "flat"
    return "up" if delta > 0 else "down"


@dataclass(frozen=True)
class BandCount:
    band: BandStyle
    count: int
    arr: Decimal
    count_share: float
    arr_share: float


def tier_counts(*, accounts: QuerySet[Account], palette: BandPalette) -> list[BandCount]:
    """Active accounts and their ARR per tier of their current band (healthy, watch, at risk,
    then not scored when any), so that several scorecards' accounts add up (one query)."""
    rows = (
        accounts.filter(status=Account.Status.ACTIVE)
        .values("current_score__scorecard_id", "current_score__band")
        .annotate(count=Count("pk"), arr=Sum("arr"))
        .order_by()
    )
    counts: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for row in rows:
        tier = palette.tier_of(row["current_score__band"], row["current_score__scorecard_id"])
        counts[tier][0] += row["count"]
        counts[tier][1] += row["arr"] or Decimal(0)
    total = sum(count for count, _ in counts.values())
    total_arr = sum((arr for _, arr in counts.values()), Decimal(0))
    return [
        BandCount(
            band=tier_style(tier),
            count=counts[tier][0],
            arr=counts[tier][1],
            count_share=counts[tier][0] / total if total else 0.0,
            arr_share=float(counts[tier][1] / total_arr) if total_arr else 0.0,
        )
        for tier in TIERS_SHOWN
        if tier != TIER_NOT_SCORED or tier in counts
    ]


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
