"""Forms of the web pages (the admin's forms are in forms.py)."""

from django import forms

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
