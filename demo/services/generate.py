"""The demo portfolio behind ``manage.py seed_demo``.

One seed makes the same portfolio every time: demo users for every role, accounts spread over
segments, tiers, regions and industries, contacts with sponsors (some of whom left), touchpoints,
``days`` of measure-value history for the default scorecard's measures, and renewal outcomes for
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

import csv
import io
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractUser, Group
from django.db import connection, models, transaction
from django.utils import timezone

from accounts import roles
from accounts.models import Account, Contact, RenewalOutcome, Touchpoint
from scorecards import engine
from scorecards.choices import ValueSource
from scorecards.models import Measure, MeasureValue

DEMO_PASSWORD = "healthscore-demo"
DEFAULT_ACCOUNTS = 300
DEFAULT_DAYS = 180
DEFAULT_SEED = 42
EXTERNAL_ID_PREFIX = "DEMO-"

# Renewals of the last 90 days have an outcome: with 180 days of history, every one of them can
# be scored as of renewal_date − 90 days, the backtest's default horizon.
OUTCOME_WINDOW_DAYS = 90
OUTCOME_SHARE = 0.28
# Outcomes by rank of the account's health around its renewal (lowest first).
CHURNED_SHARE = 0.20
DOWNGRADED_SHARE = 0.12
EXPANDED_SHARE = 0.30

# Touchpoints start this many days before the value history, so that "days since the last
# sponsor touchpoint" is known from the history's first day.
TOUCHPOINT_LEAD_DAYS = 90
# sponsor_engagement's raw value when no touchpoint with a sponsor still at the company is on
# record; the same as risk.services.sponsor_measures, which computes the measure from then on
# (scorecards cannot import risk).
NO_SPONSOR_TOUCH_DAYS = 365

# Loads of at least this many rows rebuild the table's indexes afterwards instead of updating
# them row by row (see _indexes_rebuilt_after).
BULK_LOAD_MIN_ROWS = 100_000
SQLITE_CHUNK_ROWS = 100_000

MEASURE_KEYS = (
    "deployment",
    "engagement",
    "adoption",
    "roi",
    "csm_sentiment",
    "nps",
    "support",
    "sponsor_engagement",
    "sponsor_coverage",
)


class DemoPortfolioExistsError(Exception):
    """Accounts exist already and the caller did not ask to flush them."""


@dataclass(frozen=True)
class DemoUser:
    """A demo login. CSM teams follow the segment they cover."""

    username: str
    first_name: str
    last_name: str
    role: str
    team: str = ""
    is_staff: bool = False


DEMO_USERS = (
    DemoUser("csm1", "Ava", "Chen", roles.CSM, team="Enterprise"),
    DemoUser("csm2", "Ben", "Okafor", roles.CSM, team="Enterprise"),
    DemoUser("csm3", "Chloé", "Martin", roles.CSM, team="Mid-Market"),
    DemoUser("csm4", "Diego", "Alvarez", roles.CSM, team="Mid-Market"),
    DemoUser("csm5", "Emma", "Schulz", roles.CSM, team="SMB"),
    DemoUser("csm6", "Farid", "Haddad", roles.CSM, team="SMB"),
    DemoUser("leader", "Grace", "Kim", roles.CS_LEADER),
    # CS Ops tune scorecards in the Django admin, which needs is_staff.
    DemoUser("ops", "Hugo", "Lindqvist", roles.CS_OPS, is_staff=True),
    DemoUser("integration", "Warehouse", "Sync", roles.INTEGRATION),
)


@dataclass(frozen=True)
class DemoSummary:
    """What a seed wrote. renewal_outcomes: outcome value → count, every outcome listed."""

    accounts: int
    churned_accounts: int
    contacts: int
    touchpoints: int
    measure_values: int
    renewal_outcomes: dict[str, int]
    users: tuple[DemoUser, ...]
    password: str


# --- Portfolio shape -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _SegmentProfile:
    name: str
    share: float
    arr_median: float
    arr_sigma: float
    arr_min: float
    arr_max: float
    tiers: tuple[str, ...]
    tier_shares: tuple[float, ...]
    contacts_min: int
    contacts_max: int
    touch_every_days: float  # mean days between touchpoints at average health
    support_load: float  # multiplies the ticket rate
    sponsor_share: float  # accounts with an executive sponsor
    decision_maker_share: float


SEGMENTS = (
    _SegmentProfile(
        "Enterprise", 0.15, 240_000, 0.55, 80_000, 2_500_000, ("Platinum", "Gold"), (0.6, 0.4),
        4, 8, 8, 1.6, 0.95, 0.85,
    ),
    _SegmentProfile(
        "Mid-Market", 0.35, 55_000, 0.5, 15_000, 250_000, ("Gold", "Silver"), (0.45, 0.55),
        3, 6, 14, 1.0, 0.85, 0.75,
    ),
    _SegmentProfile(
        "SMB", 0.50, 9_000, 0.6, 1_500, 40_000, ("Silver", "Bronze"), (0.4, 0.6),
        2, 4, 28, 0.5, 0.72, 0.6,
    ),
)  # fmt: skip
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_SHARES = (0.45, 0.30, 0.15, 0.10)
LEGAL_SUFFIXES = {
    "NA": ("Inc.", "LLC", "Corp."),
    "EMEA": ("Ltd", "GmbH", "SA", "BV"),
    "APAC": ("Pty Ltd", "Pte Ltd", "KK"),
    "LATAM": ("S.A.", "Ltda.", "S.A. de C.V."),
}
INDUSTRY_WORDS = {
    "Software": ("Systems", "Labs", "Cloud", "Software"),
    "Financial Services": ("Capital", "Financial", "Bank", "Insurance"),
    "Healthcare": ("Health", "Medical", "Clinics", "Care"),
    "Retail": ("Retail", "Outfitters", "Market", "Stores"),
    "Manufacturing": ("Manufacturing", "Industries", "Components", "Works"),
    "Education": ("Learning", "Academy", "Education", "Schools"),
    "Logistics": ("Logistics", "Freight", "Shipping", "Transport"),
    "Media": ("Media", "Studios", "Publishing", "Broadcasting"),
    "Telecommunications": ("Telecom", "Networks", "Communications", "Wireless"),
    "Public Sector": ("County", "Authority", "Agency", "Council"),
}
INDUSTRIES = tuple(INDUSTRY_WORDS)
NAME_STEMS = (
    "Northwind", "Bluefin", "Crescent", "Summit", "Ironwood", "Silverline", "Brightpath",
    "Evergreen", "Harbor", "Keystone", "Lumen", "Meridian", "Nimbus", "Oakridge", "Pinnacle",
    "Quantum", "Redwood", "Sterling", "Tidewater", "Vertex", "Westbrook", "Zenith", "Alder",
    "Beacon", "Cobalt", "Driftwood", "Ember", "Falcon", "Granite", "Helix", "Juniper", "Kestrel",
    "Larkspur", "Mosaic", "Nova", "Orchid", "Polaris", "Riverstone", "Sable", "Trellis",
    "Upland", "Vantage", "Willow", "Yarrow", "Aurora", "Boreal", "Cascade", "Delta",
)  # fmt: skip

# Latent health paths and how often an account follows each.
IMPROVING, STABLE, DECLINING, RECOVERING = 0, 1, 2, 3
TRAJECTORY_SHARES = (0.20, 0.50, 0.22, 0.08)
# Lifecycle of the accounts with a full history; renewing is set from the renewal date.
ADOPTING_SHARE = 0.3
ONBOARDING_SHARE = 0.10  # history starts 14–80 days before as_of
NEW_SHARE = 0.02  # signed days ago: contacts, but no touchpoint or value yet ("not scored")

# Gaps that make some measures stale or missing, so coverage is not always 100 %.
USAGE_FEED_STOPPED_SHARE = 0.03
NPS_MISSING_SHARE = 0.12
ROI_MISSING_SHARE = 0.20
SENTIMENT_STALE_SHARE = 0.07

FIRST_NAMES = (
    "Aisha", "Akira", "Alejandro", "Amara", "Anders", "Anika", "Beatriz", "Carlos", "Chen",
    "Daniela", "David", "Elena", "Emeka", "Fatima", "Felix", "Gabriel", "Hana", "Ingrid", "Isaac",
    "Jamal", "Javier", "Julia", "Kenji", "Laura", "Leila", "Lucas", "Maya", "Mateo", "Mei",
    "Mohammed", "Nadia", "Noah", "Olga", "Omar", "Priya", "Rafael", "Rohan", "Sara", "Sofia",
    "Stefan", "Tariq", "Thandiwe", "Tomás", "Valentina", "Wei", "Yara", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adeyemi", "Andersson", "Bauer", "Becker", "Costa", "Dubois", "Fernández", "Fischer",
    "García", "Gupta", "Haddad", "Hansen", "Ito", "Jansen", "Kaur", "Khan", "Kowalski", "Lee",
    "Lopez", "Mbeki", "Müller", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel",
    "Pereira", "Petrov", "Popescu", "Ramos", "Rossi", "Sato", "Schmidt", "Silva", "Singh",
    "Smith", "Suzuki", "Tan", "Taylor", "Van Dijk", "Wang", "Weber", "Williams", "Wójcik",
    "Yamamoto", "Yilmaz", "Zhang",
)  # fmt: skip
# Contact roles in slot order: sponsor, decision maker, champion, admin, then users.
ROLE_TITLES = {
    Contact.Role.EXECUTIVE_SPONSOR: (
        "VP Operations", "Chief Operating Officer", "CIO", "VP Customer Experience",
        "Chief Revenue Officer",
    ),
    Contact.Role.DECISION_MAKER: (
        "Director of IT", "Head of Procurement", "Director of Operations", "Head of Digital",
    ),
    Contact.Role.CHAMPION: ("Operations Manager", "Product Owner", "Team Lead", "Project Manager"),
    Contact.Role.ADMIN: ("System Administrator", "IT Administrator", "Platform Admin"),
    Contact.Role.USER: ("Analyst", "Specialist", "Coordinator", "Associate", "Engineer"),
}  # fmt: skip
SPONSOR_SUMMARIES = (
    "Quarterly business review",
    "Executive check-in",
    "Success plan review with the sponsor",
    "Renewal planning",
    "Roadmap preview for leadership",
)
ROUTINE_SUMMARIES = (
    "Weekly sync",
    "Admin training",
    "Usage review",
    "Feature adoption workshop",
    "Check-in",
    "Integration setup follow-up",
)
ESCALATION_SUMMARIES = (
    "Escalation: open support tickets",
    "Complaint about performance",
    "Call about budget cuts",
)
KICKOFF_SUMMARY = "Onboarding kickoff"
SENTIMENT_COMMENTS = (
    (
        "Escalation open; sponsor unhappy with our response.",
        "Customer is evaluating a competitor.",
        "No engagement since their budget cuts; renewal in doubt.",
    ),
    (
        "Adoption stalled after the champion left.",
        "Frustrated by open support tickets.",
        "Reorg on their side; new stakeholders unclear on value.",
    ),
    (
        "Steady but quiet; need a QBR to show value.",
        "Mixed feedback from end users.",
        "Usage flat; proposing training.",
    ),
    (
        "Good QBR; expanding to a second team.",
        "Champion engaged, rollout on track.",
        "Positive feedback on the last release.",
    ),
    (
        "Sponsor calls us strategic; happy to be a reference.",
        "Expansion conversation under way.",
        "Every success plan milestone met.",
    ),
)
ROI_COMMENTS = (
    "No value confirmed yet.",
    "Some time savings claimed, not quantified.",
    "Value acknowledged in the QBR, no numbers yet.",
    "Customer confirmed about 15% efficiency gain.",
    "ROI case documented and signed off by the sponsor.",
)


# --- The service ---------------------------------------------------------------------------------


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
    plan = _accounts_plan(rng, count=accounts, days=days, as_of=as_of)
    health = _health_paths(rng, trajectory=plan.trajectory, days=days)
    _outcomes_decide(rng, plan=plan, health=health)
    cast = _contacts_plan(rng, plan=plan)
    touches = _touchpoints_plan(rng, plan=plan, health=health, cast=cast)
    values = _measure_values_frame(
        rng, plan=plan, health=health, cast=cast, touches=touches, measures=measures
    )
    owner_ids = _owners_assign(rng, plan=plan, csm_ids_by_team=csm_ids_by_team)

    now = timezone.now()
    report(f"Accounts: {accounts:,}")
    account_ids = _ids_reserve(Account, accounts)
    _rows_insert(Account, _account_rows(plan, account_ids, owner_ids=owner_ids, now=now))
    report(f"Contacts: {cast.count:,}")
    contact_ids = _ids_reserve(Contact, cast.count)
    _rows_insert(Contact, _contact_rows(plan, cast, account_ids, contact_ids, now=now))
    report(f"Touchpoints: {touches.count:,}")
    touchpoint_ids = _ids_reserve(Touchpoint, touches.count)
    _rows_insert(
        Touchpoint, _touchpoint_rows(plan, touches, account_ids, touchpoint_ids, owner_ids, now)
    )
    _rows_insert(
        Touchpoint.contacts.through,
        pd.DataFrame(
            {
                "touchpoint_id": touchpoint_ids[touches.link_touchpoint],
                "contact_id": contact_ids[touches.link_contact],
            }
        ),
    )
    report(f"Measure values: {len(values):,}")
    _rows_insert(MeasureValue, _measure_value_rows(values, plan, account_ids, owner_ids, now))
    outcome_rows = _renewal_outcome_rows(plan, account_ids, now=now)
    report(f"Renewal outcomes: {len(outcome_rows):,}")
    _rows_insert(RenewalOutcome, outcome_rows)

    outcome_counts = outcome_rows["outcome"].value_counts()
    return DemoSummary(
        accounts=accounts,
        churned_accounts=int(plan.is_churned.sum()),
        contacts=cast.count,
        touchpoints=touches.count,
        measure_values=len(values),
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
    for model in (MeasureValue, Touchpoint.contacts.through):
        if connection.vendor == "sqlite":
            with _indexes_rebuilt_after(model):
                model.objects.all().delete()
        else:
            model.objects.all().delete()
    Account.objects.all().delete()


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


# --- Accounts and their health -------------------------------------------------------------------


@dataclass
class _AccountPlan:
    """One entry per account. Day indexes t run from 0 (as_of − days) to days (as_of)."""

    days: int
    as_of: date
    external_id: np.ndarray
    name: np.ndarray
    segment: np.ndarray  # index into SEGMENTS
    tier: np.ndarray
    region: np.ndarray
    industry: np.ndarray
    arr: np.ndarray  # ARR before any renewal of the last 90 days
    trajectory: np.ndarray
    is_adopting: np.ndarray
    is_onboarding: np.ndarray  # onboarding and new accounts
    start_t: np.ndarray  # first day with data (> days: none yet)
    renewal_date: np.ndarray  # datetime64[D]
    # Filled by _outcomes_decide.
    has_outcome: np.ndarray | None = None
    outcome: np.ndarray | None = None  # RenewalOutcome.Outcome values, "" without outcome
    outcome_date: np.ndarray | None = None  # datetime64[D]
    arr_after: np.ndarray | None = None
    is_churned: np.ndarray | None = None
    end_t: np.ndarray | None = None  # last day with data: the renewal day for churned accounts

    @property
    def count(self) -> int:
        return len(self.external_id)

    @property
    def first_value_t(self) -> np.ndarray:
        """First day with measure values. The weekly values of an account with a full history
        start on or up to 6 days before the history, so that every day of it has fresh ones."""
        return np.where(self.is_onboarding, self.start_t, -((-self.days) % 7))

    def date_of(self, t: np.ndarray) -> np.ndarray:
        """Day indexes → datetime64[D]."""
        return np.datetime64(self.as_of, "D") + (np.asarray(t) - self.days).astype("timedelta64[D]")


def _accounts_plan(rng: np.random.Generator, *, count: int, days: int, as_of: date) -> _AccountPlan:
    """Draw every account's profile: segment, tier, region, industry, ARR, path, lifecycle."""
    segment = rng.choice(len(SEGMENTS), size=count, p=[s.share for s in SEGMENTS])
    tier_draw = rng.random(count)
    tier = np.empty(count, dtype=object)
    arr = np.empty(count)
    arr_noise = rng.standard_normal(count)
    for code, profile in enumerate(SEGMENTS):
        rows = segment == code
        tier[rows] = np.where(tier_draw[rows] < profile.tier_shares[0], *profile.tiers)
        raw_arr = profile.arr_median * np.exp(profile.arr_sigma * arr_noise[rows])
        arr[rows] = np.round(np.clip(raw_arr, profile.arr_min, profile.arr_max), -2)
    region = np.array(REGIONS, dtype=object)[rng.choice(len(REGIONS), size=count, p=REGION_SHARES)]
    industry = np.array(INDUSTRIES, dtype=object)[rng.integers(0, len(INDUSTRIES), size=count)]
    trajectory = rng.choice(len(TRAJECTORY_SHARES), size=count, p=TRAJECTORY_SHARES)

    stage = rng.random(count)
    is_new = stage < NEW_SHARE
    is_onboarding = stage < NEW_SHARE + ONBOARDING_SHARE
    is_adopting = ~is_onboarding & (rng.random(count) < ADOPTING_SHARE)
    onboarding_age = rng.integers(14, 81, size=count)
    new_age = rng.integers(1, 8, size=count)
    start_t = np.where(is_onboarding, np.maximum(days - onboarding_age, 0), 0)
    start_t = np.where(is_new, days + 1, start_t)
    # Onboarding accounts signed a year's contract when they started; the others renew at any
    # time in the next 12 months (the 90-day window's renewals are reset by _outcomes_decide).
    age = np.where(is_new, new_age, days - start_t)
    renewal_in = np.where(is_onboarding, 365 - age, rng.integers(1, 366, size=count))
    renewal_date = np.datetime64(as_of, "D") + renewal_in.astype("timedelta64[D]")

    width = max(5, len(str(count)))
    external_id = np.array(
        [f"{EXTERNAL_ID_PREFIX}{number:0{width}d}" for number in range(1, count + 1)], dtype=object
    )
    name = _company_names(rng, region=region, industry=industry)
    return _AccountPlan(
        days=days,
        as_of=as_of,
        external_id=external_id,
        name=name,
        segment=segment,
        tier=tier,
        region=region,
        industry=industry,
        arr=arr,
        trajectory=trajectory,
        is_adopting=is_adopting,
        is_onboarding=is_onboarding,
        start_t=start_t,
        renewal_date=renewal_date,
    )


