import datetime as dt

import time_machine
from rest_framework.test import APIClient

from accounts.authentication import api_key_create, api_key_revoke
from accounts.models import ApiKey


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_api_key_is_stored_hashed(integration):
    api_key, key = api_key_create(owner=integration, name="warehouse", scopes=["read"])
    assert key.startswith(f"hs_{api_key.prefix}_")
    assert key not in (api_key.secret_hash, api_key.prefix)
    assert len(api_key.secret_hash) == 64


def test_api_key_of_a_csm_sees_only_their_accounts(csm, account, others_account):
    _, key = api_key_create(owner=csm, name="my script", scopes=["read"])
    results = bearer(key).get("/api/v1/accounts/").json()["results"]
    assert [row["external_id"] for row in results] == [account.external_id]
    assert bearer(key).get("/api/v1/accounts/OTHER-1/").status_code == 404


def test_api_key_records_when_it_was_last_used(integration):
    api_key, key = api_key_create(owner=integration, name="bi", scopes=["read"])
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC), tick=False):
        bearer(key).get("/api/v1/accounts/")
    api_key.refresh_from_db()
    assert api_key.last_used_at == dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


def test_api_key_revoked_is_refused(integration):
    api_key, key = api_key_create(owner=integration, name="old", scopes=["read"])
    api_key_revoke(api_key=api_key)
    response = bearer(key).get("/api/v1/accounts/")
    assert response.status_code == 401
    assert response.json() == {
        "message": "Invalid or revoked API key.",
        "code": "authentication_failed",
        "fields": {},
    }


def test_api_key_with_a_wrong_secret_is_refused(integration):
    api_key, key = api_key_create(owner=integration, name="bi", scopes=["read"])
    assert bearer(key[:-2] + "xx").get("/api/v1/accounts/").status_code == 401


def test_api_key_without_read_scope_may_not_read(integration):
    _, key = api_key_create(owner=integration, name="push only", scopes=["write:measures"])
    response = bearer(key).get("/api/v1/accounts/")
    assert response.status_code == 403
    assert response.json()["message"] == "This API key lacks the read scope."


def test_api_key_write_accounts_scope_may_upsert_accounts(integration):
    _, key = api_key_create(owner=integration, name="crm", scopes=["write:accounts"])
    rows = [{"external_id": "CRM-9", "name": "From the CRM"}]
    response = bearer(key).post("/api/v1/accounts/bulk/", rows, format="json")
    assert response.status_code == 201


def test_api_key_write_measures_scope_may_not_upsert_accounts(integration):
    _, key = api_key_create(owner=integration, name="warehouse", scopes=["write:measures"])
    rows = [{"external_id": "CRM-9", "name": "From the CRM"}]
    response = bearer(key).post("/api/v1/accounts/bulk/", rows, format="json")
    assert response.status_code == 403


def test_api_key_is_throttled_on_its_own(integration, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "2/minute"},
    }
    _, first = api_key_create(owner=integration, name="busy", scopes=["read"])
    _, second = api_key_create(owner=integration, name="calm", scopes=["read"])
    statuses = [bearer(first).get("/api/v1/scorecards/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert bearer(second).get("/api/v1/scorecards/").status_code == 200


def test_api_key_made_in_the_admin_is_shown_once(admin_client, integration):
    response = admin_client.post(
        "/admin/accounts/apikey/add/",
        {"owner": integration.pk, "name": "warehouse", "scopes": ["read", "write:measures"]},
        follow=True,
    )
    api_key = ApiKey.objects.get()
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 2
    assert messages[0].startswith(f"Copy this key now; it is not shown again: hs_{api_key.prefix}_")
    assert api_key.scopes == ["read", "write:measures"]
