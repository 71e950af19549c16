from django.db import models
from django.utils.translation import gettext_lazy as _


class RiskType(models.TextChoices):
    LOW_SENTIMENT = "low_sentiment", _("Low sentiment")
    SCORE_DROP = "score_drop", _("Score drop")
    TURNED_RED = "turned_red", _("Turned red")
    SPONSOR_LEFT = "sponsor_left", _("Sponsor left")
    NO_SPONSOR = "no_sponsor", _("No sponsor")
    SPONSOR_DISENGAGED = "sponsor_disengaged", _("Sponsor disengaged")
    RENEWAL_AT_RISK = "renewal_at_risk", _("Renewal at risk")
    SINGLE_THREADED = "single_threaded", _("Single-threaded")
    SENTIMENT_DIVERGENCE = "sentiment_divergence", _("Sentiment divergence")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class RiskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    MITIGATING = "mitigating", _("Mitigating")
    RESOLVED = "resolved", _("Resolved")
    WONT_FIX = "wont_fix", _("Closed as won't fix")


# A risk is "open" for the one-per-type rule until a person resolves or closes it.
UNRESOLVED_STATUSES = (RiskStatus.OPEN, RiskStatus.ACKNOWLEDGED, RiskStatus.MITIGATING)

# Severity as a level to compare: a risk "rises" when its level goes up.
SEVERITY_LEVEL = {severity.value: level for level, severity in enumerate(Severity)}
