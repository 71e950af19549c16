"""Demo accounts and their latent health: each account's profile (segment, tier, region,
industry, ARR, lifecycle, renewal), its health path over the days and its owner."""

from dataclasses import dataclass
from datetime import date

import numpy as np

from accounts.models import Account
from demo.services.shape import (
    ADOPTING_SHARE,
    DECLINING,
    EXTERNAL_ID_PREFIX,
    IMPROVING,
    INDUSTRIES,
    INDUSTRY_WORDS,
    LEGAL_SUFFIXES,
    NAME_STEMS,
    NEW_SHARE,
    ONBOARDING_SHARE,
    RECOVERING,
    REGION_SHARES,
    REGIONS,
    SEGMENTS,
    STABLE,
    TRAJECTORY_SHARES,
)

# --- Accounts and their health -------------------------------------------------------------------


@dataclass
class AccountPlan:
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
    # Filled by outcomes_decide.
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


def accounts_plan(rng: np.random.Generator, *, count: int, days: int, as_of: date) -> AccountPlan:
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
    # time in the next 12 months (the 90-day window's renewals are reset by outcomes_decide).
    age = np.where(is_new, new_age, days - start_t)
    renewal_in = np.where(is_onboarding, 365 - age, rng.integers(1, 366, size=count))
    renewal_date = np.datetime64(as_of, "D") + renewal_in.astype("timedelta64[D]")

    width = max(5, len(str(count)))
    external_id = np.array(
        [f"{EXTERNAL_ID_PREFIX}{number:0{width}d}" for number in range(1, count + 1)], dtype=object
    )
    name = _company_names(rng, region=region, industry=industry)
    return AccountPlan(
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
    """Believable company names, all distinct: a name already taken is replaced by the
    nearest free variant (another word of the industry, then a second stem: "Cobalt Harbor
    Schools Ltd"), never "Cobalt Schools Ltd (2)". Only past every variant (far beyond a
    million accounts) does a number follow. Uses the same draws as before, so the other
    generated columns do not change."""
    count = len(region)
    stems = rng.integers(0, len(NAME_STEMS), size=count)
    words = rng.integers(0, 4, size=count)
    suffixes = rng.integers(0, 12, size=count)
    taken: set[str] = set()
    names = []
    for i in range(count):
        legal = ""
        if industry[i] != "Public Sector":
            choices = LEGAL_SUFFIXES[region[i]]
            legal = f" {choices[suffixes[i] % len(choices)]}"
        industry_words = INDUSTRY_WORDS[industry[i]]
        name = next(
            (
                candidate
                for candidate in _name_variants(stems[i], words[i], industry_words, legal)
                if candidate not in taken
            ),
            None,
        )
        if name is None:
            base = f"{NAME_STEMS[stems[i]]} {industry_words[words[i]]}{legal}"
            number = 2
            while f"{base} {number}" in taken:
                number += 1
            name = f"{base} {number}"
        taken.add(name)
        names.append(name)
    return np.array(names, dtype=object)


def _name_variants(stem: int, word: int, industry_words: tuple, legal: str):
    """The names of one draw, the drawn one first, then the others in a fixed order."""
    n_words = len(industry_words)
    first = NAME_STEMS[stem]
    for w in range(n_words):
        yield f"{first} {industry_words[(word + w) % n_words]}{legal}"
    for offset in range(1, len(NAME_STEMS)):
        second = NAME_STEMS[(stem + offset) % len(NAME_STEMS)]
        for w in range(n_words):
            yield f"{first} {second} {industry_words[(word + w) % n_words]}{legal}"


def health_paths(rng: np.random.Generator, *, trajectory: np.ndarray, days: int) -> np.ndarray:
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


def health_at(health: np.ndarray, account: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Health of each (account, day) pair; days before the history take its first day."""
    return health[account, np.clip(t, 0, health.shape[1] - 1)]


def owners_assign(
    rng: np.random.Generator, *, plan: AccountPlan, csm_ids_by_team: dict[str, np.ndarray]
) -> np.ndarray:
    """Each account goes to a CSM of the team that covers its segment."""
    owner_ids = np.empty(plan.count, dtype=np.int64)
    pick = rng.random(plan.count)
    for code, profile in enumerate(SEGMENTS):
        rows = plan.segment == code
        team = csm_ids_by_team[profile.name]
        owner_ids[rows] = team[(pick[rows] * len(team)).astype(int)]
    return owner_ids


def lifecycle_stages(plan: AccountPlan) -> np.ndarray:
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
