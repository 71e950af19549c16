import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Contact
from tests.accounts.factories import AccountFactory, ContactFactory, TouchpointFactory
from tests.front.conftest import measure_value, score_day, today
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(account):
    """Adoption 0.6 (score 60) and CSM sentiment 4 (score 75) today; 30 days ago adoption
    was 0.8 (80) with the same sentiment."""
    day = today()
    month_ago = day - dt.timedelta(days=30)
    measure_value(account, "adoption", 0.8, 80, month_ago)
    measure_value(account, "csm_sentiment", 4, 75, month_ago, comment="Happy champion")
    score_day(month_ago)
    measure_value(account, "adoption", 0.6, 60, day)
    score_day(day)
    return account


def page(client, user, account):
    client.force_login(user)
    return client.get(reverse("front:account-detail", kwargs={"pk": account.pk}))


def test_account_page_header_shows_the_hand_worked_score(client, csm, scored):
    score = page(client, csm, scored).context["score"]
    # Outcomes (50) = adoption 60; Experience (30) = sentiment 75; Relationship missing.
    # overall = (50·60 + 30·75) / 80 = 65.625 → 65.63, Yellow. 30 days ago:
    # (50·80 + 30·75) / 80 = 78.125 → 78.13, so trend_30 = −12.50.
    assert score.snapshot.overall == Decimal("65.63")
    assert score.band.label == "Yellow"
    assert score.trends[1][:3] == (30, Decimal("-12.50"), "down")
    # coverage: adoption 50/100 · 30/100 + sentiment 30/100 · 50/100 = 0.15 + 0.15
    assert score.snapshot.coverage == Decimal("0.3000")


def test_account_page_breakdown_has_contributions_and_comments(client, csm, scored):
    groups = page(client, csm, scored).context["score"].groups
    outcomes = {m.key: m for m in groups[0].measures}
    experience = {m.key: m for m in groups[1].measures}
    # adoption: effective weight 50/80 · 30/30 = 0.625; contribution 0.625 · 60 = 37.50
    assert (outcomes["adoption"].effective_weight, outcomes["adoption"].contribution) == (
        0.625,
        37.5,
    )
    # sentiment: 30/80 · 50/50 = 0.375; 0.375 · 75 = 28.125 → 28.13 (cents add up to 65.63)
    assert experience["csm_sentiment"].contribution == 28.13
    assert experience["csm_sentiment"].age_days == 30
    assert experience["csm_sentiment"].comment == "Happy champion"
    assert outcomes["deployment"].is_present is False


def test_account_page_states_the_biggest_lever(client, csm, scored):
    lever = page(client, csm, scored).context["score"].lever
    # adoption: 0.625 · (100 − 60) = 25.00; sentiment: 0.375 · 25 = 9.375
    assert (lever.name, lever.score, lever.gain) == ("Adoption", 60.0, 25.0)
    assert "raising <strong>Adoption</strong> (now 60) to 100 would add <strong>25 points" in (
        page(client, csm, scored).content.decode()
    )


def test_account_page_explains_what_changed(client, csm, scored):
    windows = {w.days: w for w in page(client, csm, scored).context["score"].changes}
    # Rule 11 over 30 days: adoption 0.625·80 = 50.00 → 37.50 (−12.50); sentiment
    # 28.13 → 28.13 (0): the changes add up to 65.63 − 78.13 = −12.50.
    assert windows[30].delta == -12.5
    assert [(c.name, c.change) for c in windows[30].changes] == [("Adoption", -12.5)]
    assert windows[30].is_rescored is False  # that day's snapshot, of the same version
    # Rule 13: today − 7 has no snapshot, so it is rescored from the values of that day (those
    # of 30 days ago): 78.13 again. 90 days ago there was no value at all: nothing to compare.
    assert (windows[7].since, windows[7].overall_a, windows[7].delta) == (
        today() - dt.timedelta(days=7),
        78.13,
        -12.5,
    )
    assert windows[7].is_rescored is True
    assert windows[90].since is None


def test_account_page_history_has_both_days(client, csm, scored):
    history = page(client, csm, scored).context["score"].history
    assert history["scores"] == [78.13, 65.63]
    assert [zone["label"] for zone in history["zones"]] == ["Red", "Yellow", "Green"]


def test_account_page_contacts_show_sponsors_departures_and_touchpoints(client, csm, account):
    sponsor = ContactFactory(account=account, name="Sam", role=Contact.Role.EXECUTIVE_SPONSOR)
    ContactFactory(
        account=account, name="Lou", is_active=False, left_on=today() - dt.timedelta(days=3)
    )
    ContactFactory(account=account, name="Al", role=Contact.Role.USER)
    touchpoint = TouchpointFactory(account=account, occurred_on=today() - dt.timedelta(days=12))
    touchpoint.contacts.add(sponsor)
    contacts = page(client, csm, account).context["contacts"]
    assert [(c.name, c.is_sponsor, c.is_active, c.days_since_touch) for c in contacts] == [
        ("Sam", True, True, 12),
        ("Al", False, True, None),
        ("Lou", False, False, None),
    ]


