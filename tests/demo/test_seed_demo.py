"""manage.py seed_demo and the service behind it, demo.services."""

import io
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Avg, Count, F, Q
from django.db.models.functions import ExtractIsoWeekDay
from django.test import RequestFactory

from accounts import roles
from accounts.models import Account, Contact, RenewalOutcome, Touchpoint
from demo import services as demo
from demo.services import bulk
from metrics.models import Metric, MetricValue
from risk.services.sponsor_measures import sponsor_measures_frame
from scorecards.models import Measure, MeasureValue

AS_OF = date(2026, 11, 23)
CENT = Decimal("0.01")


def seed(**overrides) -> demo.DemoSummary:
    arguments = {"accounts": 30, "seed": 7, "days": 35, "as_of": AS_OF} | overrides
    return demo.demo_portfolio_seed(**arguments)


def portfolio_rows() -> dict[str, list[tuple]]:
    """Everything a seed writes, without database ids, in a stable order."""
    through = Touchpoint.contacts.through.objects
    link = ("touchpoint__account__external_id", "touchpoint__occurred_on", "contact__external_id")
    return {
        "accounts": list(
            Account.objects.order_by("external_id").values_list(
                "external_id", "name", "segment", "tier", "region", "industry", "lifecycle",
                "arr", "renewal_date", "owner__username", "status",
            )
        ),
        "contacts": list(
            Contact.objects.order_by("external_id").values_list(
                "external_id", "account__external_id", "name", "email", "title", "role",
                "is_active", "left_on",
            )
        ),
        # One touchpoint per account and day at most, so account and day order them.
        "touchpoints": list(
            Touchpoint.objects.order_by("account__external_id", "occurred_on").values_list(
                "account__external_id", "occurred_on", "kind", "summary", "created_by__username"
            )
        ),
        "touchpoint_contacts": list(through.order_by(*link).values_list(*link)),
        "measure_values": list(
            MeasureValue.objects.order_by(
                "account__external_id", "measure__key", "as_of", "source"
            ).values_list(
                "account__external_id", "measure__key", "as_of", "source", "raw_value", "score",
                "comment", "entered_by__username",
            )
        ),
        "renewal_outcomes": list(
            RenewalOutcome.objects.order_by("account__external_id").values_list(
                "account__external_id", "renewal_date", "outcome", "arr_before", "arr_after"
            )
        ),
    }  # fmt: skip


def values_of(key: str) -> list[tuple[float, Decimal]]:
    return list(MeasureValue.objects.filter(measure__key=key).values_list("raw_value", "score"))


# --- The command -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_command_prints_counts_and_logins():
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "seed_demo", "--accounts", "25", "--days", "21", "--as-of", "2026-11-23",
        stdout=out, stderr=err,
    )  # fmt: skip
    printed = out.getvalue()
    assert Account.objects.count() == 25
    assert f"  contacts         {Contact.objects.count():>10,}\n" in printed
    assert f"  touchpoints      {Touchpoint.objects.count():>10,}\n" in printed
    assert f"  measure values   {MeasureValue.objects.count():>10,}\n" in printed
    assert "password healthscore-demo" in printed
    for username in ("csm1", "csm6", "leader", "ops", "integration"):
        assert f"\n  {username:<12} " in printed
    assert "] Accounts: 25\n" in err.getvalue()


@pytest.mark.django_db
def test_seed_demo_refuses_when_accounts_exist():
    seed()
    with pytest.raises(CommandError, match="30 accounts exist already. Run seed_demo --flush"):
        call_command("seed_demo", "--accounts", "5", "--days", "7", stdout=io.StringIO())
    assert Account.objects.count() == 30


