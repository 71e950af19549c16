"""Raise, update, clear and auto-resolve risks from the risk rules, for a whole portfolio at once.

The rules live in risk.engine (pure pandas); this module loads their inputs in a handful of
queries (risk.selectors), runs them and writes the differences:

- A rule that fires on an account with an open risk of its type updates that risk (latest
  evidence and severity, condition_cleared_at emptied); otherwise it opens a new one. The
  partial unique constraint "one open risk per account and type" keeps it one even when two
  evaluations race: the loser's INSERT fails in a savepoint and it updates the winner's risk.
- An open risk whose condition no longer holds records condition_cleared_at, and is resolved
  (with a "condition cleared" RiskEvent) only where its rule says auto_resolve.
- A risk closed (resolved or won't fix) while its condition held is snoozed: until its
  snoozed_until day its (state) rule does not raise it again on that account, nor email,
  unless the severity rises above the closed risk's, or the condition clears meanwhile. A new
  change (turned_red, a sponsor's move) raises a risk all the same.
- The risks that opened or rose in severity go, by id and in the same transaction, to the
  hooks named in settings.RISKS_RAISED_HOOKS (playbooks makes their tasks).
- A disabled rule is not evaluated: its open risks are left as they are.
"""

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import Account
from accounts.services import contact_departures_record
from events.choices import EventType
from healthscore.generations import generation_bump_for
from risk import engine, selectors
from risk.choices import SEVERITY_LEVEL, UNRESOLVED_STATUSES, RiskStatus, Severity
from risk.models import Risk, RiskEvent, RiskRule
from risk.notifications import risks_notification_enqueue
from risk.services.outbound import risk_events_of_run, risks_events_record, severity_rose
from scorecards.models import ScoreRun

logger = logging.getLogger(__name__)

# A run for a day older than this is a backfill: risks describe the present, so finishing
# it raises none (evaluate_risks --date does, when asked).
BACKFILL_AGE_DAYS = 1
# Rows per INSERT when risks open in bulk (a first evaluation of a big portfolio opens tens of
# thousands).
BULK_BATCH_SIZE = 1000
# Above this many rows written at once (risks here, their tasks in playbooks), the table is
# analysed in the transaction.
BULK_ANALYZE_ROWS = 10_000


@dataclass
class RiskEvaluation:
    """What one evaluation did, per risk type."""

    as_of: date
    accounts: int = 0
    raised: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    silenced: Counter = field(default_factory=Counter)
    cleared: Counter = field(default_factory=Counter)
    resolved: Counter = field(default_factory=Counter)
    # Open risks of each type once the evaluation is done, whoever raised them and when.
    open: Counter = field(default_factory=Counter)

    @property
    def firing(self) -> Counter:
        """Risks each type raised or kept up to date: the open risks it stands behind."""
        return self.raised + self.updated


def risk_rule_settings(rule: RiskRule) -> engine.RuleSettings:
    return engine.RuleSettings(
        threshold=float(rule.threshold) if rule.threshold is not None else None,
        window_days=rule.window_days,
        severity=rule.severity,
    )


def risks_evaluate(
    *, as_of: date, account_ids: list[int] | None = None, dry_run: bool = False
) -> RiskEvaluation:
    """Evaluate every enabled risk rule for the active accounts (or the given ones) on
    `as_of`, and raise, update, clear or auto-resolve their risks.

    Side effects: departures recorded outside contact_mark_left become ContactChange rows
    (accounts.services.contact_departures_record); risks and RiskEvents are written; an email
    to each owner, after commit, lists their risks that opened or turned critical.
    With `dry_run`, all of it happens in a transaction that is rolled back: the counts are
    real and nothing is written or sent."""
    with transaction.atomic():
        contact_departures_record(as_of=as_of, account_ids=account_ids)
        evaluation = _risks_evaluate(as_of=as_of, account_ids=account_ids)
        if dry_run:
            transaction.set_rollback(True)
    logger.info(
        "Risks on %s%s: raised %s, updated %s, cleared %s, resolved %s",
        as_of,
        " (dry run)" if dry_run else "",
        dict(evaluation.raised),
        dict(evaluation.updated),
        dict(evaluation.cleared),
        dict(evaluation.resolved),
    )
    return evaluation


def risks_evaluate_for_account(*, account: Account, as_of: date) -> RiskEvaluation:
    """Evaluate one account now: after its sentiment, contacts or touchpoints changed."""
    return risks_evaluate(as_of=as_of, account_ids=[account.pk])


