from django.contrib.auth import get_user_model
from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account, Contact, RenewalOutcome, Touchpoint
from accounts.selectors import accounts_visible_to
from healthscore.dates import BoundedDateField

# Model date fields of the write serializers refuse dates outside the accepted window too.
DATE_FIELD_MAPPING = {
    **serializers.ModelSerializer.serializer_field_mapping,
    models.DateField: BoundedDateField,
}


@extend_schema_field(
    {
        "type": "number",
        "format": "double",
        "minimum": 0,
        "maximum": 10**12,
        "exclusiveMaximum": True,
        "multipleOf": 0.01,
    }
)
class MoneyField(serializers.DecimalField):
    """An amount of money (ARR): from 0, in cents, below a trillion (the model's 14 digits
    with 2 decimals), as the bulk upsert and the CSV imports take it (accounts.bulk.money_field).
    The schema states all of it: drf-spectacular would leave out the cents and the 0."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=14, decimal_places=2, min_value=0, **kwargs)


@extend_schema_field({"type": "string", "minLength": 1})  # "" is read as null: refused
class VisibleAccountField(serializers.SlugRelatedField):
    """An account named by its external_id, among those the requesting user may see: another
    CSM's account reads as unknown, exactly like one that does not exist."""

    default_error_messages = {
        "does_not_exist": "No account with external_id “{value}” that you can see.",
        "invalid": "Give the account's external_id as a string.",
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="external_id", **kwargs)

    def get_queryset(self):
        return accounts_visible_to(user=self.context["request"].user)


class CurrentScoreSerializer(serializers.Serializer):
    overall = serializers.FloatField(allow_null=True)
    band = serializers.CharField()
    as_of = BoundedDateField()


class AccountSerializer(serializers.ModelSerializer):
    # Null without an owner, empty for an owner who has no email address.
    owner_email = serializers.EmailField(
        source="owner.email", read_only=True, allow_null=True, allow_blank=True
    )
    score = CurrentScoreSerializer(source="current_score", read_only=True, allow_null=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "external_id",
            "name",
            "segment",
            "tier",
            "region",
            "industry",
            "lifecycle",
            "arr",
            "renewal_date",
            "owner",
            "owner_email",
            "status",
            "score",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AccountWriteSerializer(serializers.ModelSerializer):
    """Create (POST) or change (PATCH) one account; the owner is given by email."""

    serializer_field_mapping = DATE_FIELD_MAPPING

    owner_email = serializers.EmailField(required=False, allow_null=True, write_only=True)
    arr = MoneyField(required=False)

    class Meta:
        model = Account
        fields = [
            "external_id",
            "name",
            "segment",
            "tier",
            "region",
            "industry",
            "lifecycle",
            "arr",
            "renewal_date",
            "owner_email",
            "status",
        ]

    def validate_owner_email(self, value: str | None):
        if value is None:
            return None
        owners = list(get_user_model().objects.filter(email__iexact=value)[:2])
        if len(owners) != 1:
            problem = "No user has" if not owners else "Several users have"
            raise serializers.ValidationError(f"{problem} the email “{value}”.")
        return owners[0]

    def validate(self, attrs: dict) -> dict:
        if "owner_email" in attrs:
            attrs["owner"] = attrs.pop("owner_email")
        return attrs


class AccountRowSerializer(serializers.Serializer):
    """One row of a bulk upsert (documentation of the shape; accounts.ingestion validates)."""

    external_id = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=200, required=False)
    segment = serializers.CharField(required=False, allow_blank=True)
    tier = serializers.CharField(required=False, allow_blank=True)
    region = serializers.CharField(required=False, allow_blank=True)
    industry = serializers.CharField(required=False, allow_blank=True)
    lifecycle = serializers.ChoiceField(choices=Account.Lifecycle.choices, required=False)
    arr = MoneyField(required=False)
    renewal_date = BoundedDateField(required=False, allow_null=True)
    owner_email = serializers.EmailField(required=False, allow_null=True, allow_blank=True)
    status = serializers.ChoiceField(choices=Account.Status.choices, required=False)


class UpsertResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class ContactSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.external_id", read_only=True)
    email = serializers.EmailField(read_only=True, allow_blank=True)  # a contact may have none

    class Meta:
        model = Contact
        fields = [
            "id",
            "external_id",
            "account",
            "account_id",
            "name",
            "email",
            "title",
            "role",
            "is_active",
            "left_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ContactWriteSerializer(serializers.ModelSerializer):
    """Create one contact, or change one (PATCH: a change of role or a departure is recorded
    by accounts.services, which sponsor tracking reads)."""

    serializer_field_mapping = DATE_FIELD_MAPPING

    account = VisibleAccountField()

    class Meta:
        model = Contact
        fields = [
            "external_id",
            "account",
            "name",
            "email",
            "title",
            "role",
            "is_active",
            "left_on",
        ]

    def validate(self, attrs: dict) -> dict:
        instance = self.instance
        is_active = attrs.get("is_active", instance.is_active if instance else True)
        left_on = attrs.get("left_on", instance.left_on if instance else None)
        if "left_on" in attrs and attrs["left_on"] is not None and "is_active" not in attrs:
            is_active = False
        if attrs.get("is_active") is True and "left_on" not in attrs:
            left_on = None  # back at the company: the date they had left goes
        if not is_active and left_on is None:
            raise serializers.ValidationError(
                {"left_on": "A contact who left needs the date they left."}
            )
        if is_active and left_on is not None:
            raise serializers.ValidationError({"left_on": "An active contact has no left_on."})
        attrs["is_active"], attrs["left_on"] = is_active, left_on
        return attrs


class ContactRowSerializer(serializers.Serializer):
    """One row of a contacts bulk upsert (documentation; accounts.ingestion validates)."""

    external_id = serializers.CharField(max_length=100)
    account = serializers.CharField(help_text="The account's external_id.", required=False)
    name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    title = serializers.CharField(required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Contact.Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    left_on = BoundedDateField(required=False, allow_null=True)


class TouchpointSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.external_id", read_only=True)
    contacts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Touchpoint
        fields = [
            "id",
            "account",
            "account_id",
            "kind",
            "occurred_on",
            "summary",
            "contacts",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.INT)
class VisibleContactsField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        visible = accounts_visible_to(user=self.context["request"].user)
        return Contact.objects.filter(account__in=visible)


class TouchpointWriteSerializer(serializers.Serializer):
    account = VisibleAccountField()
    kind = serializers.ChoiceField(choices=Touchpoint.Kind.choices, default=Touchpoint.Kind.MEETING)
    occurred_on = BoundedDateField()
    summary = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=Touchpoint.SUMMARY_MAX_LENGTH
    )
    contacts = VisibleContactsField(many=True, required=False, default=list)


class RenewalOutcomeSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.external_id", read_only=True)

    class Meta:
        model = RenewalOutcome
        fields = [
            "id",
            "account",
            "account_id",
            "renewal_date",
            "outcome",
            "arr_before",
            "arr_after",
            "created_at",
        ]
        read_only_fields = fields


class RenewalOutcomeRowSerializer(serializers.Serializer):
    """One renewal outcome to upsert by (account, renewal_date) (documentation of the shape;
    accounts.ingestion validates)."""

    account = serializers.CharField(help_text="The account's external_id.")
    renewal_date = BoundedDateField()
    outcome = serializers.ChoiceField(choices=RenewalOutcome.Outcome.choices)
    arr_before = MoneyField()
    arr_after = MoneyField()
