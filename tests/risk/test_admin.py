from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from risk.choices import RiskStatus, Severity
from risk.models import Risk, RiskEvent, RiskRule
from tests.accounts.factories import UserFactory
from tests.risk.factories import RiskFactory
from tests.scorecards.test_admin import admin_post_data, formset_post_data

RISK_MODELS = [Risk, RiskRule]


@pytest.fixture
def risk(account) -> Risk:
    risk = RiskFactory(account=account, notes="Sentiment 1 on 2026-11-01.")
    RiskEvent.objects.create(risk=risk, to_status=RiskStatus.OPEN, note="Raised by the rule.")
    return risk


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:risk_{model._meta.model_name}_{view}", args=args)


def test_admin_registers_the_risk_models():
    registered = {model for model in admin.site._registry if model._meta.app_label == "risk"}
    assert registered == set(RISK_MODELS)


@pytest.mark.parametrize("model", RISK_MODELS, ids=lambda model: model.__name__)
def test_admin_changelist_renders(admin_client, risk, model):
    assert admin_client.get(_url(model, "changelist")).status_code == 200


@pytest.mark.parametrize(
    ("model", "status_code"),
    # One rule per risk type, made by a migration: none to add.
    [(Risk, 200), (RiskRule, 403)],
    ids=["Risk", "RiskRule"],
)
def test_admin_add_page(admin_client, db, model, status_code):
    assert admin_client.get(_url(model, "add")).status_code == status_code


@pytest.mark.parametrize("model", RISK_MODELS, ids=lambda model: model.__name__)
def test_admin_change_page_renders(admin_client, risk, model):
    obj = model.objects.order_by("pk").first()
    assert admin_client.get(_url(model, "change", obj.pk)).status_code == 200


def test_risk_changelist_searches_by_account_external_id(admin_client, risk):
    RiskFactory(account__external_id="OTHER-1")
    response = admin_client.get(_url(Risk, "changelist"), {"q": risk.account.external_id})
    assert list(response.context["cl"].result_list) == [risk]


def test_risk_changelist_filters_by_severity(admin_client, risk):
    low = RiskFactory(risk_type="single_threaded", severity=Severity.LOW)
    response = admin_client.get(_url(Risk, "changelist"), {"severity__exact": "low"})
    assert list(response.context["cl"].result_list) == [low]


def test_risk_change_shows_its_events_read_only(admin_client, risk):
    response = admin_client.get(_url(Risk, "change", risk.pk))
    (events,) = response.context["inline_admin_formsets"]
    assert events.has_add_permission is False
    assert events.has_change_permission is False
    assert events.has_delete_permission is False
    assert "Raised by the rule." in response.content.decode()


def test_risk_change_saves_notes_but_not_status(admin_client, risk):
    url = _url(Risk, "change", risk.pk)
    data = admin_post_data(admin_client.get(url))
    data["notes"] = "Called the sponsor."
    data["status"] = RiskStatus.RESOLVED
    assert admin_client.post(url, data).status_code == 302
    risk.refresh_from_db()
    assert (risk.notes, risk.status) == ("Called the sponsor.", RiskStatus.OPEN)
    assert risk.events.count() == 1


def test_risk_rule_changelist_edits_thresholds_in_place(client, db):
    client.force_login(UserFactory(role="CS Ops", is_staff=True))
    url = _url(RiskRule, "changelist")
    data = formset_post_data(client.get(url).context["cl"].formset)
    low_sentiment = RiskRule.objects.get(risk_type="low_sentiment")
    row = next(
        key.removesuffix("-id")
        for key, value in data.items()
        if key.endswith("-id") and value == str(low_sentiment.pk)
    )
    data[f"{row}-threshold"] = "30"
    data[f"{row}-severity"] = Severity.CRITICAL
    data.pop(f"{row}-is_enabled")
    data["_save"] = "Save"

    assert client.post(url, data).status_code == 302

    low_sentiment.refresh_from_db()
    assert (low_sentiment.threshold, low_sentiment.severity, low_sentiment.is_enabled) == (
        Decimal("30.00"),
        Severity.CRITICAL,
        False,
    )
    assert RiskRule.objects.get(risk_type="score_drop").threshold == Decimal("15.00")


def test_risk_rule_cannot_be_deleted(admin_client, db):
    rule = RiskRule.objects.get(risk_type="low_sentiment")
    assert admin_client.post(_url(RiskRule, "delete", rule.pk), {"post": "yes"}).status_code == 403
    assert RiskRule.objects.count() == 9
