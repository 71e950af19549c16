from django import forms

SORT_KEYS = ("name", "arr", "renewal", "score", "trend", "risks")
PAGE_SIZES = (25, 50)
MAX_RENEWAL_DAYS = 3650


class AccountFilterForm(forms.Form):
    """The dashboard's filters. Read from the query string, so every filtered view of the
    table has a URL (the portfolio links into the dashboard with these parameters).

    The choices depend on what the user can see, so the caller passes them in; `owners` is
    None for CSMs, who see only their own accounts and get no owner filter.
    """

    q = forms.CharField(
        required=False,
        label="Search",
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or CRM id"}),
    )
    tier = forms.MultipleChoiceField(
        required=False, label="Tier", widget=forms.CheckboxSelectMultiple
    )
    band = forms.MultipleChoiceField(
        required=False, label="Band", widget=forms.CheckboxSelectMultiple
    )
    segment = forms.ChoiceField(required=False)
    region = forms.ChoiceField(required=False)
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="CSM")
    renewal_within = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_RENEWAL_DAYS,
        label="Renews within (days)",
        widget=forms.NumberInput(attrs={"placeholder": "e.g. 90"}),
    )
    has_open_risk = forms.BooleanField(required=False, label="Has an open risk")
    moved = forms.BooleanField(required=False, label="Band moved since the last score")
    sort = forms.ChoiceField(
        required=False,
        choices=[(key, key) for key in SORT_KEYS] + [(f"-{key}", key) for key in SORT_KEYS],
        widget=forms.HiddenInput,
    )
    per_page = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=PAGE_SIZES[0],
        choices=[(size, size) for size in PAGE_SIZES],
        label="Rows per page",
    )

    def __init__(
        self,
        data=None,
        *,
        bands: list[str],
        segments: list[str],
        tiers: list[tuple[str, str]] = (),
        regions: list[str],
        owners: list[tuple[int, str]] | None,
    ):
        super().__init__(data, label_suffix="")
        self.fields["band"].choices = [(band, band) for band in bands]
        self.fields["tier"].choices = list(tiers)
        self.fields["segment"].choices = [("", "All segments")] + [(s, s) for s in segments]
        self.fields["region"].choices = [("", "All regions")] + [(r, r) for r in regions]
        if owners is None:
            del self.fields["owner"]
        else:
            self.fields["owner"].choices = [("", "All CSMs")] + owners

    def filters(self) -> dict:
        """The valid filters as keyword arguments; a field that failed validation filters
        nothing (call after is_valid())."""
        data = getattr(self, "cleaned_data", {})
        return {
            "q": (data.get("q") or "").strip(),
            "bands": tuple(data.get("band") or ()),
            "tiers": tuple(data.get("tier") or ()),
            "segment": data.get("segment") or "",
            "region": data.get("region") or "",
            "owner_id": data.get("owner"),
            "renewal_within": data.get("renewal_within"),
            "has_open_risk": bool(data.get("has_open_risk")),
            "moved": bool(data.get("moved")),
            "sort": data.get("sort") or "score",
        }

    def page_size(self) -> int:
        return getattr(self, "cleaned_data", {}).get("per_page") or PAGE_SIZES[0]
