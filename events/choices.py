from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    """PRODUCT.md, "Outbound events". `webhook.ping` is what `POST …/test/` sends."""

    SCORE_BAND_CHANGED = "score.band_changed", _("Score band changed")
    RISK_OPENED = "risk.opened", _("Risk opened")
    RISK_ESCALATED = "risk.escalated", _("Risk escalated")
    RISK_RESOLVED = "risk.resolved", _("Risk resolved")
    TASK_OVERDUE = "task.overdue", _("Task overdue")
    SCORE_RUN_FINISHED = "score_run.finished", _("Score run finished")
    SCORECARD_PUBLISHED = "scorecard.published", _("Scorecard published")
    PING = "webhook.ping", _("Test ping")


# The types an endpoint may subscribe to (a ping goes only where it is asked for).
SUBSCRIBABLE_TYPES = tuple(value for value in EventType.values if value != EventType.PING)
RISK_TYPES = (EventType.RISK_OPENED, EventType.RISK_ESCALATED, EventType.RISK_RESOLVED)


class EndpointFormat(models.TextChoices):
    STANDARD = "standard", _("Standard Webhooks (JSON envelope)")
    SLACK = "slack", _("Slack incoming webhook")
    TEAMS = "teams", _("Microsoft Teams workflow webhook")


# Slack and Teams are read by people: they get a digest of a nightly run's band moves.
PEOPLE_FORMATS = (EndpointFormat.SLACK, EndpointFormat.TEAMS)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Severity(models.TextChoices):
    """The risk severities (risk.choices.Severity, which this app may not import), in order."""

    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


SEVERITY_RANK = {value: rank for rank, value in enumerate(Severity.values)}
