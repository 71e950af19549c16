"""The demo portfolio behind ``manage.py seed_demo``.

One seed makes the same portfolio every time: demo users for every role, accounts spread over
segments, tiers, regions and industries, contacts with sponsors (some of whom left), touchpoints,
``days`` of measure-value history for the default scorecard's measures (Deployment, Engagement and
Adoption derived from daily usage metrics, demo/services/metrics.py), and renewal outcomes for
the renewals of the last 90 days. Every account follows a latent health path (improving, stable,
declining or recovering); all its signals, its touchpoints and its renewal outcome are drawn from
that path, so trends, risks and the renewal backtest have something real to find.

Speed: 10,000 accounts make about 1.55 million measure values. Model instances and bulk_create
cost over 100 µs a row on the 2-core test machine, so rows are generated as numpy arrays and
written with COPY (PostgreSQL) or executemany (SQLite), one stream per table; big tables get their
indexes rebuilt after the load (_indexes_rebuilt_after). Primary keys are reserved up front, so
child rows point at their parents without reading anything back.

Scores and risks are not computed here: ``recompute_scores`` does that after the seed.
"""

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractUser, Group
from django.db import connection, transaction
from django.utils import timezone

from accounts import roles
from accounts.models import Account, Contact, RenewalOutcome, Touchpoint
from demo.services.accounts import accounts_plan, health_paths, owners_assign
from demo.services.bulk import ids_reserve, indexes_rebuilt_after, rows_insert
from demo.services.contacts import contacts_plan, touchpoints_plan
from demo.services.metrics import (
    DEMO_METRICS,
    DERIVED_SOURCES,
    SEED_OFFSET,
    derived_history_frame,
    metric_values_frame,
)
from demo.services.outcomes import outcomes_decide, renewal_outcome_rows
from demo.services.rows import account_rows, contact_rows, measure_value_rows, touchpoint_rows
from demo.services.shape import (
    DEFAULT_DAYS,
    DEMO_PASSWORD,
    DEMO_USERS,
    MEASURE_KEYS,
    SEGMENTS,
    DemoPortfolioExistsError,
    DemoSummary,
)
from demo.services.values import measure_values_frame
from metrics.models import Metric, MetricValue
from metrics.services import metric_values_copy
from scorecards.models import Measure, MeasureValue
from scorecards.services import partitions
from scorecards.services.versions import scorecard_versions_create_for_measure
from scorecards.validation import measure_source_normalize