def test_account_page_timeline_lists_entered_values_and_touchpoints(client, csm, scored):
    measure_value(scored, "roi", 2, 25, today() - dt.timedelta(days=2), source="manual")
    TouchpointFactory(account=scored, occurred_on=today() - dt.timedelta(days=5), summary="QBR")
    timeline = page(client, csm, scored).context["timeline"]
    # Automated values without a comment (adoption) stay in the breakdown.
    assert [(entry.kind, entry.title) for entry in timeline] == [
        ("value", "ROI: 2 (score 25.00)"),
        ("touchpoint", "Meeting with no contact recorded"),
        ("value", "CSM sentiment: 4 (score 75.00)"),
    ]


def test_account_page_of_an_account_never_scored_says_so(client, csm):
    account = AccountFactory(owner=csm)
    response = page(client, csm, account)
    assert response.context["score"].snapshot is None
    assert "Not scored yet" in response.content.decode()
    assert "No history yet" in response.content.decode()


def _account_page_queries(client, csm, days: int) -> int:
    account = AccountFactory(owner=csm)
    for offset in range(days, -1, -7):
        day = today() - dt.timedelta(days=offset)
        measure_value(account, "adoption", 0.5, 50, day)
        measure_value(account, "csm_sentiment", 3, 50, day, comment=f"Day {offset}")
        score_day(day)
    RiskFactory(account=account)
    client.force_login(csm)
    page(client, csm, account)  # the renewal calibration is fitted once, then read
    cache.clear()  # count the queries of the page computed, not served from the cache
    with CaptureQueriesContext(connection) as queries:
        page(client, csm, account)
    return len(queries)


def test_account_page_queries_do_not_grow_with_the_history(client, csm, other_csm):
    assert _account_page_queries(client, csm, 7) == _account_page_queries(client, other_csm, 98)


def test_account_page_shows_the_relationship_forms_closed_and_renders_none(client, csm, account):
    """Each form's summary, fetched when opened: the page reads no contact for them."""
    ContactFactory(account=account, name="Ada Active")
    client.force_login(csm)
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("front:account-detail", kwargs={"pk": account.pk}))
    html = response.content.decode()
    relationship = html.split('id="relationship"', 1)[1].split("</section>", 1)[0]
    for slug, summary in (
        ("touchpoint", "Log a touchpoint"),
        ("contact-add", "Add a contact"),
        ("contact-role", "Change a role"),
        ("contact-left", "Mark a contact as left"),
    ):
        url = reverse("front:relationship-form", kwargs={"pk": account.pk, "slug": slug})
        assert f'hx-get="{url}"' in relationship
        assert f"<summary>{summary}</summary>" in relationship
    assert "<form" not in relationship
    contact_reads = [q["sql"] for q in queries if 'FROM "accounts_contact"' in q["sql"]]
    assert len(contact_reads) == 1  # the contacts card's own list


@pytest.mark.parametrize("slug", ["touchpoint", "contact-role", "contact-left"])
def test_relationship_form_offers_the_active_contacts_only(client, csm, account, slug):
    ContactFactory(account=account, name="Ada Active")
    ContactFactory(account=account, name="Lee Left", is_active=False, left_on=today())
    client.force_login(csm)
    url = reverse("front:relationship-form", kwargs={"pk": account.pk, "slug": slug})
    form = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert form.startswith("<form") and form.rstrip().endswith("</form>")  # the form alone
    assert ("Ada Active" in form, "Lee Left" in form) == (True, False)


def test_relationship_form_without_javascript_is_the_page_with_that_form_open(client, csm, account):
    client.force_login(csm)
    url = reverse("front:relationship-form", kwargs={"pk": account.pk, "slug": "contact-add"})
    html = client.get(url).content.decode()
    relationship = html.split('id="relationship"', 1)[1].split("</section>", 1)[0]
    assert "<details open>\n  <summary>Add a contact</summary>" in relationship
    assert relationship.count("<form") == 1 and 'id="contact-add-form"' in relationship


def test_relationship_form_refuses_an_unknown_form_and_another_csms_account(
    client, csm, other_csm, account
):
    client.force_login(csm)
    unknown = reverse("front:relationship-form", kwargs={"pk": account.pk, "slug": "invoice"})
    assert client.get(unknown).status_code == 404
    client.force_login(other_csm)
    url = reverse("front:relationship-form", kwargs={"pk": account.pk, "slug": "touchpoint"})
    assert client.get(url).status_code == 404  # an account they do not see
