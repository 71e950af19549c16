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


def test_nightly_risk_goes_to_slack_in_the_digest_unless_critical():
    nightly = {"score_run_id": 4, "is_in_digest": True}
    slack = endpoint(format="slack")
    assert [
        delivery_kind(endpoint=slack, event=event(severity=severity, **nightly))
        for severity in ("high", "critical")
    ] == [None, SINGLE]
    assert delivery_kind(endpoint=endpoint(), event=event(severity="high", **nightly)) == SINGLE


def test_nightly_risk_after_its_digest_went_out_goes_to_slack_alone():
    late = event(severity="high", score_run_id=4, is_in_digest=True)
    assert delivery_kind(endpoint=endpoint(format="teams"), event=late, digest_sent=True) == SINGLE


@pytest.mark.django_db
def test_score_run_digest_counts_moves_and_non_critical_risks():
    from events.selectors import score_run_digest
    from events.services import EventDraft, events_record_bulk

    slack = services.webhook_endpoint_create(url="http://127.0.0.1:9/s", format="slack").endpoint
    accounts = [AccountFactory(name=name) for name in ("Acme", "Beta", "Core")]

    def move(account, before, after, band):
        return EventDraft(
            event_type=EventType.SCORE_BAND_CHANGED,
            account_id=account.pk,
            score_run_id=4,
            is_in_digest=True,
            data={
                "from": {"band": "Green", "overall": before},
                "to": {"band": band, "overall": after},
            },
        )

    def risk(account, event_type, severity, label):
        return EventDraft(
            event_type=event_type,
            account_id=account.pk,
            severity=severity,
            score_run_id=4,
            is_in_digest=True,
            data={"risk": {"label": label}},
        )

    events_record_bulk(
        [
            move(accounts[0], 80.0, 30.0, "Red"),
            move(accounts[1], 80.0, 60.0, "Yellow"),
            move(accounts[2], 80.0, 45.0, "Red"),
            risk(accounts[0], EventType.RISK_OPENED, "high", "Low sentiment"),
            risk(accounts[1], EventType.RISK_OPENED, "medium", "No sponsor"),
            risk(accounts[2], EventType.RISK_OPENED, "low", "No sponsor"),
            risk(accounts[2], EventType.RISK_OPENED, "critical", "Turned red"),
            risk(accounts[1], EventType.RISK_RESOLVED, "low", "Score drop"),
        ]
    )
    [finished_id] = services.events_record_bulk(
        [
            EventDraft(
                event_type=EventType.SCORE_RUN_FINISHED,
                score_run_id=4,
                is_in_digest=True,
                data={"run": {"as_of": "2026-11-30"}},
            )
        ]
    )
    finished = Event.objects.get(pk=finished_id)
    digest = score_run_digest(event=finished, endpoint=slack)
    assert (digest.accounts_moved, digest.moved_to) == (3, [("Red", 2), ("Yellow", 1)])
    assert [(m.account_name, m.points) for m in digest.largest] == [
        ("Acme", -50.0),
        ("Core", -35.0),
        ("Beta", -20.0),
    ]
    # The critical one went on its own.
    assert (digest.risks_opened, digest.risks_escalated, digest.risks_resolved) == (
        [("No sponsor", 2), ("Low sentiment", 1)],
        0,
        1,
    )
