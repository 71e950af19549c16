"""The lifecycle people work: open → acknowledged → mitigating → resolved, or closed as won't
fix from any open state. Every move is a RiskEvent (who, when, from, to, note).

Decisions where PRODUCT.md is silent:
- Moving forward may skip a step (open → mitigating, open → resolved, acknowledged →
  resolved): someone who fixed the problem at once should not click through three states.
  Moving back (mitigating → acknowledged) or to the same status is refused.
- resolved and won't fix are final. A risk whose condition returns is raised again by its
  rule as a new risk, so the closed one keeps its history as it was.
- Resolving and closing as won't fix need a note: it says what was done, or why nothing will be.
- Snooze (PRODUCT.md): closing a risk whose condition still holds (the last evaluation found
  it, condition_cleared_at is empty) sets snoozed_until, SNOOZE_DEFAULT_DAYS ahead unless the
  person chose a day. Until then its rule does not raise it again, nor email, unless its
  severity rises (risk.services.evaluation).
"""

from datetime import date, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts import roles
from events.choices import EventType
from risk.choices import RiskStatus
from risk.models import Risk, RiskEvent
from risk.services.outbound import risks_events_record

TRANSITIONS: dict[str, tuple[str, ...]] = {
    RiskStatus.OPEN: (
        RiskStatus.ACKNOWLEDGED,
        RiskStatus.MITIGATING,
        RiskStatus.RESOLVED,
        RiskStatus.WONT_FIX,
    ),
    RiskStatus.ACKNOWLEDGED: (RiskStatus.MITIGATING, RiskStatus.RESOLVED, RiskStatus.WONT_FIX),
    RiskStatus.MITIGATING: (RiskStatus.RESOLVED, RiskStatus.WONT_FIX),
}
CLOSING_STATUSES = (RiskStatus.RESOLVED, RiskStatus.WONT_FIX)
NOTE_REQUIRED = CLOSING_STATUSES
SNOOZE_DEFAULT_DAYS = 30

# Besides the account's owner, these roles may change any risk (PRODUCT.md, Roles).
RISK_CHANGING_ROLES = frozenset({roles.CS_LEADER, roles.CS_OPS})


class DomainError(Exception):
    """A business rule refused an operation: a message for people and a stable code for
    the API's one error shape ({"message", "code", "fields"})."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class RiskTransitionError(DomainError):
    """A status change the lifecycle does not allow, or one that lacks its note."""

    code = "risk_transition_refused"


def risk_can_change(user: AbstractBaseUser | AnonymousUser, risk: Risk) -> bool:
    """The account's owner, a CS leader, CS Ops or a superuser may change a risk."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or roles.user_roles(user) & RISK_CHANGING_ROLES:
        return True
    return risk.account.owner_id == user.pk


def risk_transitions_allowed(*, risk: Risk) -> tuple[str, ...]:
    """The statuses a risk may move to from where it is (none once closed)."""
    return TRANSITIONS.get(risk.status, ())


def risk_condition_holds(*, risk: Risk) -> bool:
    """Whether the last evaluation still found the risk's condition (closing it then snoozes)."""
    return risk.condition_cleared_at is None


@transaction.atomic
def risk_transition(
    *,
    risk: Risk,
    to_status: str,
    user: AbstractBaseUser,
    note: str = "",
    snoozed_until: date | None = None,
) -> Risk:
    """Move a risk to `to_status` and record the step as a RiskEvent.

    Closing it (resolved, won't fix) while its condition holds snoozes it until
    `snoozed_until` (SNOOZE_DEFAULT_DAYS from today when not given); a snooze day not after
    today is a RiskTransitionError on `snoozed_until`.

    Raises PermissionDenied for a user who may not change the risk, and RiskTransitionError
    for a move the lifecycle refuses or a closing move without a note. The risk row is locked
    first, so two people (or a person and an auto-resolve) never both move it from the same
    status. Returns the updated risk."""
    if not risk_can_change(user, risk):
        raise PermissionDenied("Only the account's owner, a CS leader or CS Ops may change it.")
    if to_status not in RiskStatus.values:
        raise RiskTransitionError(f"Unknown risk status {to_status!r}.", code="unknown_status")
    locked = Risk.objects.select_for_update().get(pk=risk.pk)
    from_status = locked.status
    allowed = TRANSITIONS.get(from_status, ())
    if to_status not in allowed:
        raise RiskTransitionError(
            f"A risk that is {_label(from_status)} cannot move to {_label(to_status)}; "
            + (
                f"it can move to: {', '.join(_label(status) for status in allowed)}."
                if allowed
                else "it is closed."
            )
        )
    note = note.strip()
    if to_status in NOTE_REQUIRED and not note:
        raise RiskTransitionError(
            f"A note is required to move a risk to {_label(to_status)}.",
            code="note_required",
        )
    if len(note) > RiskEvent.NOTE_MAX_LENGTH:
        raise RiskTransitionError(
            f"A note is at most {RiskEvent.NOTE_MAX_LENGTH:,} characters; this one has "
            f"{len(note):,}.",
            code="note_too_long",
        )
    now = timezone.now()
    today = timezone.localdate()
    if snoozed_until is not None and snoozed_until <= today:
        raise RiskTransitionError(
            "The snooze date must be after today.", code="snooze_date_not_in_future"
        )
    locked.status = to_status
    if to_status in CLOSING_STATUSES:
        locked.resolved_at = now
        if risk_condition_holds(risk=locked):
            locked.snoozed_until = snoozed_until or today + timedelta(days=SNOOZE_DEFAULT_DAYS)
    locked.save(update_fields=["status", "resolved_at", "snoozed_until", "updated_at"])
    RiskEvent.objects.create(
        risk=locked, from_status=from_status, to_status=to_status, note=note, by=user
    )
    if to_status == RiskStatus.RESOLVED:
        risks_events_record(event_type=EventType.RISK_RESOLVED, risks=[locked])
    return locked


def _label(status: str) -> str:
    return str(RiskStatus(status).label).lower()
