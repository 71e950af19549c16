"""Forms of the web pages (the admin's forms live beside the admin, in each app's forms.py)."""

import json
import math
from datetime import date

from django import forms
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator

from accounts.models import Account, Contact, Touchpoint
from risk.choices import RiskStatus
from scorecards.learning.backtest import DEFAULT_HORIZON_DAYS
from scorecards.learning.selectors import HORIZON_DAYS_MAX, HORIZON_DAYS_MIN
from scorecards.services.draft_documents import draft_document_edit
from scorecards.services.sentiment import COMMENT_REQUIRED_AT_OR_BELOW, SENTIMENT_CHOICES

SENTIMENT_LABELS = {
    1: "1 · Very poor",
    2: "2 · Poor",
    3: "3 · Neutral",
    4: "4 · Good",
    5: "5 · Very good",
}


class SentimentForm(forms.Form):
    score = forms.TypedChoiceField(
        label="Your read of the account",
        coerce=int,
        choices=[(value, SENTIMENT_LABELS[value]) for value in SENTIMENT_CHOICES],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What did you hear or see?"}),
        help_text="Required when the sentiment is 1 or 2.",
    )

    def clean(self):
        cleaned = super().clean()
        score = cleaned.get("score")
        comment = (cleaned.get("comment") or "").strip()
        if score is not None and score <= COMMENT_REQUIRED_AT_OR_BELOW and not comment:
            self.add_error("comment", "Say why when the sentiment is 1 or 2.")
        cleaned["comment"] = comment
        return cleaned


_HORIZON_RANGE = f"Choose a horizon of {HORIZON_DAYS_MIN} to {HORIZON_DAYS_MAX} days."


class BacktestHorizonForm(forms.Form):
    """The horizon of the backtest page: the days before renewal at which each outcome is
    scored. Bound to the page's query (to view) or to the POST that starts a run."""

    horizon = forms.IntegerField(
        required=False,
        min_value=HORIZON_DAYS_MIN,
        max_value=HORIZON_DAYS_MAX,
        label="Horizon (days before renewal)",
        widget=forms.NumberInput(attrs={"placeholder": str(DEFAULT_HORIZON_DAYS)}),
        error_messages={
            "invalid": f"Enter a whole number of days. {_HORIZON_RANGE}",
            "min_value": _HORIZON_RANGE,
            "max_value": _HORIZON_RANGE,
        },
    )

    def __init__(self, data=None):
        super().__init__(data, label_suffix="")

    def horizon_days(self) -> int:
        """The chosen horizon; the default when none was given or it is invalid (call after
        is_valid())."""
        return getattr(self, "cleaned_data", {}).get("horizon") or DEFAULT_HORIZON_DAYS


ACTION_LABELS = {
    RiskStatus.ACKNOWLEDGED: "Acknowledge",
    RiskStatus.MITIGATING: "Mitigate",
    RiskStatus.RESOLVED: "Resolve",
    RiskStatus.WONT_FIX: "Close as won't fix",
}


class RiskTransitionForm(forms.Form):
    """One move of a risk's lifecycle, with its note. The lifecycle (which moves exist, which
    need a note) is the service's: the form offers the allowed moves and checks the shape."""

    to_status = forms.ChoiceField()
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    snoozed_until = forms.DateField(
        required=False,
        label="Snooze until",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="When closing while the condition still holds: quiet until then (30 days "
        "if empty).",
    )

    def __init__(self, data=None, *, allowed: tuple[str, ...]):
        super().__init__(data)
        self.fields["to_status"].choices = [
            (status, ACTION_LABELS.get(status, RiskStatus(status).label)) for status in allowed
        ]


class TaskFinishForm(forms.Form):
    """Done (optional note) or skipped (required note) — the service enforces both as well."""

    action = forms.ChoiceField(choices=[("done", "Done"), ("skip", "Skip")])
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 1})
    )

    def clean(self):
        cleaned = super().clean()
        cleaned["note"] = (cleaned.get("note") or "").strip()
        if cleaned.get("action") == "skip" and not cleaned["note"]:
            self.add_error("note", "Say why the task is skipped.")
        return cleaned


