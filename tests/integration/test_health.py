"""/health/ with a real worker answering its ping (tests/reliability/test_operability.py has
the rest of the health endpoint)."""

import pytest

from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration


def test_health_is_200_with_a_worker(client, celery_worker_process):
    celery_worker_process.start()
    answers = []

    def healthy() -> bool:
        response = client.get("/health/?format=json")
        answers.append((response.status_code, set(response.json().values())))
        return response.status_code == 200

    # A probe, as compose's healthcheck does with its retries: the worker's answer to the
    # queue inspection can miss the check's one-second window while it is still starting
    # on a busy machine.
    wait_until(healthy, seconds=30, message="never healthy")
    assert answers[-1] == (200, {"OK"})
