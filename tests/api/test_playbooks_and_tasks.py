"""The playbooks and tasks endpoints (PRODUCT.md, "Acting on risks: playbooks and tasks")."""

import datetime as dt

import pytest
import time_machine

from playbooks.models import Playbook, Task
from tests.api.conftest import client_for
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 20)

PLAYBOOK = {
    "name": "Churn save",
    "risk_type": "renewal_at_risk",
    "min_severity": "high",
    "segments": ["Enterprise"],
    "steps": [
        {"title": "Call", "description": "Today", "due_in_days": 0, "assignee": "leader"},
        {"title": "Plan", "description": "", "due_in_days": 7, "assignee": "owner"},
    ],
    "active": True,
}


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


def task_on(account, *, title="Call", due_days=2, **fields) -> Task:
    risk = account.risks.first() or RiskFactory(account=account)
    return Task.objects.create(
        account=account,
        risk=risk,
        title=title,
        due_on=TODAY + dt.timedelta(days=due_days),
        assignee=account.owner,
        **fields,
    )


def test_ops_creates_a_playbook_in_the_contract_shape(ops):
    response = client_for(ops).post("/api/v1/playbooks/", PLAYBOOK, format="json")
    body = response.json()
    assert (response.status_code, {k: v for k, v in body.items() if k != "id"}) == (201, PLAYBOOK)


def test_a_csm_reads_playbooks_but_may_not_write_them(csm):
    client = client_for(csm)
    listed = client.get("/api/v1/playbooks/?risk_type=low_sentiment").json()["results"]
    refused = client.post("/api/v1/playbooks/", PLAYBOOK, format="json")
    assert ([p["name"] for p in listed], refused.status_code) == (
        ["Low sentiment: recover the relationship"],
        403,
    )


def test_a_negative_due_in_days_is_a_clear_error_and_nothing_is_written(ops):
    bad = {**PLAYBOOK, "steps": [{"title": "Call", "due_in_days": -1}]}
    response = client_for(ops).post("/api/v1/playbooks/", bad, format="json")
    assert (response.status_code, response.json()["fields"], Playbook.objects.count()) == (
        400,
        {"steps.0.due_in_days": ["A step is due in 0 days or more."]},
        9,
    )


def test_ops_replaces_a_playbooks_steps(ops):
    playbook = Playbook.objects.get(risk_type="no_sponsor")
    changed = {**PLAYBOOK, "risk_type": "no_sponsor", "steps": [{"title": "X", "due_in_days": 3}]}
    response = client_for(ops).put(f"/api/v1/playbooks/{playbook.pk}/", changed, format="json")
    assert (response.status_code, response.json()["steps"]) == (
        200,
        [{"title": "X", "description": "", "due_in_days": 3, "assignee": "owner"}],
    )


def test_task_shape(csm, account):
    task = task_on(account)
    body = client_for(csm).get(f"/api/v1/tasks/{task.pk}/").json()
    assert body == {
        "id": task.pk,
        "account": account.external_id,
        "risk": task.risk_id,
        "title": "Call",
        "description": "",
        "due_on": "2026-11-22",
        "assignee": account.owner_id,
        "status": "open",
        "note": "",
        "completed_at": None,
    }


def test_a_csm_lists_only_the_tasks_of_their_accounts(csm, account, others_account):
    mine = task_on(account)
    task_on(others_account)
    body = client_for(csm).get("/api/v1/tasks/").json()
    assert [task["id"] for task in body["results"]] == [mine.pk]


def test_another_csms_task_is_a_404_to_read_and_to_complete(csm, others_account):
    task = task_on(others_account)
    client = client_for(csm)
    read = client.get(f"/api/v1/tasks/{task.pk}/")
    complete = client.post(f"/api/v1/tasks/{task.pk}/complete/", {"note": ""}, format="json")
    task.refresh_from_db()
    assert (read.status_code, complete.status_code, task.status) == (404, 404, "open")


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("status=open", ["overdue", "soon"]),
        ("status=done", ["done"]),
        ("overdue=true", ["overdue"]),
        ("overdue=false", ["soon", "done"]),
    ],
)
def test_task_filters(leader, account, query, titles):
    task_on(account, title="overdue", due_days=-1)
    task_on(account, title="soon", due_days=1)
    task_on(account, title="done", due_days=3, status="done", completed_at=dt.datetime.now(dt.UTC))
    body = client_for(leader).get(f"/api/v1/tasks/?{query}").json()
    assert [task["title"] for task in body["results"]] == titles


def test_task_filters_by_account_and_assignee(leader, account, others_account):
    task_on(account, title="mine")
    task_on(others_account, title="theirs")
    client = client_for(leader)
    by_account = client.get(f"/api/v1/tasks/?account={others_account.external_id}").json()
    by_assignee = client.get(f"/api/v1/tasks/?assignee={account.owner_id}").json()
    assert (
        [t["title"] for t in by_account["results"]],
        [t["title"] for t in by_assignee["results"]],
    ) == (
        ["theirs"],
        ["mine"],
    )


def test_complete_with_a_note_then_twice_is_refused(csm, account):
    task = task_on(account)
    client = client_for(csm)
    done = client.post(f"/api/v1/tasks/{task.pk}/complete/", {"note": "Called"}, format="json")
    again = client.post(f"/api/v1/tasks/{task.pk}/complete/", {}, format="json")
    assert (done.status_code, done.json()["status"], done.json()["note"]) == (200, "done", "Called")
    assert (again.status_code, again.json()["code"]) == (400, "task_finished")


def test_complete_moves_the_risk_to_mitigating(csm, account):
    task = task_on(account)
    client_for(csm).post(f"/api/v1/tasks/{task.pk}/complete/", {}, format="json")
    task.risk.refresh_from_db()
    assert task.risk.status == "mitigating"


def test_skip_needs_a_note(csm, account):
    task = task_on(account)
    client = client_for(csm)
    refused = client.post(f"/api/v1/tasks/{task.pk}/skip/", {"note": ""}, format="json")
    skipped = client.post(f"/api/v1/tasks/{task.pk}/skip/", {"note": "On leave"}, format="json")
    assert (refused.status_code, refused.json()["code"], skipped.json()["status"]) == (
        400,
        "note_required",
        "skipped",
    )


def test_an_integration_key_may_read_tasks_but_not_complete_them(integration, account):
    task = task_on(account)
    client = client_for(integration)
    read = client.get("/api/v1/tasks/")
    complete = client.post(f"/api/v1/tasks/{task.pk}/complete/", {}, format="json")
    assert (read.status_code, complete.status_code) == (200, 403)