@pytest.mark.django_db
def test_seed_demo_flush_replaces_the_portfolio():
    seed()
    old_ids = list(Account.objects.values_list("pk", flat=True))
    call_command(
        "seed_demo", "--flush", "--accounts", "12", "--days", "14", "--no-progress",
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    assert Account.objects.count() == 12
    assert Account.objects.filter(pk__in=old_ids).count() == 0
    assert get_user_model().objects.count() == len(demo.DEMO_USERS)


@pytest.mark.django_db
def test_seed_demo_rejects_zero_accounts():
    with pytest.raises(CommandError, match="--accounts must be 1 or more"):
        call_command("seed_demo", "--accounts", "0", stdout=io.StringIO())
    assert Account.objects.count() == 0


# --- Users -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_puts_each_user_in_its_role_group():
    seed()
    users = get_user_model().objects
    assert users.filter(groups__name=roles.CSM).count() == 6
    assert list(users.filter(groups__name=roles.CS_LEADER).values_list("username")) == [("leader",)]
    assert list(users.filter(groups__name=roles.CS_OPS).values_list("username")) == [("ops",)]
    assert list(users.filter(groups__name=roles.INTEGRATION).values_list("username")) == [
        ("integration",)
    ]
    assert list(users.filter(is_staff=True).values_list("username")) == [("ops",)]


@pytest.mark.django_db
def test_seed_demo_again_resets_the_demo_password():
    seed()
    csm = get_user_model().objects.get(username="csm1")
    csm.set_password("changed-by-someone")
    csm.save()
    seed(is_flushing=True)
    request = RequestFactory().post("/login/")  # django-axes needs the request
    assert authenticate(request, username="csm1", password=demo.DEMO_PASSWORD) == csm
    assert get_user_model().objects.count() == 9


@pytest.mark.django_db
def test_seed_demo_accounts_are_owned_by_their_segment_team():
    seed(accounts=60)
    teams = {user.username: user.team for user in demo.DEMO_USERS}
    pairs = set(Account.objects.values_list("segment", "owner__username"))
    assert {(segment, teams[username]) for segment, username in pairs} == {
        ("Enterprise", "Enterprise"),
        ("Mid-Market", "Mid-Market"),
        ("SMB", "SMB"),
    }


# --- Determinism -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_same_seed_writes_the_same_rows():
    seed(seed=11)
    first = portfolio_rows()
    seed(seed=11, is_flushing=True)
    assert portfolio_rows() == first


@pytest.mark.django_db
def test_seed_demo_other_seed_writes_other_rows():
    seed(seed=11)
    first = portfolio_rows()
    seed(seed=12, is_flushing=True)
    second = portfolio_rows()
    assert second["accounts"] != first["accounts"]
    assert second["measure_values"] != first["measure_values"]


# --- Contacts and touchpoints ---------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_every_account_has_two_to_eight_contacts():
    seed()
    counted = Account.objects.annotate(contact_count=Count("contacts"))
    assert counted.filter(Q(contact_count__lt=2) | Q(contact_count__gt=8)).count() == 0
    assert counted.count() == 30


@pytest.mark.django_db
def test_seed_demo_some_sponsors_left_and_some_accounts_have_none():
    seed(accounts=300)  # a real book: a few accounts lack a sponsor (about 2 %)
    left = Contact.objects.filter(role=Contact.Role.EXECUTIVE_SPONSOR, is_active=False)
    assert left.count() >= 1
    # A departure lies 3–150 days before as_of.
    assert left.filter(left_on__gt=AS_OF - timedelta(days=3)).count() == 0
    assert left.filter(left_on__lt=AS_OF - timedelta(days=150)).count() == 0
    watched = Contact.objects.filter(role__in=Contact.SPONSOR_ROLES).values("account")
    assert Account.objects.exclude(pk__in=watched).count() >= 1


@pytest.mark.django_db
def test_seed_demo_touchpoints_are_with_contacts_still_at_the_account():
    seed()
    through = Touchpoint.contacts.through.objects
    assert through.exclude(contact__account=F("touchpoint__account")).count() == 0
    assert through.filter(contact__left_on__lte=F("touchpoint__occurred_on")).count() == 0
    assert Touchpoint.objects.filter(contacts=None).count() == 0


# --- Measure values --------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_weekly_values_end_on_as_of():
    seed(days=35)
    dates = set(MeasureValue.objects.filter(measure__key="sponsor_coverage").values_list("as_of"))
    # 35 days: as_of and the five weeks before it.
    assert dates == {(AS_OF - timedelta(days=7 * week),) for week in range(6)}


@pytest.mark.django_db
def test_seed_demo_value_sources():
    seed()
    sources = set(MeasureValue.objects.values_list("measure__key", "source").distinct())
    assert sources == {
        # Derived from the usage metrics (demo/services/metrics.py).
        ("deployment", "computed"),
        ("engagement", "computed"),
        ("adoption", "computed"),
        ("support", "api"),
        ("nps", "api"),
        ("csm_sentiment", "manual"),
        ("roi", "manual"),
        ("sponsor_engagement", "computed"),
        ("sponsor_coverage", "computed"),
    }
    manual = MeasureValue.objects.filter(source="manual")
    assert manual.exclude(entered_by=F("account__owner")).count() == 0
    assert MeasureValue.objects.exclude(source="manual").exclude(entered_by=None).count() == 0
    assert manual.filter(comment="").count() == 0


@pytest.mark.django_db
def test_seed_demo_sentiment_scores_follow_the_steps():
    seed()
    steps = {1.0: Decimal("0"), 2.0: Decimal("25"), 3.0: Decimal("50"), 4.0: Decimal("75")}
    steps[5.0] = Decimal("100")
    pairs = set(values_of("csm_sentiment"))
    assert pairs <= set(steps.items())
    assert (2.0, Decimal("25.00")) in pairs


@pytest.mark.django_db
def test_seed_demo_linear_scores_follow_lo_and_hi():
    seed()
    # support: 0 tickets → 100, 20 or more → 0, i.e. 100 − 5 per ticket.
    for raw, score in values_of("support"):
        assert score == max(Decimal(100) - 5 * Decimal(raw), Decimal(0))
    # nps: −100 → 0, 100 → 100, i.e. (raw + 100) / 2.
    for raw, score in values_of("nps"):
        assert score == (Decimal(raw) + 100) / 2
    # engagement: 0 → 0, 0.8 or more → 100, i.e. raw × 125, rounded half up to cents.
    for raw, score in values_of("engagement"):
        expected = min(Decimal(str(raw)) * 125, Decimal(100))
        assert score == expected.quantize(CENT, rounding=ROUND_HALF_UP)
    # sponsor_engagement: 0 days → 100, 90 or more → 0; 45 days → 50.
    for raw, score in values_of("sponsor_engagement"):
        expected = max(Decimal(100) - Decimal(raw) * 100 / 90, Decimal(0))
        assert score == expected.quantize(CENT, rounding=ROUND_HALF_UP)
    assert set(values_of("sponsor_coverage")) == {(0.0, Decimal("0")), (1.0, Decimal("100"))}


@pytest.mark.django_db
def test_seed_demo_sponsor_measures_agree_with_their_computation():
    """The seeded history of sponsor_engagement and sponsor_coverage ends where the nightly
    computation (risk.services.sponsor_measures) takes over: same raw values on as_of."""
    seed(accounts=150, days=14)
    seeded = {
        (account_id, key): raw
        for account_id, key, raw in MeasureValue.objects.filter(
            as_of=AS_OF, measure__key__in=["sponsor_engagement", "sponsor_coverage"]
        ).values_list("account_id", "measure__key", "raw_value")
    }
    computed = sponsor_measures_frame(as_of=AS_OF)
    expected = {
        (row.account_id, key): getattr(row, key)
        for row in computed.itertuples()
        for key in ("sponsor_engagement", "sponsor_coverage")
        if (row.account_id, key) in seeded
    }
    assert seeded == expected
    # Only brand-new accounts have no values yet.
    assert len(seeded) == 2 * Account.objects.filter(measure_values__as_of=AS_OF).distinct().count()


# --- Renewal outcomes ------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_renewal_outcomes_by_health_rank():
    summary = seed(accounts=200, days=180)
    # 28 % of 200 accounts renewed in the last 90 days: 56 outcomes. By health rank:
    # churned round(56 × 0.20) = 11, downgraded round(56 × 0.12) = 7,
    # expanded round(56 × 0.30) = 17, renewed the other 21.
    counts = dict(RenewalOutcome.objects.values_list("outcome").annotate(n=Count("pk")))
    assert counts == {"churned": 11, "downgraded": 7, "expanded": 17, "renewed": 21}
    assert summary.renewal_outcomes == counts
    churned = RenewalOutcome.objects.filter(outcome="churned")
    assert set(churned.values_list("account__status", "arr_after")) == {("churned", Decimal(0))}
    assert Account.objects.filter(status="churned").count() == 11
    outcomes = RenewalOutcome.objects.all()
    assert outcomes.filter(renewal_date__gt=AS_OF - timedelta(days=1)).count() == 0
    assert outcomes.filter(renewal_date__lt=AS_OF - timedelta(days=90)).count() == 0
    assert outcomes.filter(outcome="expanded", arr_after__lte=F("arr_before")).count() == 0
    assert outcomes.filter(outcome="downgraded", arr_after__gte=F("arr_before")).count() == 0
    kept = outcomes.exclude(outcome="churned")
    assert kept.exclude(account__renewal_date=F("renewal_date") + timedelta(days=365)).count() == 0


@pytest.mark.django_db
def test_seed_demo_churned_accounts_had_lower_sentiment_before_renewal():
    seed(accounts=200, days=180)
    mean = {}
    for is_churned in (True, False):
        raws = [
            raw
            for outcome in RenewalOutcome.objects.filter(
                outcome__in=["churned"] if is_churned else ["renewed", "expanded"]
            )
            for raw in MeasureValue.objects.filter(
                account=outcome.account_id,
                measure__key="csm_sentiment",
                as_of__gte=outcome.renewal_date - timedelta(days=90),
                as_of__lte=outcome.renewal_date,
            ).values_list("raw_value", flat=True)
        ]
        mean[is_churned] = sum(raws) / len(raws)
    assert mean[True] < mean[False] - 1


# --- Bulk loads -----------------------------------------------------------------------------


def table_schema(model) -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, model._meta.db_table)