def _company_names(
    rng: np.random.Generator, *, region: np.ndarray, industry: np.ndarray
) -> np.ndarray:
    """Believable company names; a repeated name gets a number, so names stay distinct."""
    count = len(region)
    stems = rng.integers(0, len(NAME_STEMS), size=count)
    words = rng.integers(0, 4, size=count)
    suffixes = rng.integers(0, 12, size=count)
    names = []
    for i in range(count):
        base = f"{NAME_STEMS[stems[i]]} {INDUSTRY_WORDS[industry[i]][words[i]]}"
        if industry[i] != "Public Sector":
            legal = LEGAL_SUFFIXES[region[i]]
            base = f"{base} {legal[suffixes[i] % len(legal)]}"
        names.append(base)
    repeat = pd.Series(names).groupby(names).cumcount().to_numpy()
    return np.array(
        [name if k == 0 else f"{name} ({k + 1})" for name, k in zip(names, repeat, strict=True)],
        dtype=object,
    )


def _health_paths(rng: np.random.Generator, *, trajectory: np.ndarray, days: int) -> np.ndarray:
    """Latent health in [0.02, 0.98] per account and day: shape (accounts, days + 1).

    A path runs from a start level through an optional dip (recovering accounts) to an end
    level, plus weekly noise that persists for a few weeks (AR(1)), so that signals wander
    believably instead of jumping.
    """
    count = len(trajectory)
    u = rng.random((count, 4))
    start = np.select(
        [trajectory == IMPROVING, trajectory == STABLE, trajectory == DECLINING],
        [0.25 + 0.35 * u[:, 0], 0.45 + 0.47 * u[:, 0], 0.45 + 0.4 * u[:, 0]],
        default=0.5 + 0.3 * u[:, 0],
    )
    end = np.select(
        [trajectory == IMPROVING, trajectory == STABLE, trajectory == DECLINING],
        [
            start + 0.15 + 0.2 * u[:, 1],
            start + 0.08 * (u[:, 1] - 0.5),
            start - 0.25 - 0.2 * u[:, 1],
        ],
        default=0.55 + 0.25 * u[:, 1],
    )
    is_recovering = trajectory == RECOVERING
    # A recovering account dips, then climbs back to its end level within a fifth of the
    # history. Paths without a dip have it at the very end, at the end level: a straight line.
    dip = np.where(is_recovering, 0.15 + 0.2 * u[:, 2], end)
    dip_at = np.where(is_recovering, 0.3 + 0.3 * u[:, 3], 1.0)[:, None]
    recovered_at = np.minimum(dip_at + 0.2, 1.0)

    share = np.linspace(0.0, 1.0, days + 1)[None, :]
    before = start[:, None] + (dip - start)[:, None] * np.minimum(share / dip_at, 1.0)
    climb = np.clip((share - dip_at) / np.maximum(recovered_at - dip_at, 1e-9), 0.0, 1.0)
    base = before + (end - dip)[:, None] * climb

    weeks = days // 7 + 1
    shocks = rng.normal(0.0, 0.035, size=(count, weeks))
    noise = np.empty_like(shocks)
    noise[:, 0] = shocks[:, 0]
    for week in range(1, weeks):
        noise[:, week] = 0.6 * noise[:, week - 1] + shocks[:, week]
    daily_noise = noise[:, np.arange(days + 1) // 7]
    return np.clip(base + daily_noise, 0.02, 0.98)


def _health_at(health: np.ndarray, account: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Health of each (account, day) pair; days before the history take its first day."""
    return health[account, np.clip(t, 0, health.shape[1] - 1)]


def _outcomes_decide(rng: np.random.Generator, *, plan: _AccountPlan, health: np.ndarray) -> None:
    """Renewals in the last 90 days and what happened at them.

    A fixed share of the accounts with a full history renewed 1–90 days before as_of. They are
    ranked by their mean health over the 60 days before the renewal plus some noise (a CSM can
    still save an unhealthy account, and a healthy one can be lost to a budget cut); the lowest
    ranks churn, the next downgrade, the highest expand, the rest renew. Declining accounts
    therefore churn much more often, which is what a backtest should find.
    """
    count, days = plan.count, plan.days
    eligible = np.flatnonzero(~plan.is_onboarding)
    chosen = np.sort(
        rng.choice(eligible, size=min(len(eligible), round(count * OUTCOME_SHARE)), replace=False)
    )
    renewed_ago = rng.integers(1, OUTCOME_WINDOW_DAYS + 1, size=len(chosen))
    renewal_t = days - renewed_ago
    window = renewal_t[:, None] - np.arange(0, 31)[None, :]
    key = _health_at(health, chosen[:, None], window).mean(axis=1)
    key = key + rng.normal(0.0, 0.1, size=len(chosen))
    rank = np.argsort(np.argsort(key, kind="stable"), kind="stable")
    n = len(chosen)
    churned_n = round(n * CHURNED_SHARE)
    downgraded_n = round(n * DOWNGRADED_SHARE)
    expanded_n = round(n * EXPANDED_SHARE)
    outcome_of_chosen = np.select(
        [rank < churned_n, rank < churned_n + downgraded_n, rank >= n - expanded_n],
        [
            RenewalOutcome.Outcome.CHURNED.value,
            RenewalOutcome.Outcome.DOWNGRADED.value,
            RenewalOutcome.Outcome.EXPANDED.value,
        ],
        default=RenewalOutcome.Outcome.RENEWED.value,
    ).astype(object)
    factor = np.select(
        [
            outcome_of_chosen == RenewalOutcome.Outcome.CHURNED,
            outcome_of_chosen == RenewalOutcome.Outcome.DOWNGRADED,
            outcome_of_chosen == RenewalOutcome.Outcome.EXPANDED,
        ],
        [0.0, rng.uniform(0.5, 0.9, n), rng.uniform(1.15, 1.8, n)],
        default=rng.uniform(1.0, 1.07, n),  # a renewal with the usual price uplift
    )

    has_outcome = np.zeros(count, dtype=bool)
    has_outcome[chosen] = True
    outcome = np.full(count, "", dtype=object)
    outcome[chosen] = outcome_of_chosen
    outcome_date = np.full(count, np.datetime64("NaT"), dtype="datetime64[D]")
    outcome_date[chosen] = plan.date_of(renewal_t)
    arr_after = plan.arr.copy()
    arr_after[chosen] = np.round(plan.arr[chosen] * factor, -2)
    is_churned = outcome == RenewalOutcome.Outcome.CHURNED
    end_t = np.full(count, days)
    end_t[chosen] = np.where(is_churned[chosen], renewal_t, days)
    # A renewed contract runs another year; a churned account keeps its last renewal date.
    plan.renewal_date[chosen] = np.where(
        is_churned[chosen],
        outcome_date[chosen],
        outcome_date[chosen] + np.timedelta64(365, "D"),
    )
    plan.has_outcome, plan.outcome, plan.outcome_date = has_outcome, outcome, outcome_date
    plan.arr_after, plan.is_churned, plan.end_t = arr_after, is_churned, end_t


def _owners_assign(
    rng: np.random.Generator, *, plan: _AccountPlan, csm_ids_by_team: dict[str, np.ndarray]
) -> np.ndarray:
    """Each account goes to a CSM of the team that covers its segment."""
    owner_ids = np.empty(plan.count, dtype=np.int64)
    pick = rng.random(plan.count)
    for code, profile in enumerate(SEGMENTS):
        rows = plan.segment == code
        team = csm_ids_by_team[profile.name]
        owner_ids[rows] = team[(pick[rows] * len(team)).astype(int)]
    return owner_ids


def _lifecycle(plan: _AccountPlan) -> np.ndarray:
    renewal_in = (plan.renewal_date - np.datetime64(plan.as_of, "D")).astype(int)
    return np.select(
        [
            plan.is_onboarding,
            ~plan.is_churned & (renewal_in > 0) & (renewal_in <= 90),
            plan.is_adopting,
        ],
        [
            Account.Lifecycle.ONBOARDING.value,
            Account.Lifecycle.RENEWING.value,
            Account.Lifecycle.ADOPTING.value,
        ],
        default=Account.Lifecycle.MATURE.value,
    )


# --- Contacts and touchpoints --------------------------------------------------------------------

SPONSOR_SLOT, DECISION_MAKER_SLOT = 0, 1
MAX_CONTACTS = max(segment.contacts_max for segment in SEGMENTS)


@dataclass(frozen=True)
class _Cast:
    """Contacts, one entry each, grouped by account (first[a] … first[a] + per_account[a])."""

    account: np.ndarray
    role: np.ndarray
    first_name: np.ndarray
    last_name: np.ndarray
    title: np.ndarray
    left_days_ago: np.ndarray  # -1 = still there
    first: np.ndarray
    per_account: np.ndarray

    @property
    def count(self) -> int:
        return len(self.account)

    def left_t(self, days: int) -> np.ndarray:
        """Day index on which each contact left; one past the history when still there."""
        return np.where(self.left_days_ago >= 0, days - self.left_days_ago, days + 1)

    def role_left_t(self, role: str, days: int) -> np.ndarray:
        """Per account, the day its contact in ``role`` (there is at most one executive sponsor
        and one decision maker) left, one past the history when still there, and before any
        day when the account has none."""
        left_t = np.full(len(self.first), -TOUCHPOINT_LEAD_DAYS - 1)
        holders = self.role == role
        left_t[self.account[holders]] = self.left_t(days)[holders]
        return left_t

    @property
    def is_sponsor(self) -> np.ndarray:
        return np.isin(self.role, [r.value for r in Contact.SPONSOR_ROLES])


def _contacts_plan(rng: np.random.Generator, *, plan: _AccountPlan) -> _Cast:
    """2–8 contacts per account: most have an executive sponsor and/or a decision maker, some
    have neither, and some sponsors left the company (more often at declining accounts)."""
    count = plan.count
    low = np.array([SEGMENTS[s].contacts_min for s in plan.segment])
    high = np.array([SEGMENTS[s].contacts_max for s in plan.segment])
    per_account = rng.integers(low, high + 1)
    has_sponsor = rng.random(count) < np.array([SEGMENTS[s].sponsor_share for s in plan.segment])
    has_dm = rng.random(count) < np.array([SEGMENTS[s].decision_maker_share for s in plan.segment])
    is_declining = plan.trajectory == DECLINING
    has_sponsor_left = has_sponsor & (rng.random(count) < np.where(is_declining, 0.25, 0.06))
    has_dm_left = has_dm & (rng.random(count) < np.where(is_declining, 0.12, 0.04))

    # Slot s of an account: 0 sponsor, 1 decision maker (each when the account has one), then
    # champion, admin and users; accounts without a sponsor or decision maker skip that slot.
    total = int(per_account.sum())
    account = np.repeat(np.arange(count), per_account)
    first = np.concatenate([[0], np.cumsum(per_account)[:-1]])
    position = np.arange(total) - first[account]
    slot = (
        position
        + (~has_sponsor[account])
        + ((~has_dm[account]) & (position >= has_sponsor[account]))
    )
    role = np.select(
        [slot == SPONSOR_SLOT, slot == DECISION_MAKER_SLOT, slot == 2, slot == 3],
        [
            Contact.Role.EXECUTIVE_SPONSOR.value,
            Contact.Role.DECISION_MAKER.value,
            Contact.Role.CHAMPION.value,
            Contact.Role.ADMIN.value,
        ],
        default=Contact.Role.USER.value,
    ).astype(object)
    left_draw = rng.integers(3, 151, size=total)
    has_left = np.select(
        [slot == SPONSOR_SLOT, slot == DECISION_MAKER_SLOT],
        [has_sponsor_left[account], has_dm_left[account]],
        default=rng.random(total) < 0.04,
    )
    # Nobody left a customer before it became one.
    customer_for = np.where(plan.is_onboarding, plan.days - plan.start_t, 10**6)
    has_left &= left_draw < customer_for[account]
    left_days_ago = np.where(has_left, left_draw, -1)
    first_name = np.array(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), total)]
    last_name = np.array(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), total)]
    title_pick = rng.integers(0, 5, size=total)
    title = np.array(
        [ROLE_TITLES[r][k % len(ROLE_TITLES[r])] for r, k in zip(role, title_pick, strict=True)],
        dtype=object,
    )
    return _Cast(
        account=account,
        role=role,
        first_name=first_name,
        last_name=last_name,
        title=title,
        left_days_ago=left_days_ago,
        first=first,
        per_account=per_account,
    )


@dataclass(frozen=True)
class _Touches:
    """Touchpoints (one entry each) and their contacts (link_* pairs, indexes into both)."""

    account: np.ndarray
    t: np.ndarray  # may be negative: the lead-in before the history
    kind: np.ndarray
    summary: np.ndarray
    link_touchpoint: np.ndarray
    link_contact: np.ndarray
    # Per sponsor role, (accounts, lead + days + 1): the column (t + lead) of the latest
    # touchpoint on or before each column with the account's contact in that role; -1 = none.
    last_touch_by_role: dict[str, np.ndarray]

    @property
    def count(self) -> int:
        return len(self.account)


def _touchpoints_plan(
    rng: np.random.Generator, *, plan: _AccountPlan, health: np.ndarray, cast: _Cast
) -> _Touches:
    """Meetings, calls and emails from 90 days before the history to as_of.

    Healthy accounts are touched more often and more of those touchpoints include a sponsor or
    decision maker; at some accounts (mostly declining ones) the sponsor went quiet. Each
    touchpoint has one to three contacts who were still at the company that day.
    """
    count, days, lead = plan.count, plan.days, TOUCHPOINT_LEAD_DAYS
    span = lead + days + 1
    t_grid = np.arange(-lead, days + 1)
    every = np.array([SEGMENTS[s].touch_every_days for s in plan.segment])
    h_grid = health[:, np.clip(t_grid, 0, days)]
    chance = (0.3 + 1.4 * h_grid) / every[:, None]
    record_start = np.where(plan.is_onboarding, plan.start_t, -lead)
    is_open = (t_grid[None, :] >= record_start[:, None]) & (t_grid[None, :] <= plan.end_t[:, None])
    is_touch = (rng.random((count, span)) < chance) & is_open
    # Onboarding starts with a kickoff.
    has_kickoff = plan.is_onboarding & (plan.start_t <= days)
    is_touch[np.flatnonzero(has_kickoff), plan.start_t[has_kickoff] + lead] = True
    account, column = np.nonzero(is_touch)
    t = column - lead
    total = len(account)
    h = _health_at(health, account, t)
    is_kickoff = has_kickoff[account] & (t == plan.start_t[account])

    # Who was there: slots 0..MAX_CONTACTS-1 of each touchpoint's account.
    slots = np.arange(MAX_CONTACTS)[None, :]
    contact = cast.first[account][:, None] + slots
    has_slot = slots < cast.per_account[account][:, None]
    contact = np.where(has_slot, contact, 0)
    is_there = has_slot & (cast.left_t(days)[contact] > t[:, None])
    is_sponsor = cast.is_sponsor[contact]
    sponsor_ok = is_there & is_sponsor
    other_ok = is_there & ~is_sponsor

    is_quiet = rng.random(count) < np.where(plan.trajectory == DECLINING, 0.5, 0.08)
    sponsor_chance = (0.1 + 0.5 * h) * np.where(is_quiet[account], 0.25, 1.0)
    is_sponsor_wanted = (rng.random(total) < sponsor_chance) | is_kickoff | ~other_ok.any(axis=1)
    keys = rng.random((total, MAX_CONTACTS))
    sponsor_keys = np.where(sponsor_ok, keys, np.inf)
    sponsor_slot = sponsor_keys.argmin(axis=1)
    has_sponsor = is_sponsor_wanted & sponsor_ok.any(axis=1)
    others_wanted = np.where(has_sponsor, rng.random(total) < 0.5, 1 + (rng.random(total) < 0.4))
    other_rank = np.where(other_ok, keys, np.inf).argsort(axis=1).argsort(axis=1)
    is_chosen = other_ok & (other_rank < others_wanted[:, None])
    is_chosen[np.flatnonzero(has_sponsor), sponsor_slot[has_sponsor]] = True
    link_touchpoint, link_slot = np.nonzero(is_chosen)
    link_contact = contact[link_touchpoint, link_slot]

    kind_draw = rng.random(total)
    summary_pick = rng.integers(0, 6, size=total)
    is_escalation = ~has_sponsor & (h < 0.35) & (rng.random(total) < 0.4)
    kind = np.select(
        [
            is_kickoff | (has_sponsor & (kind_draw < 0.65)),
            has_sponsor | is_escalation | (kind_draw < 0.35),
            kind_draw < 0.65,
        ],
        [Touchpoint.Kind.MEETING.value, Touchpoint.Kind.CALL.value, Touchpoint.Kind.MEETING.value],
        default=Touchpoint.Kind.EMAIL.value,
    ).astype(object)
    summary = np.select(
        [is_kickoff, has_sponsor, is_escalation],
        [
            KICKOFF_SUMMARY,
            _pick(SPONSOR_SUMMARIES, summary_pick),
            _pick(ESCALATION_SUMMARIES, summary_pick),
        ],
        default=_pick(ROUTINE_SUMMARIES, summary_pick),
    ).astype(object)

    link_role = cast.role[link_contact]
    link_account, link_column = account[link_touchpoint], column[link_touchpoint]
    last_touch_by_role = {}
    for role in Contact.SPONSOR_ROLES:
        is_touched = np.zeros((count, span), dtype=bool)
        is_role = link_role == role
        is_touched[link_account[is_role], link_column[is_role]] = True
        columns = np.where(is_touched, np.arange(span, dtype=np.int32)[None, :], np.int32(-1))
        last_touch_by_role[role.value] = np.maximum.accumulate(columns, axis=1)
    return _Touches(
        account=account,
        t=t,
        kind=kind,
        summary=summary,
        link_touchpoint=link_touchpoint,
        link_contact=link_contact,
        last_touch_by_role=last_touch_by_role,
    )


def _pick(options: tuple[str, ...], index: np.ndarray) -> np.ndarray:
    return np.array(options, dtype=object)[index % len(options)]


# --- Measure values ------------------------------------------------------------------------------


def _measure_values_frame(
    rng: np.random.Generator,
    *,
    plan: _AccountPlan,
    health: np.ndarray,
    cast: _Cast,
    touches: _Touches,
    measures: dict[str, Measure],
) -> pd.DataFrame:
    """Every measure value of the history: account (index), measure_id, t, raw_value, score,
    source, comment, is_manual; sorted by account, measure and day.

    Automated measures arrive weekly on as_of's weekday (usage from the product-analytics feed,
    sponsor engagement and coverage computed from the touchpoints and contacts), CSM sentiment
    every 2–6 weeks, NPS about monthly and ROI about quarterly. A few accounts have a stopped
    usage feed, no NPS respondents, no confirmed ROI or a CSM who stopped entering sentiment.
    """
    count, days = plan.count, plan.days
    first_t = plan.first_value_t
    weekly = days - 7 * np.arange(-(-days // 7) + 1)
    week_account = np.repeat(np.arange(count), len(weekly))
    week_t = np.tile(weekly, count)
    is_open = (week_t >= first_t[week_account]) & (week_t <= plan.end_t[week_account])
    week_account, week_t = week_account[is_open], week_t[is_open]

    has_stopped_feed = rng.random(count) < USAGE_FEED_STOPPED_SHARE
    usage_last_t = np.where(has_stopped_feed, days - rng.integers(50, 111, size=count), days)
    has_usage = week_t <= usage_last_t[week_account]
    usage_account, usage_t = week_account[has_usage], week_t[has_usage]
    n_usage = len(usage_account)
    h = _health_at(health, usage_account, usage_t)
    ramp = np.where(
        plan.is_onboarding[usage_account],
        np.clip(0.15 + (usage_t - first_t[usage_account]) / 75, 0.0, 1.0),
        1.0,
    )
    maturity = np.where(plan.is_adopting[usage_account], 0.85, 1.0)
    support_load = np.array([SEGMENTS[s].support_load for s in plan.segment])[usage_account]

    frames = [
        _values(
            measures["deployment"],
            usage_account,
            usage_t,
            np.round(
                np.clip(
                    ramp * maturity * (0.45 + 0.55 * h) + rng.normal(0, 0.025, n_usage), 0.01, 1
                ),
                3,
            ),
            ValueSource.API,
        ),
        _values(
            measures["engagement"],
            usage_account,
            usage_t,
            np.round(np.clip(0.05 + 0.8 * h + rng.normal(0, 0.05, n_usage), 0, 1), 3),
            ValueSource.API,
        ),
        _values(
            measures["adoption"],
            usage_account,
            usage_t,
            np.round(
                np.clip(ramp * maturity * (0.08 + 0.85 * h) + rng.normal(0, 0.03, n_usage), 0, 1),
                3,
            ),
            ValueSource.API,
        ),
        _values(
            measures["support"],
            usage_account,
            usage_t,
            rng.poisson(support_load * (0.5 + 12 * (1 - h) ** 2)).astype(float),
            ValueSource.API,
        ),
    ]

    # Relationship measures, computed from the touchpoints and contacts generated above the way
    # risk.services.sponsor_measures computes them: only sponsors and decision makers still at
    # the company on the day count.
    column = week_t + TOUCHPOINT_LEAD_DAYS
    last_touch = np.full(len(week_t), -1)
    for role, last_by_column in touches.last_touch_by_role.items():
        is_there = week_t < cast.role_left_t(role, days)[week_account]
        last_touch = np.maximum(
            last_touch, np.where(is_there, last_by_column[week_account, column], -1)
        )
    days_since = np.where(last_touch >= 0, column - last_touch, NO_SPONSOR_TOUCH_DAYS)
    frames.append(
        _values(
            measures["sponsor_engagement"],
            week_account,
            week_t,
            days_since.astype(float),
            ValueSource.COMPUTED,
        )
    )
    sponsor_left_t = cast.role_left_t(Contact.Role.EXECUTIVE_SPONSOR, days)
    frames.append(
        _values(
            measures["sponsor_coverage"],
            week_account,
            week_t,
            (week_t < sponsor_left_t[week_account]).astype(float),
            ValueSource.COMPUTED,
        )
    )

    nps_account, nps_t = _irregular_days(
        rng, plan=plan, latest_ago=(0, 35), gap=(25, 40), is_missing_share=NPS_MISSING_SHARE
    )
    h = _health_at(health, nps_account, nps_t)
    nps = np.clip(np.round(-75 + 170 * h + rng.normal(0, 15, len(h))), -100, 100)
    frames.append(_values(measures["nps"], nps_account, nps_t, nps, ValueSource.API))

    is_stale = rng.random(count) < SENTIMENT_STALE_SHARE
    sentiment_account, sentiment_t = _irregular_days(
        rng,
        plan=plan,
        latest_ago=(0, 20),
        gap=(14, 42),
        stale_ago=np.where(is_stale, rng.integers(65, 111, size=count), 0),
    )
    h = _health_at(health, sentiment_account, sentiment_t)
    sentiment = np.clip(np.round(0.5 + 4.6 * h + rng.normal(0, 0.45, len(h))), 1, 5)
    comment_pick = rng.integers(0, 3, size=len(h))
    comments = np.array(SENTIMENT_COMMENTS, dtype=object)[sentiment.astype(int) - 1, comment_pick]
    frames.append(
        _values(
            measures["csm_sentiment"],
            sentiment_account,
            sentiment_t,
            sentiment,
            ValueSource.MANUAL,
            comments,
        )
    )

    roi_account, roi_t = _irregular_days(
        rng, plan=plan, latest_ago=(0, 90), gap=(85, 100), is_missing_share=ROI_MISSING_SHARE
    )
    h = _health_at(health, roi_account, roi_t)
    roi = np.clip(np.round(0.8 + 4.4 * h + rng.normal(0, 0.6, len(h))), 1, 5)
    frames.append(
        _values(
            measures["roi"],
            roi_account,
            roi_t,
            roi,
            ValueSource.MANUAL,
            np.array(ROI_COMMENTS, dtype=object)[roi.astype(int) - 1],
        )
    )
    values = pd.concat(frames, ignore_index=True)
    return values.sort_values(["account", "measure_id", "t"], kind="stable", ignore_index=True)


def _values(
    measure: Measure,
    account: np.ndarray,
    t: np.ndarray,
    raw: np.ndarray,
    source: str,
    comment: np.ndarray | None = None,
) -> pd.DataFrame:
    """One measure's values, scored by the engine's rule 1 and rounded as stored."""
    scores = engine.measure_scores_from_raw(
        pd.Series(raw, dtype=float),
        measure.mapping_type,
        measure.lo,
        measure.hi,
        measure.higher_is_better,
        measure.steps,
    )
    return pd.DataFrame(
        {
            "account": account,
            "measure_id": measure.pk,
            "t": t,
            "raw_value": raw,
            "score": engine.round_half_up(scores.to_numpy(), 2),
            "source": str(source),
            "comment": "" if comment is None else comment,
            "is_manual": source == ValueSource.MANUAL,
        }
    )


def _irregular_days(
    rng: np.random.Generator,
    *,
    plan: _AccountPlan,
    latest_ago: tuple[int, int],
    gap: tuple[int, int],
    is_missing_share: float = 0.0,
    stale_ago: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Days of a measure entered at irregular intervals, counted back from a recent latest one.

    Returns (account, t) pairs inside each account's history; a ``is_missing_share`` of the
    accounts has none, and ``stale_ago`` pushes an account's latest value that many days back.
    """
    count, days = plan.count, plan.days
    most = days // gap[0] + 2
    latest = days - rng.integers(latest_ago[0], latest_ago[1] + 1, size=count)
    if stale_ago is not None:
        latest = np.where(stale_ago > 0, days - stale_ago, latest)
    steps = rng.integers(gap[0], gap[1] + 1, size=(count, most))
    steps[:, 0] = 0
    t = latest[:, None] - np.cumsum(steps, axis=1)
    is_missing = rng.random(count) < is_missing_share
    is_open = (t >= plan.first_value_t[:, None]) & (t <= plan.end_t[:, None]) & ~is_missing[:, None]
    account, column = np.nonzero(is_open)
    return account, t[account, column]


# --- Rows for the tables -------------------------------------------------------------------------


def _timestamp(now: datetime) -> str:
    return str(connection.ops.adapt_datetimefield_value(now))


def _iso_dates(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days, unit="D").astype(object)


def _account_rows(
    plan: _AccountPlan, account_ids: np.ndarray, *, owner_ids: np.ndarray, now: datetime
) -> pd.DataFrame:
    stamp = _timestamp(now)
    return pd.DataFrame(
        {
            "id": account_ids,
            "external_id": plan.external_id,
            "name": plan.name,
            "segment": np.array([s.name for s in SEGMENTS], dtype=object)[plan.segment],
            "tier": plan.tier,
            "region": plan.region,
            "industry": plan.industry,
            "lifecycle": _lifecycle(plan),
            # A churned account keeps the ARR it had: what the company lost.
            "arr": np.where(plan.is_churned, plan.arr, plan.arr_after),
            "renewal_date": _iso_dates(plan.renewal_date),
            "owner_id": owner_ids,
            "status": np.where(
                plan.is_churned, Account.Status.CHURNED.value, Account.Status.ACTIVE.value
            ),
            "created_at": stamp,
            "updated_at": stamp,
        }
    )


def _contact_rows(
    plan: _AccountPlan,
    cast: _Cast,
    account_ids: np.ndarray,
    contact_ids: np.ndarray,
    *,
    now: datetime,
) -> pd.DataFrame:
    stamp = _timestamp(now)
    has_left = cast.left_days_ago >= 0
    left_on = plan.date_of(plan.days - np.where(has_left, cast.left_days_ago, 0))
    domain = np.array([_email_domain(name) for name in plan.name], dtype=object)[cast.account]
    position = np.arange(cast.count) - cast.first[cast.account] + 1
    return pd.DataFrame(
        {
            "id": contact_ids,
            "account_id": account_ids[cast.account],
            "external_id": [
                f"{external_id}-C{k}"
                for external_id, k in zip(plan.external_id[cast.account], position, strict=True)
            ],
            "name": cast.first_name + " " + cast.last_name,
            "email": [
                f"{_ascii(first)}.{_ascii(last)}@{d}"
                for first, last, d in zip(cast.first_name, cast.last_name, domain, strict=True)
            ],
            "title": cast.title,
            "role": cast.role,
            "is_active": ~has_left,
            "left_on": np.where(has_left, _iso_dates(left_on), None),
            "created_at": stamp,
            "updated_at": stamp,
        }
    )


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return folded.lower().replace(" ", "")


def _email_domain(company: str) -> str:
    words = _ascii(company.split(" (")[0]).replace(".", "")
    stem = "".join(ch for ch in words[:40] if ch.isalnum())
    return f"{stem}.example"


def _touchpoint_rows(
    plan: _AccountPlan,
    touches: _Touches,
    account_ids: np.ndarray,
    touchpoint_ids: np.ndarray,
    owner_ids: np.ndarray,
    now: datetime,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": touchpoint_ids,
            "account_id": account_ids[touches.account],
            "kind": touches.kind,
            "occurred_on": _iso_dates(plan.date_of(touches.t)),
            "summary": touches.summary,
            "created_by_id": owner_ids[touches.account],
            "created_at": _timestamp(now),
        }
    )


