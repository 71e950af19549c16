"""The portfolio rollup behind GET /api/v1/portfolio/: accounts and ARR by band, average score
and ARR at risk, overall or grouped by owner, segment, region or tier, for the latest scores
or a date. Four queries, whatever the size of the portfolio."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import Account
from scorecards.choices import NOT_SCORED
from scorecards.models import Band, ScoreSnapshot

GROUP_FIELDS = {
    "owner": "owner__email",
    "segment": "segment",
    "region": "region",
    "tier": "tier",
}
NO_OWNER = "(no owner)"


def _with_scores(accounts: QuerySet[Account], as_of: date | None) -> QuerySet[Account]:
    """Active accounts with `_overall`, `_band` and `_scorecard` of their latest score (the
    current one) or of `as_of`, and `_at_risk`: the band is the lowest of its scorecard (the
    one starting at 0; Red by default)."""
    accounts = accounts.filter(status=Account.Status.ACTIVE)
    if as_of is None:
        accounts = accounts.annotate(
            _overall=F("current_score__overall"),
            _band_raw=F("current_score__band"),
            _scorecard=F("current_score__snapshot__scorecard_id"),
        )
    else:
        snapshot = ScoreSnapshot.objects.filter(account=OuterRef("pk"), as_of=as_of)
        accounts = accounts.annotate(
            _overall=Subquery(
                snapshot.values("overall")[:1],
                output_field=DecimalField(max_digits=5, decimal_places=2),
            ),
            _band_raw=Subquery(snapshot.values("band")[:1], output_field=CharField()),
            _scorecard=Subquery(snapshot.values("scorecard_id")[:1], output_field=IntegerField()),
        )
    lowest_band = Band.objects.filter(
        scorecard_id=OuterRef("_scorecard"), label=OuterRef("_band_raw"), min_score=0
    )
    return accounts.annotate(
        _band=Coalesce("_band_raw", Value(NOT_SCORED)),
        _at_risk=Exists(lowest_band),
    )


def _money(value: Decimal | None) -> float:
    return float(value or 0)


def _average(value: Decimal | float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def portfolio_rollup(
    *, accounts: QuerySet[Account], group_by: str | None, as_of: date | None
) -> dict[str, Any]:
    """Rollups over `accounts` (already scoped to the caller). Each group: key, accounts, arr,
    average_score (over scored accounts; null when none), arr_at_risk, and per band the
    accounts and ARR. `total` is the same over every account."""
    scored = _with_scores(accounts, as_of)
    key = GROUP_FIELDS[group_by] if group_by else None
    measures = {
        "_accounts": Count("pk"),
        "_arr": Sum("arr"),
        "_average": Avg("_overall"),
        "_arr_at_risk": Sum("arr", filter=Q(_at_risk=True)),
    }
    total = scored.aggregate(**measures)
    band_totals = scored.values("_band").annotate(_accounts=Count("pk"), _arr=Sum("arr"))
    groups: list[dict[str, Any]] = []
    if key:
        rows = scored.values(key).annotate(**measures).order_by(key)
        bands = scored.values(key, "_band").annotate(_accounts=Count("pk"), _arr=Sum("arr"))
        bands_by_key: dict[Any, list[dict]] = {}
        for band in bands.order_by(key, "_band"):
            bands_by_key.setdefault(band[key], []).append(_band_row(band))
        groups = [_group_row(row, row[key], bands_by_key.get(row[key], [])) for row in rows]
        if group_by == "owner":
            for group in groups:
                group["key"] = group["key"] or NO_OWNER
    return {
        "date": as_of.isoformat() if as_of else None,
        "group_by": group_by,
        "total": _group_row(total, None, [_band_row(b) for b in band_totals.order_by("_band")]),
        "groups": groups,
    }


def _band_row(row: dict) -> dict[str, Any]:
    return {"band": row["_band"], "accounts": row["_accounts"], "arr": _money(row["_arr"])}


def _group_row(row: dict, key: Any, bands: list[dict]) -> dict[str, Any]:
    return {
        "key": key,
        "accounts": row["_accounts"],
        "arr": _money(row["_arr"]),
        "average_score": _average(row["_average"]),
        "arr_at_risk": _money(row["_arr_at_risk"]),
        "bands": bands,
    }
