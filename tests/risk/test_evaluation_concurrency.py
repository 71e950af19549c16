"""Two evaluations at once on PostgreSQL: the partial unique constraint keeps one open risk
per account and type, and the evaluation that loses the race updates the winner's risk."""

import threading

import pytest
from django.db import connection
from django.db.models import Count

from risk import engine, services
from risk.choices import RiskType
from risk.models import Risk, RiskEvent
from tests.accounts.factories import AccountFactory
from tests.risk.conftest import AS_OF, rules_only


def evaluate_in_threads(count: int) -> tuple[list[services.RiskEvaluation], list[Exception]]:
    results: list[services.RiskEvaluation] = []
    errors: list[Exception] = []

    def evaluate() -> None:
        try:
            results.append(services.risks_evaluate(as_of=AS_OF))
        except Exception as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.fixture
def both_read_before_either_writes(monkeypatch):
    """Hold each evaluation after it has read the portfolio until the other has too: both
    find no open risk, so both try to open every one of them."""
    barrier = threading.Barrier(2, timeout=30)
    rules = engine.risk_conditions

    def risk_conditions(*args, **kwargs):
        conditions = rules(*args, **kwargs)
        barrier.wait()
        return conditions

    monkeypatch.setattr(engine, "risk_conditions", risk_conditions)


def test_two_evaluations_at_once_leave_one_open_risk_each(
    postgres_transactional, both_read_before_either_writes
):
    rules_only(RiskType.NO_SPONSOR, RiskType.SINGLE_THREADED)
    for _ in range(5):
        AccountFactory()
    results, errors = evaluate_in_threads(2)
    assert errors == []
    duplicates = (
        Risk.objects.values("account_id", "risk_type").annotate(n=Count("pk")).filter(n__gt=1)
    )
    assert (Risk.objects.filter(status="open").count(), list(duplicates)) == (10, [])
    # 10 risks: one evaluation opened them, the other found each taken and updated it.
    assert sorted((sum(r.raised.values()), sum(r.updated.values())) for r in results) == [
        (0, 10),
        (10, 0),
    ]
    assert RiskEvent.objects.filter(to_status="open", from_status="").count() == 10
