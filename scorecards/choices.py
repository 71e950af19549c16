from django.db import models
from django.utils.translation import gettext_lazy as _


class MappingType(models.TextChoices):
    DIRECT = "direct", _("Direct (already 0–100)")
    LINEAR = "linear", _("Linear between lo and hi")
    STEPS = "steps", _("Steps")


class MeasureKind(models.TextChoices):
    MANUAL = "manual", _("Manual")
    AUTOMATED = "automated", _("Automated")


class ValueSource(models.TextChoices):
    API = "api", _("API")
    MANUAL = "manual", _("Manual")
    IMPORT = "import", _("Import")
    COMPUTED = "computed", _("Computed")


class ExceptionOp(models.TextChoices):
    LT = "<", "<"
    LTE = "<=", "<="
    GT = ">", ">"
    GTE = ">=", ">="
    EQ = "==", "=="


class ExceptionAction(models.TextChoices):
    FLAG = "flag", _("Flag (score unchanged)")
    CAP_BAND = "cap_band", _("Cap the band")
    OVERRIDE = "override", _("Override the score")


NOT_SCORED = "Not scored"


class BandTier(models.TextChoices):
    """PRODUCT.md "Portfolio tiers": what a band means across scorecards, so that Red/Yellow/
    Green and A–F accounts add up in one portfolio. Ordered worst first."""

    AT_RISK = "at_risk", _("At risk")
    WATCH = "watch", _("Watch")
    HEALTHY = "healthy", _("Healthy")


# Worst first; a better band never has a worse tier (see validation.band_tiers_validate).
BAND_TIER_ORDER = (BandTier.AT_RISK, BandTier.WATCH, BandTier.HEALTHY)
