"""The lifecycle people work (risk_transition) and who may work it (risk_can_change)."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from risk.models import Risk
from risk.services import RiskTransitionError, risk_can_change, risk_transition
from tests.accounts.factories import UserFactory
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def risk(account) -> Risk:
    return RiskFactory(account=account)


def move(risk: Risk, *statuses: str, user, note: str = "Done.") -> Risk:
    for status in statuses:
        risk = risk_transition(risk=risk, to_status=status, user=user, note=note)
    return risk


def test_risk_transition_records_each_step(risk, csm):
    with time_machine.travel(dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC), tick=False):
        risk_transition(risk=risk, to_status="acknowledged", user=csm, note="Looking")
        risk_transition(risk=risk, to_status="mitigating", user=csm, note="")
        risk_transition(risk=risk, to_status="resolved", user=csm, note="Sponsor re-engaged")
    assert list(
        risk.events.order_by("pk").values_list("from_status", "to_status", "by", "note", "at")
    ) == [
        ("open", "acknowledged", csm.pk, "Looking", dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)),
        ("acknowledged", "mitigating", csm.pk, "", dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)),
        (
            "mitigating",
            "resolved",
            csm.pk,
            "Sponsor re-engaged",
            dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC),
        ),
    ]


def test_risk_transition_resolving_sets_resolved_at(risk, csm):
    with time_machine.travel(dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC), tick=False):
        risk_transition(risk=risk, to_status="resolved", user=csm, note="Fixed.")
    risk.refresh_from_db()
    assert (risk.status, risk.resolved_at) == (
        "resolved",
        dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC),
    )


@pytest.mark.parametrize(
    "path",
    [
        ("acknowledged",),
        ("mitigating",),
        ("resolved",),
        ("wont_fix",),
        ("acknowledged", "resolved"),
        ("acknowledged", "wont_fix"),
        ("acknowledged", "mitigating", "wont_fix"),
    ],
    ids="→".join,
)
def test_risk_transition_allows_moving_forward(risk, csm, path):
    assert move(risk, *path, user=csm).status == path[-1]


@pytest.mark.parametrize(
    ("path", "to_status", "message"),
    [
        (
            ("mitigating",),
            "acknowledged",
            "A risk that is mitigating cannot move to acknowledged; "
            "it can move to: resolved, closed as won't fix.",
        ),
        (
            ("acknowledged",),
            "acknowledged",
            "A risk that is acknowledged cannot move to acknowledged; "
            "it can move to: mitigating, resolved, closed as won't fix.",
        ),
        (("resolved",), "open", "A risk that is resolved cannot move to open; it is closed."),
        (
            ("wont_fix",),
            "mitigating",
            "A risk that is closed as won't fix cannot move to mitigating; it is closed.",
        ),
        (
            (),
            "open",
            "A risk that is open cannot move to open; "
            "it can move to: acknowledged, mitigating, resolved, closed as won't fix.",
        ),
    ],
    ids=["back", "same", "from-resolved", "from-wont-fix", "to-open"],
)
def test_risk_transition_refuses_with_a_clear_error(risk, csm, path, to_status, message):
    risk = move(risk, *path, user=csm)
    with pytest.raises(RiskTransitionError) as refused:
        risk_transition(risk=risk, to_status=to_status, user=csm, note="Try")
    assert (refused.value.message, refused.value.code) == (message, "risk_transition_refused")


def test_risk_transition_refused_changes_nothing(risk, csm):
    move(risk, "resolved", user=csm)
    with pytest.raises(RiskTransitionError):
        risk_transition(risk=risk, to_status="acknowledged", user=csm, note="Again")
    assert (Risk.objects.get(pk=risk.pk).status, risk.events.count()) == ("resolved", 1)


@pytest.mark.parametrize("to_status", ["resolved", "wont_fix"])
def test_risk_transition_closing_needs_a_note(risk, csm, to_status):
    with pytest.raises(RiskTransitionError) as refused:
        risk_transition(risk=risk, to_status=to_status, user=csm, note="  ")
    label = {"resolved": "resolved", "wont_fix": "closed as won't fix"}[to_status]
    assert (refused.value.message, refused.value.code) == (
        f"A note is required to move a risk to {label}.",
        "note_required",
    )


def test_risk_transition_refuses_an_unknown_status(risk, csm):
    with pytest.raises(RiskTransitionError) as refused:
        risk_transition(risk=risk, to_status="escalated", user=csm, note="")
    assert refused.value.message == "Unknown risk status 'escalated'."


def test_risk_transition_by_another_csm_is_denied(risk):
    other = UserFactory(username="other-csm", role="CSM")
    with pytest.raises(PermissionDenied):
        risk_transition(risk=risk, to_status="acknowledged", user=other, note="")
    assert (Risk.objects.get(pk=risk.pk).status, risk.events.count()) == ("open", 0)


@pytest.mark.parametrize(
    ("role", "is_superuser", "may_change"),
    [
        ("CS Leader", False, True),
        ("CS Ops", False, True),
        (None, True, True),
        ("CSM", False, False),
        ("Integration", False, False),
        (None, False, False),
    ],
    ids=["leader", "ops", "superuser", "another-csm", "integration", "no-role"],
)
def test_risk_can_change_by_role(risk, role, is_superuser, may_change):
    user = UserFactory(role=role, is_superuser=is_superuser)
    assert risk_can_change(user, risk) is may_change


def test_risk_can_change_by_the_accounts_owner(risk, csm):
    assert risk_can_change(csm, risk) is True


def test_risk_can_change_anonymous_is_denied(risk):
    assert risk_can_change(AnonymousUser(), risk) is False


def test_risk_transition_by_a_leader(risk, leader):
    assert move(risk, "acknowledged", user=leader).status == "acknowledged"
