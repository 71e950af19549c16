"""Which endpoints get which events: the filters, the digest rule, one delivery each."""

import pytest

from events import services
from events.choices import EventType
from events.models import Delivery, Event, WebhookEndpoint
from events.services.fanout import DIGEST, SINGLE, delivery_kind, endpoint_accepts
from tests.accounts.factories import AccountFactory


def event(event_type=EventType.RISK_OPENED, **fields) -> Event:
    fields = {"account_id": 1, "segment": "SMB", "owner_id": 7, "severity": "high", **fields}
    return Event(event_type=event_type, **fields)


def endpoint(**fields) -> WebhookEndpoint:
    return WebhookEndpoint(url="http://127.0.0.1/hook", **fields)


@pytest.mark.parametrize(
    ("filters", "accepted"),
    [
        ({}, True),
        ({"event_types": ["risk.opened"]}, True),
        ({"event_types": ["risk.resolved", "score.band_changed"]}, False),
        ({"segments": ["SMB", "Enterprise"]}, True),
        ({"segments": ["Enterprise"]}, False),
        ({"owners": [7]}, True),
        ({"owners": [8]}, False),
        ({"min_severity": "high"}, True),
        ({"min_severity": "critical"}, False),
        ({"min_severity": "low"}, True),
    ],
)
def test_endpoint_accepts_by_its_filters(filters, accepted):
    assert endpoint_accepts(endpoint=endpoint(**filters), event=event()) is accepted


def test_endpoint_account_filters_let_events_without_account_through():
    published = event(EventType.SCORECARD_PUBLISHED, account_id=None, segment="", owner_id=None)
    filtered = endpoint(segments=["Enterprise"], owners=[8])
    assert endpoint_accepts(endpoint=filtered, event=published) is True


def test_endpoint_min_severity_ignores_events_without_severity():
    move = event(EventType.SCORE_BAND_CHANGED, severity="")
    assert endpoint_accepts(endpoint=endpoint(min_severity="critical"), event=move) is True


def test_endpoint_never_accepts_a_ping_by_subscription():
    assert endpoint_accepts(endpoint=endpoint(), event=event(EventType.PING)) is False


def test_nightly_band_move_goes_to_standard_alone_and_to_slack_in_the_digest():
    move = event(EventType.SCORE_BAND_CHANGED, severity="", score_run_id=4, is_in_digest=True)
    finished = event(
        EventType.SCORE_RUN_FINISHED, account_id=None, score_run_id=4, is_in_digest=True
    )
    standard, slack, teams = endpoint(), endpoint(format="slack"), endpoint(format="teams")
    assert [delivery_kind(endpoint=e, event=move) for e in (standard, slack, teams)] == [
        SINGLE,
        None,
        None,
    ]
    assert [delivery_kind(endpoint=e, event=finished) for e in (standard, slack, teams)] == [
        SINGLE,
        DIGEST,
        DIGEST,
    ]


def test_slack_following_only_risks_gets_no_digest():
    finished = event(
        EventType.SCORE_RUN_FINISHED, account_id=None, score_run_id=4, is_in_digest=True
    )
    slack = endpoint(format="slack", event_types=["risk.opened"])
    assert delivery_kind(endpoint=slack, event=finished) is None


def test_critical_risk_goes_to_slack_one_by_one():
    critical = event(EventType.RISK_OPENED, severity="critical")
    slack = endpoint(format="slack", min_severity="critical")
    assert delivery_kind(endpoint=slack, event=critical) == SINGLE


def test_band_move_outside_a_nightly_run_goes_to_slack_alone():
    move = event(EventType.SCORE_BAND_CHANGED, severity="", score_run_id=5, is_in_digest=False)
    assert delivery_kind(endpoint=endpoint(format="slack"), event=move) == SINGLE


@pytest.mark.django_db
def test_events_fan_out_twice_makes_one_delivery_per_endpoint():
    account = AccountFactory(segment="SMB")
    first = services.webhook_endpoint_create(url="http://127.0.0.1:9/a").endpoint
    services.webhook_endpoint_create(url="http://127.0.0.1:9/b", segments=["Enterprise"])
    third = services.webhook_endpoint_create(url="http://127.0.0.1:9/c", format="slack").endpoint
    recorded = services.event_record(
        event_type=EventType.RISK_OPENED, account=account, data={"risk": {}}, severity="low"
    )
    assert services.events_fan_out(event_ids=[recorded.pk]).deliveries == 2
    assert services.events_fan_out(event_ids=[recorded.pk]).deliveries == 0
    assert sorted(Delivery.objects.values_list("endpoint_id", flat=True)) == [first.pk, third.pk]


@pytest.mark.django_db
def test_events_fan_out_skips_inactive_endpoints():
    services.webhook_endpoint_create(url="http://127.0.0.1:9/a", is_active=False)
    recorded = services.event_record(event_type=EventType.SCORECARD_PUBLISHED, data={})
    assert services.events_fan_out(event_ids=[recorded.pk]).deliveries == 0
    recorded.refresh_from_db()
    assert recorded.fanned_out_at is not None
