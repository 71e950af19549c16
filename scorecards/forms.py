"""Admin forms for scorecards: they call the rules in `scorecards.validation` and attach each
error to the field at fault.

The scorecard change page edits bands, groups, measures and exception rules in one save, so
some rules span two inline formsets (an exception rule caps at a band being renamed in the same
save; a measure sits in a group being deleted). The admin gives the formsets of one request a
shared `siblings` dict, in which each formset registers itself under its model's name.
"""

from collections.abc import Collection
from functools import cached_property
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from metrics.selectors import metric_keys_declared
from scorecards.choices import BandTier, ExceptionAction
from scorecards.models import (
    Band,
    ExceptionRule,
    Measure,
    MeasureGroup,
    Scorecard,
    ScorecardMeasure,
)
from scorecards.validation import (
    band_tiers_default,
    bands_validate,
    exception_validate_by_field,
    mapping_validate_by_field,
    measure_source_normalize,
    measure_source_validate_by_field,
    weight_validate,
)


def _add_errors(form: forms.Form, errors_by_field: dict[str, list[str]]) -> None:
    """Attach rule errors to their fields, except fields that already failed to parse (an
    invalid number or JSON reads as missing, which would add a second, wrong message)."""
    for field, messages in errors_by_field.items():
        if field in form.errors:
            continue
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