def _measure_value_rows(
    values: pd.DataFrame,
    plan: _AccountPlan,
    account_ids: np.ndarray,
    owner_ids: np.ndarray,
    now: datetime,
) -> pd.DataFrame:
    account = values["account"].to_numpy()
    t = values["t"].to_numpy()
    # Format each day once, not once per value.
    earliest = int(t.min()) if len(t) else 0
    dates = _iso_dates(plan.date_of(np.arange(earliest, plan.days + 1)))
    # Manual values were entered by the account's CSM.
    entered_by = pd.Series(owner_ids[account], dtype="Int64").where(values["is_manual"])
    return pd.DataFrame(
        {
            "account_id": account_ids[account],
            "measure_id": values["measure_id"].to_numpy(),
            "raw_value": values["raw_value"].to_numpy(),
            "score": values["score"].to_numpy(),
            "as_of": dates[t - earliest],
            "source": values["source"].to_numpy(),
            "comment": values["comment"].to_numpy(),
            "entered_by_id": entered_by,
            "created_at": _timestamp(now),
        }
    )


def _renewal_outcome_rows(
    plan: _AccountPlan, account_ids: np.ndarray, *, now: datetime
) -> pd.DataFrame:
    chosen = np.flatnonzero(plan.has_outcome)
    return pd.DataFrame(
        {
            "account_id": account_ids[chosen],
            "renewal_date": _iso_dates(plan.outcome_date[chosen]),
            "outcome": plan.outcome[chosen],
            "arr_before": plan.arr[chosen],
            "arr_after": plan.arr_after[chosen],
            "created_at": _timestamp(now),
        }
    )


