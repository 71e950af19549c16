"""The admin CS Ops use to build and tune scorecards. Wiring only: rules live in
`scorecards.validation` (called by `scorecards.forms`) and versions in
`scorecards.services.versions`."""

import json
from collections.abc import Iterator
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from scorecards.documents import scorecard_to_document
from scorecards.forms import (
    BandForm,
    BandInlineFormSet,
    ExceptionRuleForm,
    ExceptionRuleInlineFormSet,
    MeasureForm,
    MeasureGroupForm,
    MeasureGroupInlineFormSet,
    ScorecardForm,
    ScorecardMeasureForm,
    ScorecardMeasureInlineFormSet,
)
from scorecards.models import (
    Band,
    ExceptionRule,
    Measure,
    MeasureGroup,
    MeasureValue,
    RetentionPolicy,
    Scorecard,
    ScorecardMeasure,
    ScorecardVersion,
    ScoreRun,
    ScoreSnapshot,
)
from scorecards.services.publishing import (
    measure_edit_as_drafts,
    scorecard_add_as_draft,
    scorecard_edit_as_draft,
)
from scorecards.version_diff import version_diff


def _pretty_json(value: Any) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


class ReadOnlyAdminMixin:
    """Records written by the product (runs, snapshots, versions): look, never touch."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ExtraRowsOnAddMixin:
    """Empty rows to fill in on a new scorecard; "Add another" on an existing one."""

    def get_extra(self, request: HttpRequest, obj: Scorecard | None = None, **kwargs) -> int:
        return 3 if obj is None else 0


class BandInline(ExtraRowsOnAddMixin, admin.TabularInline):
    model = Band
    form = BandForm
    formset = BandInlineFormSet
    verbose_name_plural = _("Bands (lower bounds on the overall score; the lowest starts at 0)")


class MeasureGroupInline(ExtraRowsOnAddMixin, admin.TabularInline):
    model = MeasureGroup
    form = MeasureGroupForm
    formset = MeasureGroupInlineFormSet


class ScorecardMeasureInline(admin.TabularInline):
    model = ScorecardMeasure
    form = ScorecardMeasureForm
    formset = ScorecardMeasureInlineFormSet
    autocomplete_fields = ["measure"]
    extra = 0
    verbose_name_plural = _("Measures (save a new group first to put measures in it)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScorecardMeasure]:
        return super().get_queryset(request).select_related("measure", "group")


class ExceptionRuleInline(admin.TabularInline):
    model = ExceptionRule
    form = ExceptionRuleForm
    formset = ExceptionRuleInlineFormSet
    autocomplete_fields = ["measure"]
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExceptionRule]:
        return super().get_queryset(request).select_related("measure")


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    form = ScorecardForm
    list_display = ["name", "is_default", "priority", "version", "min_coverage"]
    list_filter = ["is_default"]
    search_fields = ["name"]
    readonly_fields = ["version", "drafts_link", "version_history", "backtest"]
    fieldsets = [
        (None, {"fields": ["name", "description", "is_default", "min_coverage"]}),
        (
            _("Assignment"),
            {
                "description": _(
                    "An account gets the first scorecard, by lowest priority, whose non-empty "
                    "lists all contain its value; else the default scorecard."
                ),
                "fields": ["priority", "segments", "tiers", "lifecycles"],
            },
        ),
        (
            _("Versions"),
            {
                "description": _(
                    "Saving a change here makes a draft, never a live version: it opens on "
                    "the draft page, to preview and publish."
                ),
                "fields": ["version", "drafts_link", "version_note", "version_history"],
            },
        ),
        (_("Learning from renewals"), {"fields": ["backtest"]}),
    ]
    inlines = [BandInline, MeasureGroupInline, ScorecardMeasureInline, ExceptionRuleInline]

    def get_formsets_with_inlines(
        self, request: HttpRequest, obj: Scorecard | None = None
    ) -> Iterator[tuple[type, admin.options.InlineModelAdmin]]:
        # One registry per request, so that the formsets can check rules that span two of
        # them (see scorecards.forms).
        siblings: dict = {}
        for formset_class, inline in super().get_formsets_with_inlines(request, obj):
            yield type(formset_class.__name__, (formset_class,), {"siblings": siblings}), inline

    def save_model(
        self, request: HttpRequest, obj: Scorecard, form: ScorecardForm, change: bool
    ) -> None:
        if change:
            # What is live before this save: the admin's change becomes a draft, and the
            # live definition is put back (PRODUCT.md "Changing a scorecard safely").
            request._scorecard_live = scorecard_to_document(Scorecard.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)

    def save_related(
        self, request: HttpRequest, form: ScorecardForm, formsets: list, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        note = form.cleaned_data.get("version_note", "")
        if not change:
            # Adding a scorecard changes nobody's score: what it asks for (accounts, the
            # default) becomes a draft of its version 1 (PRODUCT.md "Changing a scorecard
            # safely").
            version, draft = scorecard_add_as_draft(
                scorecard=form.instance, user=request.user, note=note
            )
            if draft is None:
                self.message_user(
                    request, _("Saved as version %(number)s.") % {"number": version.number}
                )
                return
            request._scorecard_draft = draft
            self.message_user(
                request,
                _(
                    "Saved as version %(number)s, assigned to no account. The accounts it "
                    "asks for are draft %(draft)s: check its impact and publish it on the "
                    "draft page."
                )
                % {"number": version.number, "draft": draft.pk},
            )
            return
        draft = scorecard_edit_as_draft(
            scorecard=form.instance,
            live=request._scorecard_live,
            user=request.user,
            note=note,
        )
        if draft is None:
            self.message_user(
                request,
                _("Nothing in the definition changed; still version %(number)s.")
                % {"number": form.instance.version},
                messages.INFO,
            )
            return
        request._scorecard_draft = draft
        self.message_user(
            request,
            _(
                "Saved as draft %(draft)s, not published: check its impact and publish it on "
                "the draft page. Scores still use version %(number)s."
            )
            % {"draft": draft.pk, "number": form.instance.version},
        )

    def response_add(
        self, request: HttpRequest, obj: Scorecard, post_url_continue: str | None = None
    ) -> HttpResponse:
        draft = getattr(request, "_scorecard_draft", None)
        if draft is not None:
            return HttpResponseRedirect(reverse("front:draft", args=[draft.pk]))
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Scorecard) -> HttpResponse:
        draft = getattr(request, "_scorecard_draft", None)
        if draft is not None:
            return HttpResponseRedirect(reverse("front:draft", args=[draft.pk]))
        return super().response_change(request, obj)

    @admin.display(description=_("Drafts"))
    def drafts_link(self, scorecard: Scorecard) -> str:
        if scorecard.pk is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("front:scorecard-versions", args=[scorecard.pk]),
            _("Versions, drafts, preview, publish and rollback"),
        )

    @admin.display(description=_("Backtest"))
    def backtest(self, scorecard: Scorecard) -> str:
        if scorecard.pk is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("front:backtest", args=[scorecard.pk]),
            _("Backtest on renewal outcomes, suggested weights and drafts"),
        )

    @admin.display(description=_("Version history"))
    def version_history(self, scorecard: Scorecard) -> str:
        if scorecard.pk is None:
            return "—"
        versions = list(scorecard.versions.select_related("created_by").order_by("number"))
        previous = [None, *(version.definition for version in versions[:-1])]
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">v{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:scorecards_scorecardversion_change", args=[version.pk]),
                    version.number,
                    date_format(timezone.localtime(version.created_at), "DATETIME_FORMAT"),
                    version.created_by or "—",
                    _changes_summary(before, version.definition),
                    version.note,
                )
                for version, before in reversed(list(zip(versions, previous, strict=True)))
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            _("Version"),
            _("When"),
            _("Who"),
            _("What changed"),
            _("Note"),
            rows,
        )


SUMMARY_CHANGES = 3


def _changes_summary(previous: dict | None, current: dict) -> str:
    """The first few changes from the previous version, on one line."""
    if previous is None:
        return str(_("first version"))
    changes = version_diff(previous, current)
    shown = "; ".join(str(change) for change in changes[:SUMMARY_CHANGES])
    more = len(changes) - SUMMARY_CHANGES
    return shown + (f"; and {more} more" if more > 0 else "") if changes else "—"


@admin.register(ScorecardVersion)
class ScorecardVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["scorecard", "number", "created_by", "created_at", "note"]
    list_filter = ["scorecard"]
    list_select_related = ["scorecard", "created_by"]
    fields = ["scorecard", "number", "created_by", "created_at", "note", "changes", "document"]
    readonly_fields = fields

    @admin.display(description=_("Changes from the previous version"))
    def changes(self, version: ScorecardVersion) -> str:
        previous = (
            ScorecardVersion.objects.filter(
                scorecard_id=version.scorecard_id, number__lt=version.number
            )
            .order_by("-number")
            .first()
        )
        if previous is None:
            return _("The first version: nothing to compare with.")
        changes = version_diff(previous.definition, version.definition)
        if not changes:
            return _("Nothing in the definition changed.")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((c.section, c.subject, c.before or "—", c.after or "—") for c in changes),
        )
        return format_html(
            '<table class="version-diff"><caption>{}</caption><thead><tr><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("From v%(number)s") % {"number": previous.number},
            _("Section"),
            _("What"),
            _("Before"),
            _("After"),
            rows,
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Snapshots name the version they were scored with.
        return False

    @admin.display(description=_("Definition"))
    def document(self, version: ScorecardVersion) -> str:
        return _pretty_json(version.definition)


@admin.register(Measure)
class MeasureAdmin(admin.ModelAdmin):
    form = MeasureForm
    list_display = ["key", "name", "kind", "mapping_type", "max_age_days"]
    list_filter = ["kind", "mapping_type"]
    search_fields = ["key", "name"]
    fieldsets = [
        (
            None,
            {
                "description": _(
                    "A measure is part of every scorecard that uses it: a change to anything "
                    "but the description is saved as a draft of each of them, never a live "
                    "version, and opens on the draft page to preview and publish."
                ),
                "fields": ["key", "name", "description", "kind", "max_age_days"],
            },
        ),
        (
            _("Mapping from raw value to a 0–100 score"),
            {"fields": ["mapping_type", "lo", "hi", "higher_is_better", "steps"]},
        ),
        (
            _("Derived from usage metrics (empty: values are pushed)"),
            {"fields": ["source"]},
        ),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Measure | None = None) -> list[str]:
        # The key is the contract with integrations and means the same signal everywhere.
        return ["key"] if obj is not None else []

    def save_model(
        self, request: HttpRequest, obj: Measure, form: MeasureForm, change: bool
    ) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # The mapping (and name, kind, max age, source) is part of every scorecard that uses
        # the measure: the edit becomes a draft of each, never a live version (PRODUCT.md
        # "Changing a scorecard safely").
        drafts = measure_edit_as_drafts(measure=obj, user=request.user)
        request._measure_drafts = drafts
        if drafts:
            self.message_user(
                request,
                _(
                    "Saved as %(count)s draft(s), not published: %(drafts)s. Check the impact "
                    "and publish on the draft page; scores still use the live measure."
                )
                % {
                    "count": len(drafts),
                    "drafts": ", ".join(f"draft {d.pk} of “{d.scorecard}”" for d in drafts),
                },
            )

    def response_change(self, request: HttpRequest, obj: Measure) -> HttpResponse:
        drafts = getattr(request, "_measure_drafts", [])
        if drafts:
            return HttpResponseRedirect(reverse("front:draft", args=[drafts[0].pk]))
        return super().response_change(request, obj)


@admin.register(MeasureValue)
class MeasureValueAdmin(admin.ModelAdmin):
    list_display = ["account", "measure", "raw_value", "score", "as_of", "source", "entered_by"]
    list_filter = ["measure", "source"]
    date_hierarchy = "as_of"
    search_fields = ["account__name", "account__external_id"]
    list_select_related = ["account", "measure", "entered_by"]
    autocomplete_fields = ["account", "measure"]
    raw_id_fields = ["entered_by"]
    # The table is large: no COUNT(*) of the whole table on every page.
    show_full_result_count = False


@admin.register(ScoreSnapshot)
class ScoreSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "account",
        "as_of",
        "overall",
        "band",
        "coverage",
        "scorecard",
        "scorecard_version",
    ]
    list_filter = ["band", "as_of", "scorecard"]
    date_hierarchy = "as_of"
    search_fields = ["account__name", "account__external_id"]
    list_select_related = ["account", "scorecard"]
    show_full_result_count = False


@admin.register(ScoreRun)
class ScoreRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "as_of",
        "status",
        "is_full",
        "accounts_total",
        "accounts_scored",
        "accounts_not_scored",
        "accounts_failed",
        "chunks_done",
        "chunks_total",
        "requested_by",
        "created_at",
        "duration_seconds",
    ]
    list_filter = ["status", "as_of", "is_full"]
    date_hierarchy = "as_of"
    list_select_related = ["requested_by"]


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    """One row: how long daily snapshots and measure values are kept (services/retention.py)."""

    list_display = ["__str__", "updated_at"]
    fields = ["daily_snapshot_days", "value_months", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not RetentionPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
