from accounts.authentication import api_key_create
from risk.models import Risk
from tests.api.conftest import client_for
from tests.risk.factories import RiskFactory


def test_risk_list_is_scoped_to_the_csm(csm_client, account, others_account):
    mine = RiskFactory(account=account)
    RiskFactory(account=others_account)
    results = csm_client.get("/api/v1/risks/").json()["results"]
    assert [row["id"] for row in results] == [mine.pk]


def test_risk_list_filters_by_status(leader, account):
    RiskFactory(account=account, status="open")
    resolved = RiskFactory(account=account, risk_type="no_sponsor", status="resolved")
    results = client_for(leader).get("/api/v1/risks/?status=resolved").json()["results"]
    assert [row["id"] for row in results] == [resolved.pk]


def test_risk_list_filters_open_ones(leader, account):
    open_risk = RiskFactory(account=account, status="mitigating")
    RiskFactory(account=account, risk_type="no_sponsor", status="wont_fix")
    results = client_for(leader).get("/api/v1/risks/?is_open=true").json()["results"]
    assert [row["id"] for row in results] == [open_risk.pk]


def test_risk_of_another_csm_is_404(csm_client, others_account):
    risk = RiskFactory(account=others_account)
    assert csm_client.get(f"/api/v1/risks/{risk.pk}/").status_code == 404


def test_risk_transition_by_the_owner_records_the_note(csm_client, account):
    risk = RiskFactory(account=account)
    response = csm_client.post(
        f"/api/v1/risks/{risk.pk}/transition/",
        {"status": "resolved", "note": "Exec sponsor re-engaged"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "resolved"
    assert [(e["from_status"], e["to_status"], e["note"]) for e in body["events"]] == [
        ("open", "resolved", "Exec sponsor re-engaged")
    ]


def test_risk_transition_refused_by_the_lifecycle_is_400(csm_client, account):
    risk = RiskFactory(account=account)
    response = csm_client.post(
        f"/api/v1/risks/{risk.pk}/transition/", {"status": "resolved"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "A note is required to move a risk to resolved.",
        "code": "note_required",
        "fields": {},
    }
    assert Risk.objects.get().status == "open"


def test_risk_transition_with_an_api_key_is_refused_even_for_a_leader(leader, account):
    from rest_framework.test import APIClient

    risk = RiskFactory(account=account)
    _, key = api_key_create(owner=leader, name="crm", scopes=["read", "write:accounts"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post(
        f"/api/v1/risks/{risk.pk}/transition/", {"status": "acknowledged"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["message"] == "API keys may not do this; sign in instead."


def test_risk_transition_closing_with_a_snooze_date(csm_client, account):
    import datetime as dt

    import time_machine

    risk = RiskFactory(account=account)  # its condition holds (never cleared)
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        response = csm_client.post(
            f"/api/v1/risks/{risk.pk}/transition/",
            {"status": "wont_fix", "note": "Known", "snoozed_until": "2026-12-05"},
            format="json",
        )
    assert (response.status_code, response.json()["snoozed_until"]) == (200, "2026-12-05")


def test_risk_transition_snooze_date_in_the_past_is_400(csm_client, account):
    risk = RiskFactory(account=account)
    response = csm_client.post(
        f"/api/v1/risks/{risk.pk}/transition/",
        {"status": "resolved", "note": "Done", "snoozed_until": "2020-01-01"},
        format="json",
    )
    risk.refresh_from_db()
    assert (response.status_code, response.json()["code"], risk.status) == (
        400,
        "snooze_date_not_in_future",
        "open",
    )


def test_risk_list_is_open_that_is_not_true_or_false_is_400(leader, account):
    response = client_for(leader).get("/api/v1/risks/?is_open=yes")
    assert (response.status_code, response.json()["fields"]) == (
        400,
        {"is_open": ["Give true or false."]},
    )