def risks_evaluate_for_account_ids(*, account_ids: list[int]) -> RiskEvaluation:
    """settings.ACCOUNT_CHANGED_HOOKS calls this, by name, after some accounts' contacts or
    touchpoints changed or one was rescored on request (accounts and scorecards cannot
    import risk): the risks of exactly those accounts are evaluated for today at once, in
    one evaluation however many accounts a bulk write touched."""
    return risks_evaluate(as_of=timezone.localdate(), account_ids=sorted(set(account_ids)))


def risks_evaluate_for_run(*, run: ScoreRun) -> RiskEvaluation | None:
    """Evaluate the accounts a finished score run scored, for its date: every active account
    after a full run, the run's own accounts after a partial one (an account rescored after a
    new sentiment). Returns None, doing nothing, for an unfinished run or a backfill."""
    run.refresh_from_db()
    if run.status != ScoreRun.Status.FINISHED:
        return None
    if run.as_of < timezone.localdate() - timedelta(days=BACKFILL_AGE_DAYS):
        return None
    account_ids = None
    if not run.is_full:
        account_ids = sorted(
            {pk for ids in run.chunks.values_list("account_ids", flat=True) for pk in ids or ()}
        )
        return risks_evaluate(as_of=run.as_of, account_ids=account_ids)
    # A nightly run's risk events belong to its Slack and Teams digest (critical ones are
    # still sent one by one).
    with risk_events_of_run(score_run_id=run.pk):
        return risks_evaluate(as_of=run.as_of)


def _risks_evaluate(*, as_of: date, account_ids: list[int] | None) -> RiskEvaluation:
    rules = {
        risk_type: rule
        for risk_type, rule in selectors.risk_rules_by_type().items()
        if rule.is_enabled
    }
    settings = {risk_type: risk_rule_settings(rule) for risk_type, rule in rules.items()}
    inputs = selectors.risk_inputs_frame(
        as_of=as_of,
        account_ids=account_ids,
        score_drop_window_days=_window(engine.SCORE_DROP, settings),
        single_threaded_window_days=_window(engine.SINGLE_THREADED, settings),
    )
    sentiment = selectors.sentiment_measure()
    conditions = engine.risk_conditions(
        inputs,
        selectors.sponsor_moves_frame(as_of=as_of, account_ids=account_ids),
        settings,
        as_of=as_of,
        sentiment_max_age_days=sentiment.max_age_days if sentiment else None,
    )
    evaluation = RiskEvaluation(as_of=as_of, accounts=len(inputs))
    open_risks = {
        (risk.account_id, risk.risk_type): risk
        for risk in selectors.risks_unresolved(account_ids=account_ids).filter(
            risk_type__in=list(rules)
        )
    }
    silenced: dict[tuple[int, str], list[int]] = defaultdict(list)
    silenced_level: dict[tuple[int, str], int] = {}
    for pk, account_id, risk_type, closed_severity in (
        selectors.risks_silenced(as_of=as_of, account_ids=account_ids)
        .filter(risk_type__in=list(rules))
        .values_list("pk", "account_id", "risk_type", "severity")
    ):
        silenced[(account_id, risk_type)].append(pk)
        level = SEVERITY_LEVEL[closed_severity]
        silenced_level[(account_id, risk_type)] = max(
            level, silenced_level.get((account_id, risk_type), level)
        )

    now = timezone.now()
    holding = set(
        zip(conditions[engine.ACCOUNT_ID].tolist(), conditions[engine.RISK_TYPE], strict=True)
    )
    firing = conditions[conditions[engine.FIRES]]
    to_open = []
    refreshed = []
    to_notify: list[Risk] = []  # opened, or turned critical: their owners are emailed
    escalated: dict[int, str] = {}  # risk id → severity before it rose
    raised_ids: list[int] = []  # opened, or rose in severity: RISKS_RAISED_HOOKS get them
    for account_id, risk_type, severity, evidence in zip(
        firing[engine.ACCOUNT_ID].tolist(),
        firing[engine.RISK_TYPE],
        firing[engine.SEVERITY],
        firing[engine.EVIDENCE],
        strict=True,
    ):
        key = (account_id, risk_type)
        evidence = {"as_of": as_of.isoformat(), **evidence}
        if key in open_risks:
            risk = open_risks[key]
            if _turns_critical(risk, severity):
                to_notify.append(risk)
            if severity_rose(before=risk.severity, after=severity):
                escalated[risk.pk] = risk.severity
                raised_ids.append(risk.pk)
            refreshed.append(_risk_refresh(risk, severity, evidence, now=now))
            evaluation.updated[risk_type] += 1
        elif (
            key in silenced
            and risk_type not in engine.EVENT_RISK_TYPES
            and SEVERITY_LEVEL[severity] <= silenced_level[key]
        ):
            evaluation.silenced[risk_type] += 1
        else:
            to_open.append((account_id, risk_type, severity, evidence))

    owners = dict(
        Account.objects.filter(pk__in={account_id for account_id, *_ in to_open}).values_list(
            "pk", "owner_id"
        )
    )
    raised_ids.extend(
        _risks_open(to_open, owners=owners, now=now, to_notify=to_notify, evaluation=evaluation)
    )
    risks_notification_enqueue(risks=to_notify)

    Risk.objects.bulk_update(
        refreshed,
        ["severity", "evidence", "condition_cleared_at", "updated_at"],
        batch_size=500,
    )
    risks_events_record(
        event_type=EventType.RISK_ESCALATED,
        risks=[risk for risk in refreshed if risk.pk in escalated],
        previous_severities=escalated,
    )
    risks_raised_notify(risk_ids=raised_ids)

    cleared = [
        risk
        for key, risk in open_risks.items()
        if key not in holding and risk.risk_type not in engine.NEVER_CLEARS
    ]
    _risks_condition_cleared(cleared, rules=rules, now=now, evaluation=evaluation)
    Risk.objects.filter(
        pk__in=[pk for key, pks in silenced.items() if key not in holding for pk in pks]
    ).update(condition_cleared_at=now)
    generation_bump_for(Risk)  # bulk opens, refreshes and clears send no signal
    evaluation.open.update(
        dict(
            selectors.risks_unresolved(account_ids=account_ids)
            .order_by()
            .values("risk_type")
            .annotate(count=Count("pk"))
            .values_list("risk_type", "count")
        )
    )
    return evaluation