# --- Bulk writes ---------------------------------------------------------------------------------


def _ids_reserve(model: type[models.Model], count: int) -> np.ndarray:
    """Take ``count`` primary keys for ``model`` that no other writer can take.

    PostgreSQL: from the table's sequence. SQLite: past the highest id ever given; the seed's
    transaction already wrote (the demo users), so it holds SQLite's single write lock and no
    other connection can insert until it commits.
    """
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, count],
            )
            return np.sort(np.array([row[0] for row in cursor.fetchall()], dtype=np.int64))
        if connection.vendor == "sqlite":
            quoted = connection.ops.quote_name
            cursor.execute(f"SELECT COALESCE(MAX({quoted(column)}), 0) FROM {quoted(table)}")
            highest = cursor.fetchone()[0]
            # AUTOINCREMENT never reuses an id, even of a deleted row.
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            highest = max(highest, row[0] if row else 0)
            return np.arange(highest + 1, highest + count + 1, dtype=np.int64)
    raise NotImplementedError(f"seed_demo supports PostgreSQL and SQLite, not {connection.vendor}.")


def _rows_insert(model: type[models.Model], rows: pd.DataFrame) -> None:
    """Insert ``rows`` (columns named after ``model``'s table columns) in one statement stream:
    COPY on PostgreSQL, executemany elsewhere. Big loads rebuild the indexes afterwards
    (:func:`_indexes_rebuilt_after`).

    Values must be ready for the database: ints, floats, ISO date strings, timestamps from
    ``_timestamp``; None / NA for NULL. Without an ``id`` column the database numbers the rows.
    """
    if rows.empty:
        return
    if len(rows) < BULK_LOAD_MIN_ROWS:
        _rows_write(model, rows)
        return
    with _indexes_rebuilt_after(model):
        _rows_write(model, rows)