def active_contacts(account: Account) -> QuerySet[Contact]:
    """The contacts a touchpoint can name, a role change or a departure can concern."""
    return account.contacts.filter(is_active=True).order_by("name")


class ContactChoiceIterator(ModelChoiceIterator):
    """An account's contacts listed from the field's queryset itself (one plain query, then
    its result cache). Django's own iterator calls `queryset.iterator()`, which on PostgreSQL
    opens a server-side cursor held over the commit (DECLARE, FETCH, CLOSE) every time the
    choices are listed, for a handful of rows."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for contact in self.queryset:
            yield self.choice(contact)

    def __len__(self) -> int:
        return len(self.queryset) + (1 if self.field.empty_label is not None else 0)

    def __bool__(self) -> bool:
        return self.field.empty_label is not None or bool(self.queryset)


class ContactChoiceField(forms.ModelChoiceField):
    iterator = ContactChoiceIterator


class ContactsChoiceField(forms.ModelMultipleChoiceField):
    iterator = ContactChoiceIterator


class TouchpointForm(forms.Form):
    """Log a meeting, call, email or note with some of the account's contacts."""

    kind = forms.ChoiceField(choices=Touchpoint.Kind.choices, initial=Touchpoint.Kind.CALL)
    occurred_on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    contacts = ContactsChoiceField(
        queryset=Contact.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    summary = forms.CharField(
        label="What was said",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, data=None, *, account: Account, today: date):
        super().__init__(data, prefix="tp")
        self.today = today
        self.fields["contacts"].queryset = active_contacts(account)
        self.fields["occurred_on"].initial = today

    def clean_occurred_on(self):
        occurred_on = self.cleaned_data["occurred_on"]
        if occurred_on > self.today:
            raise forms.ValidationError(
                f"A touchpoint cannot be dated in the future ({occurred_on.isoformat()})."
            )
        return occurred_on


class ContactAddForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "email", "title", "role"]

    def __init__(self, data=None):
        super().__init__(data, prefix="add")


class ContactRoleForm(forms.Form):
    contact = ContactChoiceField(queryset=Contact.objects.none())
    role = forms.ChoiceField(choices=Contact.Role.choices)

    def __init__(self, data=None, *, account: Account):
        super().__init__(data, prefix="role")
        self.fields["contact"].queryset = active_contacts(account)


class ContactLeftForm(forms.Form):
    contact = ContactChoiceField(queryset=Contact.objects.none())
    left_on = forms.DateField(label="Left on", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, account: Account, today: date):
        super().__init__(data, prefix="left")
        self.fields["contact"].queryset = active_contacts(account)
        self.fields["left_on"].initial = today


class SavedViewForm(forms.Form):
    """Name the dashboard's current filters. `query` is the page's query string (kept up to
    date by static/js/saved-views.js as htmx changes the filters)."""

    name = forms.CharField(
        label="Save these filters as",
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Renewing, at risk"}),
    )
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the view a name.")
        return name


class SearchForm(forms.Form):
    q = forms.CharField(label="Search", max_length=100, required=False)


SOURCE_INPUTS = (
    "metric",
    "aggregate",
    "window_days",
    "per_metric",
    "per_aggregate",
    "per_window_days",
    "change",
)


