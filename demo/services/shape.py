"""What a demo portfolio looks like: its users, segments, regions, industries, names, shares
of each kind of account and the words of its comments and touchpoints. Constants only."""

from dataclasses import dataclass

from accounts import roles
from accounts.models import Contact

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
# them row by row (see indexes_rebuilt_after).
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
    metric_values: int
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
        4, 8, 8, 1.6, 0.99, 0.92,
    ),
    _SegmentProfile(
        "Mid-Market", 0.35, 55_000, 0.5, 15_000, 250_000, ("Gold", "Silver"), (0.45, 0.55),
        3, 6, 12, 1.0, 0.97, 0.85,
    ),
    _SegmentProfile(
        "SMB", 0.50, 9_000, 0.6, 1_500, 40_000, ("Silver", "Bronze"), (0.4, 0.6),
        2, 4, 18, 0.5, 0.95, 0.75,
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
