"""/health/ with a real worker answering its ping (tests/reliability/test_operability.py has
the rest of the health endpoint)."""

import pytest

pytestmark = pytest.mark.integration


def test_health_is_200_with_a_worker(client, celery_worker_process):
    celery_worker_process.start()
    response = client.get("/health/?format=json")
    assert (response.status_code, set(response.json().values())) == (200, {"OK"})