def _rows_write(model: type[models.Model], rows: pd.DataFrame) -> None:
    quoted = connection.ops.quote_name
    table = quoted(model._meta.db_table)
    columns = ", ".join(quoted(column) for column in rows.columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # NULL is \N, so that an empty string stays an empty string.
            cursor.copy_expert(
                f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                _CsvChunks(rows),
                1 << 16,  # bytes per read
            )
            return
        placeholders = ", ".join(["%s"] * len(rows.columns))
        # In chunks, so that only a chunk at a time exists as Python tuples.
        for start in range(0, len(rows), SQLITE_CHUNK_ROWS):
            chunk = rows.iloc[start : start + SQLITE_CHUNK_ROWS]
            as_lists = [_python_values(chunk[column]) for column in chunk.columns]
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
                list(zip(*as_lists, strict=True)),
            )


class _CsvChunks(io.TextIOBase):
    """``rows`` as CSV for COPY, formatted a chunk at a time as COPY reads: PostgreSQL parses
    one chunk while the next is formatted, so both cores work."""

    def __init__(self, rows: pd.DataFrame, chunk_rows: int = 20_000) -> None:
        self._rows = rows
        self._chunk_rows = chunk_rows
        self._next_row = 0
        self._buffer = io.StringIO()

    def read(self, size: int | None = -1) -> str:
        text = self._buffer.read(size)
        while not text and self._next_row < len(self._rows):
            chunk = self._rows.iloc[self._next_row : self._next_row + self._chunk_rows]
            self._next_row += self._chunk_rows
            self._buffer = io.StringIO(
                chunk.to_csv(index=False, header=False, quoting=csv.QUOTE_MINIMAL, na_rep=r"\N")
            )
            text = self._buffer.read(size)
        return text