@transaction.atomic
def demo_portfolio_seed(
    *,
    accounts: int,
    seed: int,
    as_of: date,
    days: int = DEFAULT_DAYS,
    is_flushing: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Write a demo portfolio of ``accounts`` accounts with ``days`` days of history to ``as_of``.

    The same ``seed`` (and arguments) always writes the same rows. Demo users (``DEMO_USERS``,
    password ``DEMO_PASSWORD``) are created or reset and put in their role's group. Everything
    happens in one transaction: a failure writes nothing.

    Raises DemoPortfolioExistsError when accounts exist and ``is_flushing`` is False; with it,
    every existing account (and, by cascade, all its rows) is deleted first. Raises ValueError
    for fewer than 1 account or day. ``progress`` is called with a short line per stage.
    Scores, snapshots and risks are left to the recompute.
    """
    if accounts < 1:
        raise ValueError("accounts must be 1 or more.")
    if days < 1:
        raise ValueError("days must be 1 or more.")
    report = progress or (lambda line: None)
    measures = _measures_by_key()
    if Account.objects.exists():
        if not is_flushing:
            raise DemoPortfolioExistsError(f"{Account.objects.count()} accounts exist already.")
        report("Deleting the existing accounts and everything they own")
        _accounts_flush()
    report("Demo users")
    users = _demo_users_upsert()

    # Every random draw comes from this one generator, in a fixed order, so a seed always
    # gives the same rows whatever the database holds.
    rng = np.random.default_rng(seed)
    csm_ids_by_team = {
        team: np.array([users[u.username].pk for u in DEMO_USERS if u.team == team])
        for team in (segment.name for segment in SEGMENTS)
    }
    plan = accounts_plan(rng, count=accounts, days=days, as_of=as_of)
    health = health_paths(rng, trajectory=plan.trajectory, days=days)
    outcomes_decide(rng, plan=plan, health=health)
    cast = contacts_plan(rng, plan=plan)
    touches = touchpoints_plan(rng, plan=plan, health=health, cast=cast)
    values = measure_values_frame(
        rng, plan=plan, health=health, cast=cast, touches=touches, measures=measures
    )
    owner_ids = owners_assign(rng, plan=plan, csm_ids_by_team=csm_ids_by_team)
    # Usage arrives as metrics; Deployment, Engagement and Adoption are derived from them.
    usage = metric_values_frame(np.random.default_rng(seed + SEED_OFFSET), plan=plan, health=health)
    derived_ids = [measures[key].pk for key in DERIVED_SOURCES]
    values = pd.concat(
        [
            values[~values["measure_id"].isin(derived_ids)],
            derived_history_frame(usage, plan=plan, measures=measures),
        ],
        ignore_index=True,
    )

    now = timezone.now()
    report(f"Accounts: {accounts:,}")
    account_ids = ids_reserve(Account, accounts)
    rows_insert(Account, account_rows(plan, account_ids, owner_ids=owner_ids, now=now))
    report(f"Contacts: {cast.count:,}")
    contact_ids = ids_reserve(Contact, cast.count)
    rows_insert(Contact, contact_rows(plan, cast, account_ids, contact_ids, now=now))
    report(f"Touchpoints: {touches.count:,}")
    touchpoint_ids = ids_reserve(Touchpoint, touches.count)
    rows_insert(
        Touchpoint, touchpoint_rows(plan, touches, account_ids, touchpoint_ids, owner_ids, now)
    )
    rows_insert(
        Touchpoint.contacts.through,
        pd.DataFrame(
            {
                "touchpoint_id": touchpoint_ids[touches.link_touchpoint],
                "contact_id": contact_ids[touches.link_contact],
            }
        ),
    )
    report(f"Measure values: {len(values):,}")
    # Each month of the history gets its partition, as a backfill's do: rows that land in
    # the default partition would cost every latest-value read its ordered month scan.
    partitions.partitions_ensure(first=as_of - timedelta(days=days - 1), last=as_of)
    rows_insert(MeasureValue, measure_value_rows(values, plan, account_ids, owner_ids, now))
    report(f"Metric values: {len(usage):,}")
    metric_ids = _demo_metrics_declare(measures=measures)
    metric_values_copy(
        pd.DataFrame(
            {
                "account_id": account_ids[usage["account"].to_numpy()],
                "metric_id": usage["metric"].map(metric_ids).to_numpy(),
                "date": plan.date_of(usage["t"].to_numpy()).astype("datetime64[D]").astype(str),
                "value": usage["value"].to_numpy(),
            }
        )
    )
    outcome_rows = renewal_outcome_rows(plan, account_ids, now=now)
    report(f"Renewal outcomes: {len(outcome_rows):,}")
    rows_insert(RenewalOutcome, outcome_rows)

    outcome_counts = outcome_rows["outcome"].value_counts()
    return DemoSummary(
        accounts=accounts,
        churned_accounts=int(plan.is_churned.sum()),
        contacts=cast.count,
        touchpoints=touches.count,
        measure_values=len(values),
        metric_values=len(usage),
        renewal_outcomes={
            outcome: int(outcome_counts.get(outcome, 0))
            for outcome in RenewalOutcome.Outcome.values
        },
        users=DEMO_USERS,
        password=DEMO_PASSWORD,
    )


def _accounts_flush() -> None:
    """Delete every account and, by cascade, everything it owns.

    The biggest tables belong to accounts only, so all their rows go first, one statement each.
    SQLite deletes row by row and updates every index as it goes (its whole-table shortcut is
    off when foreign keys are on), so there the indexes are dropped for the delete and
    re-created on the empty table.
    """
    for model in (MeasureValue, MetricValue, Touchpoint.contacts.through):
        if connection.vendor == "sqlite":
            with indexes_rebuilt_after(model):
                model.objects.all().delete()
        else:
            model.objects.all().delete()
    Account.objects.all().delete()


def _demo_metrics_declare(*, measures: dict[str, Measure]) -> dict[str, int]:
    """Declare the demo metrics and make the default scorecard's usage measures derived from
    them (a new scorecard version where that changes a measure). Returns {key: metric id}."""
    metric_ids = {}
    for key, name, unit in DEMO_METRICS:
        metric, _ = Metric.objects.get_or_create(key=key, defaults={"name": name, "unit": unit})
        metric_ids[key] = metric.pk
    for key, source in DERIVED_SOURCES.items():
        measure = measures[key]
        normal = measure_source_normalize(source)
        if measure.source != normal:
            measure.source = normal
            measure.save(update_fields=["source"])
            scorecard_versions_create_for_measure(measure=measure, user=None)
    return metric_ids


def _measures_by_key() -> dict[str, Measure]:
    measures = {m.key: m for m in Measure.objects.filter(key__in=MEASURE_KEYS)}
    missing = [key for key in MEASURE_KEYS if key not in measures]
    if missing:
        raise ValueError(f"The default scorecard's measures are missing: {', '.join(missing)}.")
    return measures


def _demo_users_upsert() -> dict[str, AbstractUser]:
    """Create or reset the demo users; existing ones get the demo password back."""
    user_model = get_user_model()
    # One hash for all: PBKDF2 takes most of a second, and the password is public anyway.
    password = make_password(DEMO_PASSWORD)
    groups = {group.name: group for group in Group.objects.filter(name__in=roles.ALL_ROLES)}
    users = {}
    for spec in DEMO_USERS:
        user, _ = user_model.objects.get_or_create(username=spec.username)
        user.first_name = spec.first_name
        user.last_name = spec.last_name
        user.email = f"{spec.username}@healthscore.example"
        user.is_active = True
        user.is_staff = spec.is_staff or user.is_superuser
        user.password = password
        user.save()
        user.groups.add(groups[spec.role])
        users[spec.username] = user
    return users
