"""The portfolio rollup behind GET /api/v1/portfolio/: accounts and ARR by band, average score
and ARR at risk, overall or grouped by owner, segment, region or tier, for the latest scores
or a date.

One grouped query reads a few hundred tallies (group × band × scorecard) whatever the size of
the portfolio; the totals, the per-group figures and ARR at risk are added up from them here.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, FilteredRelation, Q, QuerySet, Sum

from accounts.models import Account
from healthscore.generations import ACCOUNTS, SCORECARDS, SCORES
from healthscore.read_model_cache import read_model_cached
from scorecards import selectors
from scorecards.choices import BAND_TIER_ORDER, NOT_SCORED, BandTier

GROUP_FIELDS = {
    "owner": "owner__email",
    "segment": "segment",
    "region": "region",
    "tier": "tier",
}
NO_OWNER = "(no owner)"
# Accounts without a score, listed beside the three tiers so that the tiers add up.
TIER_NOT_SCORED = "not_scored"
TIERS = (*reversed(BAND_TIER_ORDER), TIER_NOT_SCORED)


@dataclass
class _Tally:
    """One group's (or the whole portfolio's) figures, added up from the grouped rows; per
    band, [accounts, ARR]."""

    accounts: int = 0
    arr: Decimal = Decimal(0)
    score_sum: Decimal = Decimal(0)
    scored: int = 0
    arr_at_risk: Decimal = Decimal(0)
    bands: dict[str, list] = field(default_factory=lambda: defaultdict(lambda: [0, Decimal(0)]))
    tiers: dict[str, list] = field(default_factory=lambda: defaultdict(lambda: [0, Decimal(0)]))

    def add(
        self,
        *,
        band: str,
        tier: str,
        accounts: int,
        arr: Decimal,
        score_sum: Decimal,
        scored: int,
    ) -> None:
        self.accounts += accounts
        self.arr += arr
        self.score_sum += score_sum
        self.scored += scored
        if tier == BandTier.AT_RISK:
            self.arr_at_risk += arr
        self.bands[band][0] += accounts
        self.bands[band][1] += arr
        self.tiers[tier][0] += accounts
        self.tiers[tier][1] += arr

    def as_row(self, key: Any) -> dict[str, Any]:
        return {
            "key": key,
            "accounts": self.accounts,
            "arr": float(self.arr),
            "average_score": round(float(self.score_sum / self.scored), 2) if self.scored else None,
            "arr_at_risk": float(self.arr_at_risk),
            "bands": [
                {"band": band, "accounts": accounts, "arr": float(arr)}
                for band, (accounts, arr) in sorted(self.bands.items())
            ],
            "tiers": [
                {"tier": tier, "accounts": self.tiers[tier][0], "arr": float(self.tiers[tier][1])}
                for tier in TIERS
            ],
        }


def _score_tallies(
    accounts: QuerySet[Account], key: str | None, as_of: date | None
) -> QuerySet[Account]:
    """Active accounts counted per (group, band, scorecard) of their current score, or of their
    snapshot on `as_of`; an account without one counts with band and scorecard null."""
    accounts = accounts.filter(status=Account.Status.ACTIVE)
    if as_of is None:
        score = "current_score"
        scorecard = "current_score__scorecard_id"
    else:
        score = "day_snapshot"
        scorecard = "day_snapshot__scorecard_id"
        accounts = accounts.annotate(
            day_snapshot=FilteredRelation("snapshots", condition=Q(snapshots__as_of=as_of))
        )
    return (
        accounts.annotate(_band=F(f"{score}__band"), _scorecard=F(scorecard))
        .values(*([key] if key else []), "_band", "_scorecard")
        .annotate(
            _accounts=Count("pk"),
            _arr=Sum("arr"),
            _score_sum=Sum(f"{score}__overall"),
            _scored=Count(f"{score}__overall"),
        )
        .order_by()
    )


@read_model_cached(SCORES, ACCOUNTS, SCORECARDS)
def portfolio_rollup(
    *, accounts: QuerySet[Account], group_by: str | None, as_of: date | None
) -> dict[str, Any]:
    """Rollups over `accounts` (already scoped to the caller). Each group: key, accounts, arr,
    average_score (over scored accounts; null when none), arr_at_risk (ARR of accounts whose
    band is in the at_risk tier of their scorecard: the lowest band by default), per band the
    accounts and ARR, and per tier (healthy, watch, at_risk, then not_scored for accounts
    without a score) the accounts and ARR, so that several scorecards add up. `total` is the
    same over every account."""
    key = GROUP_FIELDS[group_by] if group_by else None
    band_tiers = selectors.band_tiers()
    total = _Tally()
    groups: dict[Any, _Tally] = defaultdict(_Tally)
    for row in _score_tallies(accounts, key, as_of):
        tally = {
            "band": row["_band"] or NOT_SCORED,
            "accounts": row["_accounts"],
            "arr": row["_arr"] or Decimal(0),
            "score_sum": row["_score_sum"] or Decimal(0),
            "scored": row["_scored"],
            "tier": band_tiers.get((row["_scorecard"], row["_band"]), TIER_NOT_SCORED),
        }
        total.add(**tally)
        if key:
            groups[row[key]].add(**tally)
    # Groups in key order with the empty key last, as PostgreSQL orders NULL.
    ordered_keys = sorted(groups, key=lambda group_key: (group_key is None, group_key or ""))
    is_by_owner = group_by == "owner"
    rows = [groups[k].as_row((k or NO_OWNER) if is_by_owner else k) for k in ordered_keys]
    return {
        "date": as_of.isoformat() if as_of else None,
        "group_by": group_by,
        "total": total.as_row(None),
        "groups": rows,
    }