@contextmanager
def _indexes_rebuilt_after(model: type[models.Model]) -> Iterator[None]:
    """Drop the table's secondary indexes, and on PostgreSQL its unique and foreign-key
    constraints, for the duration of a load; then re-create them from their catalog definitions.

    This is the databases' own advice for populating a table: one index build over all rows is
    much faster than updating every index row by row, and validating a foreign key with one
    query much faster than a trigger call per row. Loading the 1.5 million measure values of
    10,000 accounts on the (busy) 2-core test machine took PostgreSQL 96 s with its 8 indexes
    and 3 foreign keys in place and 39 s this way; SQLite 26 s and 19 s.

    The definitions are read back from the catalog, so the table ends exactly as it was. The DDL
    is part of the seed's transaction: a failure rolls it back with the rows. Until the seed
    commits, the table is locked for other writers, and on PostgreSQL, where dropping a foreign
    key locks the table it references too, accounts, users and measures are locked for readers
    as well: run big seeds when nobody uses the app. Small loads (BULK_LOAD_MIN_ROWS) skip this.
    """
    table = model._meta.db_table
    quoted = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            drop_sql, create_sql = _postgresql_index_ddl(cursor, table)
            # PostgreSQL refuses to alter a table with foreign-key checks still queued in the
            # transaction (every earlier insert queued some): run them now. Django makes every
            # foreign key DEFERRABLE INITIALLY DEFERRED, so ALL DEFERRED restores the default.
            drop_sql.insert(0, "SET CONSTRAINTS ALL IMMEDIATE")
            create_sql.append("SET CONSTRAINTS ALL DEFERRED")
            # Index builds sort in memory up to this much (the default is 64 MB).
            drop_sql.append("SET LOCAL maintenance_work_mem = '256MB'")
        else:
            # SQLite keeps unique constraints inside the table (their sql IS NULL): they stay.
            cursor.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL ORDER BY name",
                [table],
            )
            indexes = cursor.fetchall()
            drop_sql = [f"DROP INDEX {quoted(name)}" for name, _ in indexes]
            create_sql = [sql for _, sql in indexes]
        for sql in drop_sql:
            cursor.execute(sql)
    yield
    with connection.cursor() as cursor:
        for sql in create_sql:
            cursor.execute(sql)