class DraftEditForm(forms.Form):
    """The draft editor: the whole document as JSON (measures, mappings, bands, exceptions,
    assignment) and, on top of it, fields named by position: a weight per group and measure
    (group:<g>, measure:<g>:<m>), a tier per band (band:<b>:tier) and a derived measure's
    source (source:<g>:<m>:metric, …:aggregate, …:window_days, …:per_metric,
    …:per_aggregate, …:per_window_days, …:change).

    The page posts each field's rendered value as initial-<name>; a field applies only when it
    was changed (or came without its initial value), so that an edit typed into the JSON is
    not undone by the field showing the old value. Rules are not checked here: a draft is
    saved with its problems, which the page lists (draft_problems, as for the document)."""

    document = forms.CharField(widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}))
    note = forms.CharField(required=False, max_length=300)

    def clean_document(self) -> dict:
        try:
            document = json.loads(self.cleaned_data["document"])
        except ValueError as problem:
            raise forms.ValidationError(f"The document is not valid JSON: {problem}.") from None
        if not isinstance(document, dict):
            raise forms.ValidationError("The document must be a JSON object.")
        return document

    def edited_document(self) -> dict:
        """The document with the changed fields applied (call after is_valid())."""
        return draft_document_edit(
            self.cleaned_data["document"],
            weights=self._weights(),
            band_tiers=self._band_tiers(),
            sources=self._sources(),
        )

    def _value(self, name: str) -> str:
        return self.data.get(name, "").strip()

    def _is_changed(self, name: str) -> bool:
        initial = self.data.get(f"initial-{name}")
        return initial is None or self._value(name) != initial.strip()

    def _positions(self, kind: str, parts: int, suffix: str = "") -> list[tuple[int, ...]]:
        """The positions of the posted fields named kind:<n>[:<n>]<suffix>."""
        found = []
        for name in self.data:
            if not name.startswith(f"{kind}:") or not name.endswith(suffix):
                continue
            numbers = name[len(kind) + 1 : len(name) - len(suffix)].split(":")
            if len(numbers) == parts and all(number.isdigit() for number in numbers):
                found.append(tuple(int(number) for number in numbers))
        return found

    def _weights(self) -> dict[tuple[int, ...], object]:
        names = {f"group:{g}": (g,) for (g,) in self._positions("group", 1)}
        names |= {f"measure:{g}:{m}": (g, m) for g, m in self._positions("measure", 2)}
        return {
            path: _number_or_text(self._value(name))
            for name, path in names.items()
            if self._is_changed(name)
        }

    def _band_tiers(self) -> dict[int, str]:
        return {
            b: self._value(f"band:{b}:tier")
            for (b,) in self._positions("band", 1, ":tier")
            if self._is_changed(f"band:{b}:tier")
        }

    def _sources(self) -> dict[tuple[int, int], dict | None]:
        sources = {}
        for g, m in self._positions("source", 2, ":metric"):
            names = {field: f"source:{g}:{m}:{field}" for field in SOURCE_INPUTS}
            if any(self._is_changed(name) for name in names.values()):
                sources[(g, m)] = _source({f: self._value(name) for f, name in names.items()})
        return sources


def _source(values: dict[str, str]) -> dict | None:
    """A measure's source from the editor's fields, as typed (the document's rules judge it):
    None when every field is empty (a pushed measure); `per` when any per field is given,
    with only the parts given (per's aggregate and window have defaults)."""
    if not any(values.values()):
        return None
    source: dict = {
        "metric": values["metric"],
        "aggregate": values["aggregate"],
        "window_days": _number_or_text(values["window_days"]),
    }
    if values["per_metric"] or values["per_aggregate"] or values["per_window_days"]:
        per: dict = {"metric": values["per_metric"]}
        if values["per_aggregate"]:
            per["aggregate"] = values["per_aggregate"]
        if values["per_window_days"]:
            per["window_days"] = _number_or_text(values["per_window_days"])
        source["per"] = per
    source["change"] = bool(values["change"])
    return source


def _number_or_text(raw: str):
    """A number typed into a field as a JSON number; anything else (including nan and inf,
    which JSON cannot hold) as the text typed, for the document's rules to name."""
    try:
        number = float(raw)
    except ValueError:
        return raw
    if not math.isfinite(number):
        return raw
    return int(number) if number.is_integer() else number


class PublishForm(forms.Form):
    note = forms.CharField(required=False, max_length=300)


class RollbackForm(forms.Form):
    version = forms.IntegerField(min_value=1)
    note = forms.CharField(required=False, max_length=300)