def risks_raised_notify(*, risk_ids: list[int]) -> None:
    """Hand the risks that opened or rose in severity to settings.RISKS_RAISED_HOOKS (named,
    since the apps that react, playbooks, sit above risk), in this transaction: a dry run
    rolls their effects back too."""
    if not risk_ids:
        return
    for hook in django_settings.RISKS_RAISED_HOOKS:
        import_string(hook)(risk_ids=risk_ids)


def _window(risk_type: str, settings: dict[str, engine.RuleSettings]) -> int:
    if risk_type in settings:
        return engine.rule_window_days(risk_type, settings[risk_type])
    return engine.DEFAULT_WINDOWS[risk_type]


def _turns_critical(risk: Risk, severity: str) -> bool:
    """Raising an open risk again as critical emails its owner, as opening one does."""
    return severity == Severity.CRITICAL and risk.severity != Severity.CRITICAL


def _risk_refresh(risk: Risk, severity: str, evidence: dict, *, now) -> Risk:
    """Raising an open risk again: the latest evidence and severity, and its condition holds
    again. Written in bulk by the caller."""
    if severity != risk.severity:
        RiskEvent.objects.create(
            risk=risk,
            from_status=risk.status,
            to_status=risk.status,
            note=f"Severity {risk.severity} → {severity} ({risk.raised_by}).",
        )
    risk.severity = severity
    risk.evidence = evidence
    risk.condition_cleared_at = None
    risk.updated_at = now
    return risk


def _risks_open(
    to_open: list[tuple[int, str, str, dict]],
    *,
    owners: dict[int, int | None],
    now,
    to_notify: list[Risk],
    evaluation: RiskEvaluation,
) -> list[int]:
    """Open the risks (account_id, risk_type, severity, evidence) in a few bulk inserts. When
    another evaluation opened one of them meanwhile, the unique constraint refuses the batch
    and they are opened one by one instead, each updating the other's risk where it must.
    Returns the ids of the risks it opened or updated (for RISKS_RAISED_HOOKS: a risk the
    other evaluation opened is handed on as well, and the hooks keep their own writes to one
    per risk, e.g. the one-task-per-step-and-risk constraint)."""
    if not to_open:
        return []
    risks = [
        Risk(
            account_id=account_id,
            risk_type=risk_type,
            severity=severity,
            status=RiskStatus.OPEN,
            owner_id=owners.get(account_id),
            raised_by=f"rule:{risk_type}",
            evidence=evidence,
            opened_at=now,
        )
        for account_id, risk_type, severity, evidence in to_open
    ]
    try:
        with transaction.atomic():  # a savepoint: a refused batch undoes only itself
            Risk.objects.bulk_create(risks, batch_size=BULK_BATCH_SIZE)
            RiskEvent.objects.bulk_create(
                [_opening_event(risk) for risk in risks], batch_size=BULK_BATCH_SIZE
            )
    except IntegrityError:
        risk_ids = []
        for account_id, risk_type, severity, evidence in to_open:
            risk, is_new = _risk_open(
                account_id=account_id,
                owner_id=owners.get(account_id),
                risk_type=risk_type,
                severity=severity,
                evidence=evidence,
                now=now,
                to_notify=to_notify,
            )
            (evaluation.raised if is_new else evaluation.updated)[risk_type] += 1
            risk_ids.append(risk.pk)
        return risk_ids
    if len(risks) > BULK_ANALYZE_ROWS and connection.vendor == "postgresql":
        # A first evaluation of a big portfolio opens tens of thousands of risks: until
        # autovacuum gets to them, the table's statistics say it is nearly empty, and the
        # tasks' join and the emails' reads planned on that took several times longer.
        # ANALYZE counts this transaction's own new rows.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Risk._meta.db_table}, {RiskEvent._meta.db_table}")
    for risk in risks:
        evaluation.raised[risk.risk_type] += 1
    to_notify.extend(risks)
    risks_events_record(event_type=EventType.RISK_OPENED, risks=risks)
    return [risk.pk for risk in risks]


