"""Emails to account owners about their risks: when a risk opens or turns critical, at most
one email per risk per day."""

from datetime import date

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q

from risk.choices import RiskType, Severity
from risk.models import Risk


def risk_notification_enqueue(*, risk: Risk) -> None:
    """Send the owner's email from a worker once the transaction that raised the risk (or
    made it critical) commits; nothing is sent when it rolls back (a dry run)."""
    from risk import tasks  # here, not at the top: risk.tasks imports the services

    risk_id = risk.pk
    transaction.on_commit(lambda: tasks.risk_notify.delay(risk_id))


def risk_notification_text(*, risk: Risk) -> tuple[str, str]:
    """The subject and body of a risk's email: what, where, how bad, and the evidence."""
    kind = RiskType(risk.risk_type).label
    severity = Severity(risk.severity).label
    subject = f"[Healthscore] {severity} risk on {risk.account.name}: {kind}"
    evidence = "\n".join(f"  {key}: {value}" for key, value in sorted(risk.evidence.items()))
    body = (
        f"A {severity.lower()} risk is open on {risk.account.name}: {kind}.\n"
        f"Raised by {risk.raised_by} on {risk.opened_at:%Y-%m-%d}.\n\n"
        f"Evidence:\n{evidence or '  (none)'}\n"
    )
    return subject, body


def risk_notify(*, risk: Risk, today: date) -> bool:
    """Email the account's owner about `risk` unless they were already emailed about it
    `today`. Returns True when an email went out.

    The day is claimed with a conditional update before sending, so two workers handling the
    same risk send one email; a failed send gives the claim back for the retry."""
    owner = risk.account.owner
    if not risk.is_open or owner is None or not owner.email:
        return False
    previous = risk.last_notified_on
    claimed = (
        Risk.objects.filter(pk=risk.pk)
        .filter(Q(last_notified_on__isnull=True) | Q(last_notified_on__lt=today))
        .update(last_notified_on=today)
    )
    if not claimed:
        return False  # already emailed today, or another worker got there first
    subject, body = risk_notification_text(risk=risk)
    try:
        send_mail(subject, body, None, [owner.email])
    except Exception:
        Risk.objects.filter(pk=risk.pk, last_notified_on=today).update(last_notified_on=previous)
        raise
    return True