def _postgresql_index_ddl(cursor, table: str) -> tuple[list[str], list[str]]:
    """The statements that drop a table's unique and foreign-key constraints and its other
    non-primary indexes, and those that re-create them: unique constraints and indexes first,
    so that each foreign key is then validated in one pass."""
    quoted = connection.ops.quote_name
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
        "ORDER BY i.relname",
        [table],
    )
    indexes = cursor.fetchall()
    alter = f"ALTER TABLE {quoted(table)}"
    drop_sql = [f"{alter} DROP CONSTRAINT {quoted(name)}" for name, _, _ in constraints]
    drop_sql += [f"DROP INDEX {quoted(name)}" for name, _ in indexes]
    add = {kind: [] for kind in ("u", "f")}
    for name, kind, definition in constraints:
        add[kind].append(f"{alter} ADD CONSTRAINT {quoted(name)} {definition}")
    create_sql = add["u"] + [definition for _, definition in indexes] + add["f"]
    return drop_sql, create_sql


def _python_values(column: pd.Series) -> list:
    """A column as plain Python values (the sqlite3 driver rejects numpy scalars), NULL as None."""
    if column.dtype == object:
        return [None if value is None or value is pd.NA else value for value in column.tolist()]
    if column.hasnans:
        return column.astype(object).where(column.notna(), None).tolist()
    return column.tolist()
