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
