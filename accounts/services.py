"""Writes to contacts and touchpoints that sponsor tracking relies on.

Every move of a contact (they left the company, their role changed) is recorded as a
ContactChange, so that the sponsor_left risk fires once for that move. accounts cannot import
risk (the arrows point the other way): callers that change contacts or touchpoints (API, bulk
upserts, the admin) call accounts_changed_notify afterwards with the accounts they touched,
which reaches the risk evaluation of those accounts through settings.ACCOUNT_CHANGED_HOOKS,
by name.
"""

from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import Account, Contact, ContactChange, Touchpoint


def contact_is_sponsor_loss(*, from_role: str, to_role: str | None) -> bool:
    """Sponsor tracking watches executive sponsors and decision makers: losing one is a move
    from one of those roles to no role (they left, `to_role` None) or to another kind of role.
    A move between the two watched roles is not a loss."""
    was_sponsor = from_role in Contact.SPONSOR_ROLES
    stays_sponsor = to_role is not None and to_role in Contact.SPONSOR_ROLES
    return was_sponsor and not stays_sponsor


@transaction.atomic
def contact_mark_left(
    *, contact: Contact, left_on: date, user: AbstractBaseUser | None
) -> ContactChange:
    """Mark a contact as having left the company on `left_on` and record the move.

    Marking the same departure again returns the recorded move and changes nothing (a retried
    request, or a return and a departure again on the same day); a contact who already left on
    another date is a ValidationError on `left_on`.
    People's entry points (the API, the account page) call contact_left_on_check first."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if not contact.is_active and contact.left_on != left_on:
        raise ValidationError(
            {"left_on": f"{contact.name} already left on {contact.left_on.isoformat()}."}
        )
    if contact.is_active:
        contact.is_active = False
        contact.left_on = left_on
        contact.full_clean()
        contact.save(update_fields=["is_active", "left_on", "updated_at"])
    # A retry, or a contact who left, came back and left again that day: one departure.
    recorded = contact.changes.filter(kind=ContactChange.Kind.LEFT, changed_on=left_on).first()
    if recorded is not None:
        return recorded
    return ContactChange.objects.create(
        contact=contact,
        account_id=contact.account_id,
        kind=ContactChange.Kind.LEFT,
        from_role=contact.role,
        to_role=contact.role,
        changed_on=left_on,
        is_sponsor_loss=contact_is_sponsor_loss(from_role=contact.role, to_role=None),
        changed_by=user,
    )


def contact_left_on_check(*, contact: Contact, left_on: date) -> None:
    """A contact cannot have left before they were added (the day their row was created)."""
    added_on = timezone.localdate(contact.created_at) if contact.created_at else None
    if added_on is not None and left_on < added_on:
        raise ValidationError(
            {
                "left_on": f"{contact.name} was added on {added_on.isoformat()}: they cannot "
                f"have left before that ({left_on.isoformat()})."
            }
        )


@transaction.atomic
def contact_change_role(
    *,
    contact: Contact,
    role: str,
    user: AbstractBaseUser | None,
    changed_on: date | None = None,
) -> ContactChange | None:
    """Give a contact a new role and record the move (dated `changed_on`, today by default).

    Returns None when the role is unchanged. A move of an active contact out of the sponsor
    roles is a sponsor loss; a contact who left has no sponsor to lose."""
    if role not in Contact.Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.role == role:
        return None
    from_role = contact.role
    contact.role = role
    contact.save(update_fields=["role", "updated_at"])
    return ContactChange.objects.create(
        contact=contact,
        account_id=contact.account_id,
        kind=ContactChange.Kind.ROLE_CHANGED,
        from_role=from_role,
        to_role=role,
        changed_on=changed_on or timezone.localdate(),
        is_sponsor_loss=contact.is_active
        and contact_is_sponsor_loss(from_role=from_role, to_role=role),
        changed_by=user,
    )


def contact_departures_record(*, as_of: date, account_ids: list[int] | None = None) -> int:
    """Record the departures that arrived without going through contact_mark_left (an
    import, the admin, a CRM sync, the demo seed): every contact marked as left on or before
    `as_of` with no recorded departure gets one, with no author. Returns how many were new.

    Safe to run twice and concurrently: the one-departure-per-day constraint keeps one."""
    recorded = ContactChange.objects.filter(
        contact=OuterRef("pk"), kind=ContactChange.Kind.LEFT, changed_on=OuterRef("left_on")
    )
    departed = Contact.objects.filter(is_active=False, left_on__lte=as_of).filter(~Exists(recorded))
    if account_ids is not None:
        departed = departed.filter(account_id__in=account_ids)
    changes = [
        ContactChange(
            contact_id=contact_id,
            account_id=account_id,
            kind=ContactChange.Kind.LEFT,
            from_role=role,
            to_role=role,
            changed_on=left_on,
            is_sponsor_loss=contact_is_sponsor_loss(from_role=role, to_role=None),
        )
        for contact_id, account_id, role, left_on in departed.values_list(
            "pk", "account_id", "role", "left_on"
        )
    ]
    ContactChange.objects.bulk_create(changes, batch_size=1000, ignore_conflicts=True)
    return len(changes)


@transaction.atomic
def touchpoint_create(
    *,
    account: Account,
    occurred_on: date,
    contacts: Iterable[Contact] = (),
    kind: str = Touchpoint.Kind.MEETING,
    summary: str = "",
    user: AbstractBaseUser | None = None,
) -> Touchpoint:
    """Record a meeting, call, email or note with some of the account's contacts. Touchpoints
    with sponsors and decision makers feed sponsor engagement and the sponsor_disengaged risk.
    A date after today, or a contact of another account, is a ValidationError."""
    if occurred_on > timezone.localdate():
        raise ValidationError(
            {"occurred_on": f"A touchpoint cannot be dated in the future ({occurred_on})."}
        )
    contacts = list(contacts)
    foreign = [contact.name for contact in contacts if contact.account_id != account.pk]
    if foreign:
        raise ValidationError({"contacts": f"Not contacts of {account}: {', '.join(foreign)}."})
    touchpoint = Touchpoint(
        account=account, kind=kind, occurred_on=occurred_on, summary=summary, created_by=user
    )
    touchpoint.full_clean()
    touchpoint.save()
    touchpoint.contacts.set(contacts)
    return touchpoint


def accounts_changed_notify(*, account_ids: Iterable[int]) -> None:
    """Some accounts' contacts or touchpoints changed (one contact, or a bulk upsert of
    thousands), or an account was rescored on request: call each hook of
    settings.ACCOUNT_CHANGED_HOOKS once, now, with the ids of all of them (the risk
    evaluation of exactly those accounts, set-based: one evaluation, not one per row), so a
    sponsor marked as left raises sponsor_left in the same response. No account, no call.
    Call it after the change's own transaction, so that a failing hook never undoes the
    change."""
    ids = sorted(set(account_ids))
    if not ids:
        return
    for hook in settings.ACCOUNT_CHANGED_HOOKS:
        import_string(hook)(account_ids=ids)


def accounts_changed_notify_on_commit(*, account_ids: Iterable[int]) -> None:
    """accounts_changed_notify once the current transaction commits (at once outside one):
    for writers that run inside a transaction they do not own, such as the admin's views."""
    ids = set(account_ids)
    transaction.on_commit(lambda: accounts_changed_notify(account_ids=ids))


def contact_create(
    *, account: Account, name: str, email: str = "", title: str = "", role: str = Contact.Role.USER
) -> Contact:
    """Add a contact to an account (validated as the model says)."""
    contact = Contact(account=account, name=name, email=email, title=title, role=role)
    contact.full_clean()
    contact.save()
    return contact
