from django import forms

from risk.choices import RiskStatus

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

    def __init__(self, data=None, *, allowed: tuple[str, ...]):
        super().__init__(data)
        self.fields["to_status"].choices = [
            (status, ACTION_LABELS.get(status, RiskStatus(status).label)) for status in allowed
        ]
