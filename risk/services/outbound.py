"""Risk events for outbound webhooks (PRODUCT.md, "Outbound events"): `risk.opened`,
`risk.escalated` (its severity rose) and `risk.resolved`, recorded in the transaction that
makes the change, so they are sent if and only if it commits."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from events.services import EventDraft, events_record_bulk
from risk.choices import RiskType, Severity
from risk.models import Risk

SEVERITY_RANK = {value: rank for rank, value in enumerate(Severity.values)}

# The full score run whose evaluation is recording, if any: its events go in the run's digest.
_score_run_id: ContextVar[int | None] = ContextVar("risk_events_score_run_id", default=None)


@contextmanager
def risk_events_of_run(*, score_run_id: int) -> Iterator[None]:
    """Risk events recorded inside the block belong to the nightly run `score_run_id`:
    Slack and Teams count them in the run's digest rather than get them one by one."""
    token = _score_run_id.set(score_run_id)
    try:
        yield
    finally:
        _score_run_id.reset(token)


def severity_rose(*, before: str, after: str) -> bool:
    return SEVERITY_RANK[after] > SEVERITY_RANK[before]


def risk_event_data(risk: Risk, *, status: str | None = None, previous_severity: str = "") -> dict:
    """The event's `risk`: type (and its label), severity, status and evidence."""
    body = {
        "id": risk.pk,
        "type": risk.risk_type,
        "label": str(RiskType(risk.risk_type).label),
        "severity": risk.severity,
        "status": status or risk.status,
        "evidence": risk.evidence,
        "opened_at": risk.opened_at.isoformat() if risk.opened_at else None,
    }
    if previous_severity:
        body["previous_severity"] = previous_severity
    return {"risk": body}


def risks_events_record(
    *,
    event_type: str,
    risks: list[Risk],
    status: str | None = None,
    previous_severities: dict[int, str] | None = None,
) -> None:
    """One event of `event_type` per risk, in one INSERT per 2,000."""
    previous_severities = previous_severities or {}
    score_run_id = _score_run_id.get()
    events_record_bulk(
        [
            EventDraft(
                event_type=event_type,
                account_id=risk.account_id,
                severity=risk.severity,
                score_run_id=score_run_id,
                is_in_digest=score_run_id is not None,
                data=risk_event_data(
                    risk, status=status, previous_severity=previous_severities.get(risk.pk, "")
                ),
            )
            for risk in risks
        ]
    )
