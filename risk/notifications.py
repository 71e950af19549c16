"""Emails to account owners about their risks, when a risk opens or turns critical: one email
per owner per evaluation listing their risks, and a risk in at most one email a day.

An evaluation raises tens of thousands of risks on a big portfolio, so nothing here works per
risk: an evaluation hands all its risks to risks_notification_enqueue, which sends them, on
commit, to the risks_notify task in a few messages; the task claims the day of all its risks in two
queries, whatever their number, and sends each owner one email over one mail connection."""

import functools
import logging
from collections import defaultdict
from datetime import date

from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import Q, prefetch_related_objects
from django.urls import reverse

from healthscore import metrics
from risk.choices import UNRESOLVED_STATUSES, RiskType, Severity
from risk.models import Risk

logger = logging.getLogger(__name__)

# Risk ids in one risks_notify message: a nightly run's risks go out in a handful of messages,
# and a message's claim stays one statement, far below SQLite's 32,766 bound parameters.
RISKS_PER_MESSAGE = 2000

# Severity is declared from low to critical; a digest lists the most severe first.
SEVERITY_RANK = {severity.value: rank for rank, severity in enumerate(reversed(Severity))}


def risks_notification_enqueue(*, risks: list[Risk]) -> None:
    """Email the owners about `risks` (raised, or turned critical) from a worker once the
    transaction that changed them commits; nothing is sent when it rolls back (a dry run).

    An evaluation passes all its risks at once, so each owner gets one email however many of
    their risks it raised. The ids go out in messages of at most RISKS_PER_MESSAGE."""
    from risk import tasks  # here, not at the top: risk.tasks imports the services

    owner_by_risk = {risk.pk: risk.owner_id for risk in risks}
    if not owner_by_risk:
        return
    messages = _risk_id_messages(owner_by_risk=owner_by_risk, size=RISKS_PER_MESSAGE)
    transaction.on_commit(lambda: [tasks.risks_notify.delay(risk_ids) for risk_ids in messages])


def _risk_id_messages(*, owner_by_risk: dict[int, int | None], size: int) -> list[list[int]]:
    """The risk ids split into messages of at most `size` ids, each owner's ids in one message
    so that they get one email; only an owner with more risks than a message holds is split.
    The owner is the risk's, which an evaluation copies from the account; the task groups by
    the account's owner, so a risk reassigned by hand may land in another message."""
    by_owner: dict[int | None, list[int]] = defaultdict(list)
    for risk_id, owner_id in owner_by_risk.items():
        by_owner[owner_id].append(risk_id)
    messages: list[list[int]] = []
    current: list[int] = []
    for risk_ids in by_owner.values():
        if current and len(current) + len(risk_ids) > size:
            messages.append(current)
            current = []
        current.extend(risk_ids)
        while len(current) > size:
            messages.append(current[:size])
            current = current[size:]
    if current:
        messages.append(current)
    return messages


def risk_notification_text(*, risk: Risk) -> tuple[str, str]:
    """The subject and body of a risk's email: what, where, how bad, and the evidence."""
    kind = RiskType(risk.risk_type).label
    severity = Severity(risk.severity).label
    subject = f"[Healthscore] {severity} risk on {risk.account.name}: {kind}"
    body = (
        f"A {severity.lower()} risk is open on {risk.account.name}: {kind}.\n"
        f"Raised by {risk.raised_by} on {risk.opened_at:%Y-%m-%d}.\n\n"
        f"Evidence:\n{_evidence_lines(risk, indent='  ')}\n"
        f"\nOpen the account: {account_page_url(account_id=risk.account_id)}\n"
        f"{_task_lines(risk, indent='  ')}"
    )
    return subject, body


def risk_digest_text(*, risks: list[Risk]) -> tuple[str, str]:
    """The subject and body of an owner's email about several risks: how many and how many
    are critical, then each risk (severity, account, type, evidence) in the given order."""
    critical = sum(risk.severity == Severity.CRITICAL for risk in risks)
    subject = f"[Healthscore] {len(risks)} new risks on your accounts"
    if critical:
        subject += f" ({critical} critical)"
    # Each label made text once per digest, not once per risk (a first evaluation's digests
    # hold tens of thousands of risks).
    severities = {value: str(label) for value, label in Severity.choices}
    kinds = {value: str(label) for value, label in RiskType.choices}
    sections = [
        f"{severities[risk.severity]} risk on {risk.account.name}: "
        f"{kinds[risk.risk_type]}\n"
        f"  Raised by {risk.raised_by} on {risk.opened_at:%Y-%m-%d}.\n"
        f"  Evidence:\n{_evidence_lines(risk, indent='    ')}\n"
        f"  Open the account: {account_page_url(account_id=risk.account_id)}\n"
        f"{_task_lines(risk, indent='    ')}"
        for risk in risks
    ]
    body = (
        f"{len(risks)} risks on your accounts need your attention, most severe first.\n\n"
        + "\n".join(sections)
    )
    return subject, body


def account_page_url(*, account_id: int, anchor: str = "") -> str:
    """The account page's absolute address (settings.SITE_URL + the page's path)."""
    path = _account_page_path(account_id)
    return f"{settings.SITE_URL.rstrip('/')}{path}{'#' + anchor if anchor else ''}"


# Any id will do: the account page's path is reversed once with it, then the id replaced.
_SOME_ACCOUNT_ID = 987654321


def _account_page_path(account_id: int) -> str:
    # A digest links each risk's account and each of its tasks: reversing the URL for every
    # link was a fifth of a first evaluation's email time on 100,000 accounts.
    return _account_page_path_pattern().replace(str(_SOME_ACCOUNT_ID), str(account_id))


