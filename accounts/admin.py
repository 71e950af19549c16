from django.contrib import admin
from django.http import HttpRequest

from accounts.models import Account, Contact, RenewalOutcome, Touchpoint
from accounts.services import accounts_changed_notify_on_commit


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ["name", "email", "title", "role", "is_active", "left_on", "external_id"]
    extra = 0


class ReevaluatesAccountAdmin(admin.ModelAdmin):
    """Contacts and touchpoints changed, added or deleted in the admin re-evaluate their
    accounts' risks (PRODUCT.md, "Acting on risks"), once the admin's transaction commits."""

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # after a touchpoint's contacts
        if change and not form.has_changed():
            return
        account_ids = {form.instance.account_id}
        if "account" in form.changed_data and form.initial.get("account"):
            account_ids.add(form.initial["account"])  # the account it was moved away from
        accounts_changed_notify_on_commit(account_ids=account_ids)

    def delete_model(self, request: HttpRequest, obj) -> None:
        super().delete_model(request, obj)
        accounts_changed_notify_on_commit(account_ids=[obj.account_id])

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        account_ids = set(queryset.values_list("account_id", flat=True))
        super().delete_queryset(request, queryset)
        accounts_changed_notify_on_commit(account_ids=account_ids)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "external_id",
        "segment",
        "tier",
        "region",
        "lifecycle",
        "arr",
        "renewal_date",
        "owner",
        "status",
    ]
    list_filter = [
        "segment",
        "tier",
        "region",
        "lifecycle",
        "status",
        # Only the users who own accounts, not every login.
        ("owner", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name", "external_id"]
    list_select_related = ["owner"]
    inlines = [ContactInline]

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if any(formset.model is Contact and formset.has_changed() for formset in formsets):
            accounts_changed_notify_on_commit(account_ids=[form.instance.pk])


@admin.register(Contact)
class ContactAdmin(ReevaluatesAccountAdmin):
    list_display = ["name", "account", "role", "title", "email", "is_active", "left_on"]
    list_filter = ["role", "is_active"]
    search_fields = ["name", "email", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


@admin.register(Touchpoint)
class TouchpointAdmin(ReevaluatesAccountAdmin):
    list_display = ["occurred_on", "kind", "account", "summary", "created_by"]
    list_filter = ["kind"]
    date_hierarchy = "occurred_on"
    search_fields = ["account__name", "account__external_id", "summary"]
    list_select_related = ["account", "created_by"]
    autocomplete_fields = ["account", "contacts"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: Touchpoint, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(RenewalOutcome)
class RenewalOutcomeAdmin(admin.ModelAdmin):
    list_display = ["account", "renewal_date", "outcome", "arr_before", "arr_after"]
    list_filter = ["outcome"]
    date_hierarchy = "renewal_date"
    search_fields = ["account__name", "account__external_id"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


from accounts import admin_api_keys  # noqa: E402, F401  (registers the API key admin)