@pytest.mark.django_db
def test_seed_demo_bulk_load_restores_every_index_and_constraint(monkeypatch):
    models = [Account, Contact, Touchpoint, Touchpoint.contacts.through, MeasureValue]
    before = [table_schema(model) for model in models]
    monkeypatch.setattr(bulk, "BULK_LOAD_MIN_ROWS", 1)
    seed(accounts=10, days=14)
    assert [table_schema(model) for model in models] == before
    duplicate = MeasureValue.objects.first()
    duplicate.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


# --- Usage metrics ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_declares_metrics_and_derives_dear_from_them():
    seed()
    assert sorted(Metric.objects.values_list("key", "unit")) == [
        ("active_users", "users"),
        ("licensed_seats", "seats"),
        ("logins", "logins"),
        ("reports_run", "reports"),
    ]
    sources = dict(
        Measure.objects.filter(source__isnull=False).values_list("key", "source__metric")
    )
    assert sources == {
        "deployment": "active_users",
        "engagement": "logins",
        "adoption": "reports_run",
    }


@pytest.mark.django_db
def test_seed_demo_metrics_have_a_weekly_rhythm():
    seed(accounts=30, days=35)
    by_weekday = {
        row["weekday"]: row["total"]
        for row in MetricValue.objects.filter(metric__key="logins")
        .annotate(weekday=ExtractIsoWeekDay("date"))
        .values("weekday")
        .annotate(total=Avg("value"))
    }
    # An average weekday: Tuesdays and Wednesdays are busiest, weekends quietest (factors 1.2
    # and 0.65 of the level).
    assert max(by_weekday, key=by_weekday.get) in (2, 3)
    assert by_weekday[6] < 0.7 * by_weekday[2]
    assert by_weekday[7] < 0.7 * by_weekday[2]


