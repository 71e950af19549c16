"""Forms of the web pages (the admin's forms live beside the admin, in each app's forms.py)."""

import json
from datetime import date

from django import forms

from accounts.models import Account, Contact, Touchpoint
from risk.choices import RiskStatus
from scorecards.learning.backtest import DEFAULT_HORIZON_DAYS
from scorecards.learning.selectors import HORIZON_DAYS_MAX, HORIZON_DAYS_MIN
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


class TouchpointForm(forms.Form):
    """Log a meeting, call, email or note with some of the account's contacts."""

    kind = forms.ChoiceField(choices=Touchpoint.Kind.choices, initial=Touchpoint.Kind.CALL)
    occurred_on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    contacts = forms.ModelMultipleChoiceField(
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
        self.fields["contacts"].queryset = account.contacts.filter(is_active=True).order_by("name")
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
    contact = forms.ModelChoiceField(queryset=Contact.objects.none())
    role = forms.ChoiceField(choices=Contact.Role.choices)

    def __init__(self, data=None, *, account: Account):
        super().__init__(data, prefix="role")
        self.fields["contact"].queryset = account.contacts.filter(is_active=True).order_by("name")


class ContactLeftForm(forms.Form):
    contact = forms.ModelChoiceField(queryset=Contact.objects.none())
    left_on = forms.DateField(label="Left on", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, account: Account, today: date):
        super().__init__(data, prefix="left")
        self.fields["contact"].queryset = account.contacts.filter(is_active=True).order_by("name")
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


class DraftEditForm(forms.Form):
    """The draft editor: the whole document as JSON (measures, mappings, bands, exceptions,
    assignment) and, on top of it, an input per group and measure weight (named group:<g>
    and measure:<g>:<m>, by position). Rules are not checked here: a draft is saved with its
    problems, which the page lists (scorecards.services.draft_documents.draft_problems)."""

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
        """The document with the weight inputs applied (a number where one was typed; the
        text as typed otherwise, which the draft's problems then name)."""
        document = self.cleaned_data["document"]
        groups = document.get("groups") if isinstance(document.get("groups"), list) else []
        for name, raw in self.data.items():
            parts = name.split(":")
            if parts[0] not in ("group", "measure") or not all(p.isdigit() for p in parts[1:]):
                continue
            try:
                target = groups[int(parts[1])]
                if parts[0] == "measure":
                    target = target["measures"][int(parts[2])]
            except (IndexError, KeyError, TypeError):
                continue
            if isinstance(target, dict):
                target["weight"] = _number_or_text(raw)
        return document


def _number_or_text(raw: str):
    try:
        number = float(raw)
    except ValueError:
        return raw
    return int(number) if number.is_integer() else number


class PublishForm(forms.Form):
    note = forms.CharField(required=False, max_length=300)


class RollbackForm(forms.Form):
    version = forms.IntegerField(min_value=1)
    note = forms.CharField(required=False, max_length=300)
