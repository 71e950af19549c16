import pytest
from django.urls import reverse

from risk.choices import RiskStatus
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def post(client, risk, **data):
    url = reverse("front:risk-transition", kwargs={"pk": risk.pk})
    return client.post(url, data, headers=HTMX)


def test_risk_acknowledge_records_the_move(client, csm, account):
    risk = RiskFactory(account=account)
    client.force_login(csm)
    response = post(client, risk, to_status="acknowledged", note="Calling them today")
    risk.refresh_from_db()
    assert risk.status == RiskStatus.ACKNOWLEDGED
    event = risk.events.get()
    assert (event.from_status, event.to_status, event.note, event.by) == (
        "open",
        "acknowledged",
        "Calling them today",
        csm,
    )
    assert response.templates[0].name == "front/partials/_risks.html"


def test_risk_resolve_without_a_note_is_refused(client, csm, account):
    risk = RiskFactory(account=account)
    client.force_login(csm)
    response = post(client, risk, to_status="resolved", note="")
    risk.refresh_from_db()
    assert risk.status == RiskStatus.OPEN
    assert response.status_code == 200
    assert "A note is required to move a risk to resolved." in response.content.decode()


def test_risk_resolve_with_a_note_closes_it(client, csm, account):
    risk = RiskFactory(account=account, status=RiskStatus.MITIGATING)
    client.force_login(csm)
    response = post(client, risk, to_status="resolved", note="Exec sponsor re-engaged")
    risk.refresh_from_db()
    assert risk.status == RiskStatus.RESOLVED
    # A closed risk has no more actions.
    assert [line.form for line in response.context["risks"]] == [None]


def test_risk_move_the_lifecycle_does_not_offer_is_an_error(client, csm, account):
    risk = RiskFactory(account=account, status=RiskStatus.MITIGATING)
    client.force_login(csm)
    response = post(client, risk, to_status="acknowledged")
    risk.refresh_from_db()
    assert risk.status == RiskStatus.MITIGATING
    assert list(response.context["risks"][0].form.errors) == ["to_status"]


def test_leader_may_work_any_risk(client, leader, account):
    risk = RiskFactory(account=account)
    client.force_login(leader)
    post(client, risk, to_status="mitigating", note="")
    risk.refresh_from_db()
    assert risk.status == RiskStatus.MITIGATING


def test_risk_refusal_without_htmx_shows_the_account_page_with_the_error(client, csm, account):
    risk = RiskFactory(account=account)
    client.force_login(csm)
    url = reverse("front:risk-transition", kwargs={"pk": risk.pk})
    response = client.post(url, {"to_status": "resolved", "note": ""})
    assert response.status_code == 200
    assert response.templates[0].name == "front/account_detail.html"
    assert "A note is required to move a risk to resolved." in response.content.decode()