class CommaSeparatedListField(forms.CharField):
    """A list of strings typed as "Enterprise, Mid-Market"; stored as a JSON list."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list | tuple):
            items = value
        else:
            items = (super().to_python(value) or "").split(",")
        # Keep the order typed, drop blanks and repeats.
        return list(dict.fromkeys(item.strip() for item in items if item.strip()))


class _SiblingFormSet(BaseInlineFormSet):
    """An inline formset that can see the other formsets saved with it (see module docstring)."""

    siblings: dict[str, BaseInlineFormSet] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.siblings is not None:
            self.siblings[self.model._meta.model_name] = self

    def sibling(self, model: type) -> BaseInlineFormSet | None:
        """The bound formset of `model` saved in the same request, if any."""
        formset = (self.siblings or {}).get(model._meta.model_name)
        return formset if formset is not None and formset.is_bound else None

    def kept_forms(self) -> list[forms.Form]:
        """Forms with data that are not marked for deletion (validates the formset)."""
        self.errors  # noqa: B018 - cleans every form, so that cleaned_data exists
        return [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None) and not self._should_delete_form(form)
        ]


class ScorecardForm(forms.ModelForm):
    segments = CommaSeparatedListField(
        required=False,
        help_text=_("Comma-separated, e.g. “Enterprise, Mid-Market”. Empty matches any."),
    )
    tiers = CommaSeparatedListField(
        required=False, help_text=_("Comma-separated, e.g. “Gold, Platinum”. Empty matches any.")
    )
    lifecycles = forms.MultipleChoiceField(
        choices=Account.Lifecycle.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked matches any."),
    )
    version_note = forms.CharField(
        max_length=300,
        required=False,
        help_text=_("What changed and why; kept with the new version."),
    )

    class Meta:
        model = Scorecard
        fields = [
            "name",
            "description",
            "is_default",
            "min_coverage",
            "priority",
            "segments",
            "tiers",
            "lifecycles",
        ]

    def clean_is_default(self) -> bool:
        is_default = self.cleaned_data["is_default"]
        if is_default:
            other = Scorecard.objects.filter(is_default=True).exclude(pk=self.instance.pk).first()
            if other is not None:
                raise ValidationError(
                    _("“%(name)s” is the default scorecard; untick it there first."),
                    params={"name": other.name},
                )
        return is_default


class MeasureForm(forms.ModelForm):
    steps = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_(
            "Steps only: [[threshold, score], …] in ascending threshold order, "
            "e.g. [[1, 0], [2, 25], [3, 50], [4, 75], [5, 100]]."
        ),
    )

    class Meta:
        model = Measure
        fields = [
            "key",
            "name",
            "description",
            "kind",
            "mapping_type",
            "lo",
            "hi",
            "higher_is_better",
            "steps",
            "max_age_days",
            "source",
        ]

    def clean_source(self) -> Any:
        source = self.cleaned_data.get("source") or None
        errors = measure_source_validate_by_field(source, metric_keys=metric_keys_declared())
        if errors:
            raise ValidationError(
                [
                    f"{field}: {message}" if field else message
                    for field, messages in errors.items()
                    for message in messages
                ]
            )
        return measure_source_normalize(source)

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        if "mapping_type" not in cleaned_data:
            return cleaned_data
        errors = mapping_validate_by_field(
            mapping_type=cleaned_data["mapping_type"],
            lo=cleaned_data.get("lo"),
            hi=cleaned_data.get("hi"),
            higher_is_better=cleaned_data.get("higher_is_better", True),
            steps=cleaned_data.get("steps"),
        )
        _add_errors(self, errors)
        return cleaned_data


def _clean_weight(form: forms.ModelForm) -> Any:
    weight = form.cleaned_data.get("weight")
    errors = weight_validate(weight)
    if errors:
        raise ValidationError(errors)
    return weight


class BandForm(forms.ModelForm):
    class Meta:
        model = Band
        fields = ["label", "min_score", "color", "tier"]
        widgets = {"color": forms.TextInput(attrs={"type": "color"})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Left blank, a band gets its default tier by position (BandInlineFormSet.clean).
        self.fields["tier"].required = False
        if self.instance.pk is None:
            self.initial["tier"] = ""
        self.fields["tier"].choices = [("", _("Default by position")), *BandTier.choices]


class MeasureGroupForm(forms.ModelForm):
    class Meta:
        model = MeasureGroup
        fields = ["name", "weight", "position"]

    def clean_weight(self) -> Any:
        return _clean_weight(self)


class ScorecardMeasureForm(forms.ModelForm):
    class Meta:
        model = ScorecardMeasure
        fields = ["group", "measure", "weight", "position"]

    def clean_weight(self) -> Any:
        return _clean_weight(self)

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        group = cleaned_data.get("group")
        # The inline formset sets the scorecard from the parent before validation.
        if group is not None and group.scorecard_id != self.instance.scorecard_id:
            self.add_error("group", _("Choose one of this scorecard's groups."))
        return cleaned_data


class ExceptionRuleForm(forms.ModelForm):
    """`band_labels`: the scorecard's bands as they will be saved; the saved ones when None."""

    class Meta:
        model = ExceptionRule
        fields = ["measure", "op", "value", "action", "band", "score", "reason"]

    def __init__(self, *args: Any, band_labels: Collection[str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.band_labels = band_labels

    def _band_labels(self) -> Collection[str]:
        if self.band_labels is not None:
            return self.band_labels
        if self.instance.scorecard_id is None:
            return []
        return list(
            Band.objects.filter(scorecard_id=self.instance.scorecard_id).values_list(
                "label", flat=True
            )
        )

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        if "action" not in cleaned_data:
            return cleaned_data
        action = cleaned_data["action"]
        errors = exception_validate_by_field(
            action=action,
            band=cleaned_data.get("band"),
            score=cleaned_data.get("score"),
            band_labels=self._band_labels() if action == ExceptionAction.CAP_BAND else [],
        )
        _add_errors(self, errors)
        return cleaned_data


class BandInlineFormSet(_SiblingFormSet):
    """Validates a scorecard's bands together (`bands_validate`), ignoring deleted rows."""

    def labels(self) -> set[str]:
        """The labels of the bands this formset keeps."""
        return {
            form.cleaned_data["label"] for form in self.kept_forms() if "label" in form.cleaned_data
        }

    def clean(self) -> None:
        if any(self.errors):
            return
        errors = bands_validate(
            [
                (form.cleaned_data["label"], form.cleaned_data["min_score"])
                for form in self.kept_forms()
            ]
        )
        if errors:
            raise ValidationError(errors)
        self._default_tiers()
        super().clean()

    def _default_tiers(self) -> None:
        """PRODUCT.md "Portfolio tiers": a band whose tier is left blank gets its default
        (the lowest band at_risk, the highest healthy, the rest watch)."""
        kept = list(self.kept_forms())
        defaults = band_tiers_default([form.cleaned_data["min_score"] for form in kept])
        for form, default in zip(kept, defaults, strict=True):
            if not form.cleaned_data.get("tier"):
                form.cleaned_data["tier"] = default
                form.instance.tier = default

    def save_existing_objects(self, commit: bool = True) -> list[Band]:
        """Save the changed bands as new rows once the changed and deleted ones are out of the
        table: two bands swapping minimums or labels would otherwise meet the unique
        constraints half-way. Nothing refers to a band by its id (rules name its label)."""
        if not commit:
            return super().save_existing_objects(commit=False)
        changed = [
            form
            for form in self.initial_forms
            if form.instance.pk is not None
            and form.has_changed()
            and not self._should_delete_form(form)
        ]
        Band.objects.filter(pk__in=[form.instance.pk for form in changed]).delete()
        for form in changed:
            form.instance.pk = None  # skipped below, then inserted anew
            form.instance._state.adding = True
        saved = super().save_existing_objects(commit=True)  # deletes the deleted ones
        for form in changed:
            saved.append(self.save_existing(form, form.instance, commit=True))
            self.changed_objects.append((form.instance, form.changed_data))
        return saved


class MeasureGroupInlineFormSet(_SiblingFormSet):
    def deleted_group_ids(self) -> set[int]:
        """The saved groups this formset deletes (even while other rows are invalid)."""
        self.errors  # noqa: B018 - cleans every form, so that DELETE is read
        return {
            form.instance.pk
            for form in self.initial_forms
            if form.instance.pk is not None and self._should_delete_form(form)
        }


class ScorecardMeasureInlineFormSet(_SiblingFormSet):
    """Offers only the parent scorecard's groups, and keeps no measure in a deleted group."""

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        if "group" in form.fields:
            groups = MeasureGroup.objects.filter(scorecard_id=self.instance.pk)
            form.fields["group"].queryset = groups if self.instance.pk else groups.none()

    def clean(self) -> None:
        super().clean()
        groups = self.sibling(MeasureGroup)
        if groups is None:
            return
        deleted = groups.deleted_group_ids()
        for form in self.kept_forms():
            group = form.cleaned_data.get("group")
            if group is not None and group.pk in deleted:
                form.add_error(
                    "group",
                    _("The group “%(group)s” is being deleted; move this measure or delete it too.")
                    % {"group": group.name},
                )


class ExceptionRuleInlineFormSet(_SiblingFormSet):
    """Checks cap_band rules against the bands saved in the same request."""

    @cached_property
    def band_labels(self) -> Collection[str] | None:
        bands = self.sibling(Band)
        return bands.labels() if bands is not None else None

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        if index is not None:
            kwargs["band_labels"] = self.band_labels
        return kwargs
