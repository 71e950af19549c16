from django import forms

from risk.choices import RiskStatus

# The moves a person makes on the account page, from each unresolved status.
NEXT_STATUSES = {
    RiskStatus.OPEN: (
        RiskStatus.ACKNOWLEDGED,
        RiskStatus.MITIGATING,
        RiskStatus.RESOLVED,
        RiskStatus.WONT_FIX,
    ),
    RiskStatus.ACKNOWLEDGED: (RiskStatus.MITIGATING, RiskStatus.RESOLVED, RiskStatus.WONT_FIX),
    RiskStatus.MITIGATING: (RiskStatus.RESOLVED, RiskStatus.WONT_FIX),
}
ACTION_LABELS = {
    RiskStatus.ACKNOWLEDGED: "Acknowledge",
    RiskStatus.MITIGATING: "Mitigate",
    RiskStatus.RESOLVED: "Resolve",
    RiskStatus.WONT_FIX: "Close as won't fix",
}
# Closing a risk says how it was closed.
NOTE_REQUIRED = (RiskStatus.RESOLVED, RiskStatus.WONT_FIX)


class RiskTransitionForm(forms.Form):
    to_status = forms.ChoiceField(
        choices=[(status, label) for status, label in ACTION_LABELS.items()]
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Note (required to resolve)"}),
    )

    def __init__(self, data=None, *, current_status: str):
        super().__init__(data)
        allowed = NEXT_STATUSES.get(current_status, ())
        self.fields["to_status"].choices = [(status, ACTION_LABELS[status]) for status in allowed]

    def clean(self):
        cleaned = super().clean()
        cleaned["note"] = (cleaned.get("note") or "").strip()
        if cleaned.get("to_status") in NOTE_REQUIRED and not cleaned["note"]:
            self.add_error("note", "Add a note to say how the risk was closed.")
        return cleaned