def _opening_event(risk: Risk) -> RiskEvent:
    return RiskEvent(
        risk=risk, from_status="", to_status=RiskStatus.OPEN, note=f"Raised by {risk.raised_by}."
    )


def _risk_open(
    *,
    account_id: int,
    owner_id: int | None,
    risk_type: str,
    severity: str,
    evidence: dict,
    now,
    to_notify: list[Risk],
) -> tuple[Risk, bool]:
    """Open a risk, or update the open one another evaluation opened meanwhile. Returns the
    risk and whether it is new; adds it to `to_notify` when it opened or turned critical."""
    raised_by = f"rule:{risk_type}"
    try:
        # A savepoint: when another evaluation committed the same open risk first, the
        # unique constraint refuses ours and only this INSERT is undone.
        with transaction.atomic():
            risk = Risk.objects.create(
                account_id=account_id,
                risk_type=risk_type,
                severity=severity,
                status=RiskStatus.OPEN,
                owner_id=owner_id,
                raised_by=raised_by,
                evidence=evidence,
                opened_at=now,
            )
            _opening_event(risk).save()
        to_notify.append(risk)
        risks_events_record(event_type=EventType.RISK_OPENED, risks=[risk])
        return risk, True
    except IntegrityError:
        # Another evaluation got there first: raising again updates its risk.
        risk = Risk.objects.get(
            account_id=account_id, risk_type=risk_type, status__in=UNRESOLVED_STATUSES
        )
        if _turns_critical(risk, severity):
            to_notify.append(risk)
        previous = risk.severity
        _risk_refresh(risk, severity, evidence, now=now)
        risk.save(update_fields=["severity", "evidence", "condition_cleared_at", "updated_at"])
        if severity_rose(before=previous, after=severity):
            risks_events_record(
                event_type=EventType.RISK_ESCALATED,
                risks=[risk],
                previous_severities={risk.pk: previous},
            )
        return risk, False


def _risks_condition_cleared(
    risks: list[Risk], *, rules: dict[str, RiskRule], now, evaluation: RiskEvaluation
) -> None:
    """Record that these open risks' conditions cleared; resolve those whose rule says
    auto_resolve. The rows are locked first, so a person moving one of them at the same time
    is either before us (we see their status) or after us."""
    newly_cleared = [risk for risk in risks if risk.condition_cleared_at is None]
    Risk.objects.filter(
        pk__in=[risk.pk for risk in newly_cleared], condition_cleared_at__isnull=True
    ).update(condition_cleared_at=now)
    for risk in newly_cleared:
        evaluation.cleared[risk.risk_type] += 1

    resolving = [risk.pk for risk in risks if rules[risk.risk_type].auto_resolve]
    locked = list(
        Risk.objects.select_for_update()
        .filter(pk__in=resolving, status__in=UNRESOLVED_STATUSES)
        .order_by("pk")
    )
    Risk.objects.filter(pk__in=[risk.pk for risk in locked]).update(
        status=RiskStatus.RESOLVED, resolved_at=now, updated_at=now
    )
    RiskEvent.objects.bulk_create(
        RiskEvent(
            risk=risk,
            from_status=risk.status,
            to_status=RiskStatus.RESOLVED,
            note=f"Condition cleared: resolved automatically ({risk.raised_by}).",
        )
        for risk in locked
    )
    for risk in locked:
        evaluation.resolved[risk.risk_type] += 1
    risks_events_record(
        event_type=EventType.RISK_RESOLVED, risks=locked, status=RiskStatus.RESOLVED
    )