@pytest.mark.django_db
def test_seed_demo_derived_values_say_their_inputs():
    seed()
    value = (
        MeasureValue.objects.filter(measure__key="deployment", as_of=AS_OF)
        .select_related("account")
        .order_by("account__external_id")
        .first()
    )
    users = MetricValue.objects.filter(
        account=value.account,
        metric__key="active_users",
        date__gt=AS_OF - timedelta(days=28),
        date__lte=AS_OF,
    ).values_list("value", flat=True)
    seats = MetricValue.objects.get(
        account=value.account, metric__key="licensed_seats", date=AS_OF
    ).value
    average = sum(users) / len(users)
    assert value.raw_value == pytest.approx(average / seats, abs=1e-12)
    assert value.comment == (
        f"avg active users (28 d) {demo_number(average)} ÷ licensed seats "
        f"{demo_number(seats)} = {demo_number(average / seats)}"
    )


def demo_number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


@pytest.mark.django_db
def test_a_bulk_load_leaves_every_month_partition_indexed(postgres):
    """The loader drops a table's indexes and builds them again from the catalog, which
    writes a partitioned table's as ON ONLY: run as such they would index no partition."""
    table = MeasureValue._meta.db_table

    with bulk.indexes_rebuilt_after(MeasureValue):
        pass

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass AND NOT indisvalid",
            [table],
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT c.relname, (SELECT count(*) FROM pg_index x WHERE x.indrelid = c.oid) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
        per_partition = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass", [table])
        on_the_table = cursor.fetchone()[0]
    assert per_partition and set(per_partition.values()) == {on_the_table}


def test_the_seeded_history_lands_in_its_month_partitions(postgres):
    """35 days to 23 November 2026 start on 20 October: October and November get their
    partitions, and the default partition (for stragglers) stays empty."""
    seed()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, (SELECT count(*) FROM scorecards_measurevalue v "
            "WHERE v.tableoid = c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'scorecards_measurevalue'::regclass"
        )
        rows = dict(cursor.fetchall())
    assert rows["scorecards_measurevalue_default"] == 0
    assert rows["scorecards_measurevalue_p2026_10"] > 0
    assert rows["scorecards_measurevalue_p2026_11"] > 0
    assert sum(rows.values()) == MeasureValue.objects.count()
