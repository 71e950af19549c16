"""Two evaluations at once on PostgreSQL: both hand the same new risks to the playbooks (the
loser of the race on the risk updates the winner's risk and passes it on), and the
one-task-per-step-and-risk constraint keeps one task per step."""

import threading

import pytest
from django.db import connection
from django.db.models import Count

from playbooks import services as playbook_services
from playbooks.models import Task
from risk import engine, services
from risk.choices import RiskType
from tests.accounts.factories import AccountFactory
from tests.risk.conftest import AS_OF, rules_only


@pytest.fixture
def both_read_before_either_writes(monkeypatch):
    barrier = threading.Barrier(2, timeout=30)
    rules = engine.risk_conditions

    def risk_conditions(*args, **kwargs):
        conditions = rules(*args, **kwargs)
        barrier.wait()
        return conditions

    monkeypatch.setattr(engine, "risk_conditions", risk_conditions)


@pytest.fixture
def task_calls(monkeypatch):
    """Count the risks each evaluation hands to the playbooks."""
    calls: list[int] = []
    create = playbook_services.tasks_create_for_risks

    def tasks_create_for_risks(*, risk_ids, **kwargs):
        calls.append(len(risk_ids))
        return create(risk_ids=risk_ids, **kwargs)

    monkeypatch.setattr(playbook_services, "tasks_create_for_risks", tasks_create_for_risks)
    return calls


def evaluate_in_threads(count: int) -> list[Exception]:
    errors: list[Exception] = []

    def evaluate() -> None:
        try:
            services.risks_evaluate(as_of=AS_OF)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_two_evaluations_at_once_make_each_task_once(
    postgres_transactional, both_read_before_either_writes, task_calls
):
    rules_only(RiskType.NO_SPONSOR)
    for _ in range(4):
        AccountFactory()
    errors = evaluate_in_threads(2)
    duplicates = Task.objects.values("step_id", "risk_id").annotate(n=Count("pk")).filter(n__gt=1)
    # 4 no_sponsor risks × the default playbook's 1 step = 4 tasks, though both evaluations
    # asked for all 4 risks' tasks.
    assert (errors, sorted(task_calls), Task.objects.count(), list(duplicates)) == (
        [],
        [4, 4],
        4,
        [],
    )
