"""Risk events for outbound webhooks (PRODUCT.md, "Outbound events"): `risk.opened`,
`risk.escalated` (its severity rose) and `risk.resolved`, recorded in the transaction that
makes the change, so they are sent if and only if it commits."""

from events.services import EventDraft, events_record_bulk
from risk.choices import RiskType, Severity
from risk.models import Risk

SEVERITY_RANK = {value: rank for rank, value in enumerate(Severity.values)}


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
    events_record_bulk(
        [
            EventDraft(
                event_type=event_type,
                account_id=risk.account_id,
                severity=risk.severity,
                data=risk_event_data(
                    risk, status=status, previous_severity=previous_severities.get(risk.pk, "")
                ),
            )
            for risk in risks
        ]
    )
