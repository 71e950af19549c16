"""Demo contacts (sponsors, champions, users; some left the company) and the touchpoints
with them, drawn from each account's health."""

from dataclasses import dataclass

import numpy as np

from accounts.models import Contact, Touchpoint
from demo.services.accounts import AccountPlan, health_at
from demo.services.shape import (
    DECLINING,
    ESCALATION_SUMMARIES,
    FIRST_NAMES,
    KICKOFF_SUMMARY,
    LAST_NAMES,
    ROLE_TITLES,
    ROUTINE_SUMMARIES,
    SEGMENTS,
    SPONSOR_SUMMARIES,
    TOUCHPOINT_LEAD_DAYS,
)

# --- Contacts and touchpoints --------------------------------------------------------------------

SPONSOR_SLOT, DECISION_MAKER_SLOT = 0, 1
MAX_CONTACTS = max(segment.contacts_max for segment in SEGMENTS)


@dataclass(frozen=True)
class Cast:
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


def contacts_plan(rng: np.random.Generator, *, plan: AccountPlan) -> Cast:
    """2–8 contacts per account: most have an executive sponsor and/or a decision maker, some
    have neither, and some sponsors left the company (more often at declining accounts)."""
    count = plan.count
    low = np.array([SEGMENTS[s].contacts_min for s in plan.segment])
    high = np.array([SEGMENTS[s].contacts_max for s in plan.segment])
    per_account = rng.integers(low, high + 1)
    has_sponsor = rng.random(count) < np.array([SEGMENTS[s].sponsor_share for s in plan.segment])
    has_dm = rng.random(count) < np.array([SEGMENTS[s].decision_maker_share for s in plan.segment])
    is_declining = plan.trajectory == DECLINING
    # A real book: a few sponsors move on each half-year, more at declining accounts.
    has_sponsor_left = has_sponsor & (rng.random(count) < np.where(is_declining, 0.12, 0.015))
    has_dm_left = has_dm & (rng.random(count) < np.where(is_declining, 0.06, 0.01))

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
    return Cast(
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
class Touches:
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


def touchpoints_plan(
    rng: np.random.Generator, *, plan: AccountPlan, health: np.ndarray, cast: Cast
) -> Touches:
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
    h = health_at(health, account, t)
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

    is_quiet = rng.random(count) < np.where(plan.trajectory == DECLINING, 0.3, 0.02)
    sponsor_chance = (0.35 + 0.55 * h) * np.where(is_quiet[account], 0.25, 1.0)
    is_sponsor_wanted = (rng.random(total) < sponsor_chance) | is_kickoff | ~other_ok.any(axis=1)
    keys = rng.random((total, MAX_CONTACTS))
    sponsor_keys = np.where(sponsor_ok, keys, np.inf)
    sponsor_slot = sponsor_keys.argmin(axis=1)
    has_sponsor = is_sponsor_wanted & sponsor_ok.any(axis=1)
    others_wanted = np.where(has_sponsor, rng.random(total) < 0.8, 1 + (rng.random(total) < 0.5))
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
    return Touches(
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