@functools.cache
def _account_page_path_pattern() -> str:
    return reverse("front:account-detail", args=[_SOME_ACCOUNT_ID])


def _task_lines(risk: Risk, *, indent: str) -> str:
    """The risk's tasks (made by its playbook in the same evaluation), each with its link;
    empty when it has none. Reads the prefetched reverse relation, so no query per risk."""
    tasks = list(risk.tasks.all()) if hasattr(risk, "tasks") else []
    if not tasks:
        return ""
    lines = [
        f"{indent}- {task.title}, due {task.due_on:%Y-%m-%d}: "
        f"{account_page_url(account_id=risk.account_id, anchor=f'task-{task.pk}')}"
        for task in sorted(tasks, key=lambda task: (task.due_on, task.pk))
    ]
    return f"{indent.removesuffix('  ')}Tasks:\n" + "\n".join(lines) + "\n"


def _evidence_lines(risk: Risk, *, indent: str) -> str:
    lines = [f"{indent}{key}: {value}" for key, value in sorted(risk.evidence.items())]
    return "\n".join(lines) or f"{indent}(none)"


def risks_notify(*, risk_ids: list[int], today: date) -> int:
    """Email each account owner once about the risks of `risk_ids` nobody emailed them about
    `today`: a single risk in its own email (risk_notification_text), several in a digest
    (risk_digest_text), most severe first. Returns the number of emails sent.

    Skipped: risks resolved since, and those whose account has no owner or an owner without
    an email. Every risk's day is claimed before sending, so two workers with the same risks
    send each owner one email, and a worker dying after the claim loses those emails rather
    than sending them twice. A failed email gives its owner's claims back and does not stop
    the other owners' emails; the first failure is then raised for the task to retry, and the
    retry sends only to the owners whose email failed, since the others' risks are claimed."""
    risks = _risks_claim(risk_ids=risk_ids, today=today)
    if not risks:
        return 0
    if hasattr(Risk, "tasks"):  # the playbooks app's tasks, listed in the emails
        prefetch_related_objects(risks, "tasks")
    connection = mail.get_connection()
    try:
        connection.open()  # one connection for every owner's email
    except Exception:
        _risk_claims_give_back(risks, today=today)
        raise
    sent = 0
    failures: list[Exception] = []
    try:
        for owner_risks in _risks_by_owner(risks):
            owner = owner_risks[0].account.owner
            try:
                _risk_email(risks=owner_risks, connection=connection).send()
            except Exception as error:
                _risk_claims_give_back(owner_risks, today=today)
                logger.warning(
                    "Risk email to %s failed, its day given back: %r", owner.email, error
                )
                failures.append(error)
            else:
                sent += 1
                metrics.risk_emails_sent.inc()
    finally:
        connection.close()
    if failures:
        raise failures[0]
    return sent


def _risks_claim(*, risk_ids: list[int], today: date) -> list[Risk]:
    """Claim `today` on those of `risk_ids` still to be emailed today, and return them with
    their account and owner; each keeps in memory the last_notified_on it had before, for a
    give-back. Two statements, however many risks.

    The ORM has no UPDATE … RETURNING, so the rows are locked as they are read, then updated:
    another worker claiming the same risks waits for our commit, and PostgreSQL then checks
    its condition again on the rows it waited for, which no longer match (ordered by id, so
    two workers lock in the same order and never deadlock). SQLite has one writer at a time:
    the second worker's update fails as "database is locked", an OperationalError it retries."""
    with transaction.atomic():
        risks = list(
            Risk.objects.select_for_update(of=("self",))
            .select_related("account__owner")
            .filter(pk__in=risk_ids, status__in=UNRESOLVED_STATUSES)
            .filter(account__owner__isnull=False)
            .exclude(account__owner__email="")
            .filter(Q(last_notified_on__isnull=True) | Q(last_notified_on__lt=today))
            .order_by("pk")
        )
        if risks:
            Risk.objects.filter(pk__in=[risk.pk for risk in risks]).update(last_notified_on=today)
    return risks


def _risk_claims_give_back(risks: list[Risk], *, today: date) -> None:
    """Give back the day claimed on these risks, restoring the last_notified_on each had
    before (unless something changed it since): the retry may then claim them again. One
    statement per earlier day, usually one (never emailed)."""
    risk_ids_by_previous: dict[date | None, list[int]] = defaultdict(list)
    for risk in risks:
        risk_ids_by_previous[risk.last_notified_on].append(risk.pk)
    for previous, risk_ids in risk_ids_by_previous.items():
        Risk.objects.filter(pk__in=risk_ids, last_notified_on=today).update(
            last_notified_on=previous
        )


def _risks_by_owner(risks: list[Risk]) -> list[list[Risk]]:
    """The risks grouped by their account's owner, each group most severe first (then by
    account and type, so the email reads the same every time)."""
    by_owner: dict[int, list[Risk]] = defaultdict(list)
    for risk in sorted(
        risks,
        key=lambda risk: (
            SEVERITY_RANK[risk.severity],
            risk.account.name,
            risk.risk_type,
            risk.pk,
        ),
    ):
        by_owner[risk.account.owner_id].append(risk)
    return list(by_owner.values())


def _risk_email(*, risks: list[Risk], connection: BaseEmailBackend) -> mail.EmailMessage:
    if len(risks) == 1:
        subject, body = risk_notification_text(risk=risks[0])
    else:
        subject, body = risk_digest_text(risks=risks)
    owner = risks[0].account.owner
    return mail.EmailMessage(subject, body, None, [owner.email], connection=connection)
