from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Account(models.Model):
    """A customer company."""

    class Lifecycle(models.TextChoices):
        ONBOARDING = "onboarding", _("Onboarding")
        ADOPTING = "adopting", _("Adopting")
        MATURE = "mature", _("Mature")
        RENEWING = "renewing", _("Renewing")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CHURNED = "churned", _("Churned")

    external_id = models.CharField(max_length=100, help_text=_("The CRM id; unique."))
    name = models.CharField(max_length=200)
    segment = models.CharField(max_length=50, blank=True)
    tier = models.CharField(max_length=50, blank=True)
    region = models.CharField(max_length=50, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    lifecycle = models.CharField(
        max_length=20, choices=Lifecycle.choices, default=Lifecycle.ONBOARDING
    )
    arr = models.DecimalField(_("ARR"), max_digits=14, decimal_places=2, default=0)
    renewal_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_accounts",
        help_text=_("The CSM who owns the account."),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], name="%(app_label)s_%(class)s_external_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(arr__gte=0), name="%(app_label)s_%(class)s_arr_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "name"], name="account_owner_status_name"),
            # Leaders and integrations list every account by name (the API's default order).
            models.Index(fields=["name", "id"], name="account_name"),
            models.Index(fields=["status", "renewal_date"], name="account_status_renewal"),
            models.Index(fields=["segment", "status"], name="account_segment_status"),
            models.Index(fields=["region", "status"], name="account_region_status"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A person at an account. Sponsor tracking watches executive sponsors and decision makers."""

    class Role(models.TextChoices):
        EXECUTIVE_SPONSOR = "executive_sponsor", _("Executive sponsor")
        DECISION_MAKER = "decision_maker", _("Decision maker")
        CHAMPION = "champion", _("Champion")
        ADMIN = "admin", _("Admin")
        USER = "user", _("User")

    SPONSOR_ROLES = (Role.EXECUTIVE_SPONSOR, Role.DECISION_MAKER)

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    external_id = models.CharField(
        max_length=100, blank=True, help_text=_("The CRM id; unique when given.")
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    title = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.USER)
    is_active = models.BooleanField(
        default=True, help_text=_("Unticked when the person left the company.")
    )
    left_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="%(app_label)s_%(class)s_external_id_unique",
            ),
            # A person who left has the date they left; an active one has none.
            models.CheckConstraint(
                condition=Q(is_active=True, left_on__isnull=True)
                | Q(is_active=False, left_on__isnull=False),
                name="%(app_label)s_%(class)s_left_on_iff_inactive",
            ),
        ]
        indexes = [models.Index(fields=["account", "role"], name="contact_account_role")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_sponsor(self) -> bool:
        return self.role in self.SPONSOR_ROLES


class Touchpoint(models.Model):
    """A meeting, call, email or note with contacts on a date; it feeds sponsor engagement."""

    class Kind(models.TextChoices):
        MEETING = "meeting", _("Meeting")
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        NOTE = "note", _("Note")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="touchpoints")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MEETING)
    occurred_on = models.DateField()
    SUMMARY_MAX_LENGTH = 10_000  # checked by the API
    summary = models.TextField(blank=True)
    contacts = models.ManyToManyField(Contact, blank=True, related_name="touchpoints")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="touchpoints_created",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_on", "-id"]
        indexes = [models.Index(fields=["account", "occurred_on"], name="touchpoint_account_on")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.occurred_on}"


class RenewalOutcome(models.Model):
    """What happened at a renewal; the scorecard optimizer learns from it."""

    class Outcome(models.TextChoices):
        RENEWED = "renewed", _("Renewed")
        EXPANDED = "expanded", _("Expanded")
        DOWNGRADED = "downgraded", _("Downgraded")
        CHURNED = "churned", _("Churned")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="renewal_outcomes")
    renewal_date = models.DateField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    arr_before = models.DecimalField(max_digits=14, decimal_places=2)
    arr_after = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-renewal_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "renewal_date"],
                name="%(app_label)s_%(class)s_one_per_account_and_date",
            ),
            models.CheckConstraint(
                condition=Q(arr_before__gte=0) & Q(arr_after__gte=0),
                name="%(app_label)s_%(class)s_arr_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.renewal_date}: {self.get_outcome_display()}"


class ContactChange(models.Model):
    """A recorded move of a contact: they left the company, or their role changed.

    Sponsor tracking reads these: a sponsor loss (an executive sponsor or decision maker who
    left, or whose role moved away from those two) raises the sponsor_left risk once per move.
    """

    class Kind(models.TextChoices):
        LEFT = "left", _("Left the company")
        ROLE_CHANGED = "role_changed", _("Role changed")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="changes")
    # The contact's account, copied so that portfolio-wide reads need no join.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contact_changes")
    kind = models.CharField(max_length=15, choices=Kind.choices)
    from_role = models.CharField(max_length=20, choices=Contact.Role.choices)
    to_role = models.CharField(max_length=20, choices=Contact.Role.choices)
    changed_on = models.DateField(help_text=_("The day they left, or the day the role changed."))
    is_sponsor_loss = models.BooleanField(
        default=False,
        help_text=_("An executive sponsor or decision maker left or moved out of that role."),
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contact_changes",
        help_text=_("Empty when the move was found rather than entered (an import, the CRM)."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "-changed_on", "-id"]
        constraints = [
            # A departure is one move: recording it twice (a retry, two evaluations finding
            # the same imported departure) keeps one.
            models.UniqueConstraint(
                fields=["contact", "changed_on"],
                condition=Q(kind="left"),
                name="%(app_label)s_%(class)s_one_departure_per_day",
            ),
        ]
        indexes = [
            models.Index(
                fields=["account", "is_sponsor_loss", "changed_on"],
                name="contactchange_account_loss",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact}: {self.get_kind_display()} on {self.changed_on}"


class ApiKey(models.Model):
    """A key an integration sends instead of a session: it acts as its owner, within its
    scopes. Only a hash of the secret is stored; the key itself is shown once, when made."""

    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE_ACCOUNTS = "write:accounts", _("Write accounts, contacts, touchpoints, renewals")
        WRITE_MEASURES = "write:measures", _("Write measure values")
        WRITE_METRICS = "write:metrics", _("Declare metrics and write metric values")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text=_("The key sees and may change what this user's role allows, no more."),
    )
    name = models.CharField(max_length=100, help_text=_("What uses it, e.g. “Warehouse sync”."))
    prefix = models.CharField(max_length=16, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        constraints = [
            models.UniqueConstraint(fields=["prefix"], name="%(app_label)s_%(class)s_prefix_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
