"""Issue 13, item 2: a Redis restarted without persistence mid-run loses the queued chunks and
the chord's count; the stall-healing beat task resumes the run with no manual command.

The Redis here is the test's own `redis-server` on a free port: the shared one is never
restarted."""

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from django.utils import timezone

from healthscore.celery import app
from scorecards.models import ScoreRun, ScoreSnapshot
from scorecards.services import scoring
from tests.conftest import service_missing
from tests.integration.conftest import wait_until
from tests.integration.test_recompute_worker import portfolio_create
from tests.integration.test_run_healing import heal_until_finished

pytestmark = pytest.mark.integration


class OwnRedis:
    """A throwaway redis-server without persistence, which the test may kill and restart."""

    def __init__(self, directory) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, seconds=20, message="redis-server did not start")

    def _answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url).ping()
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=20)


def _app_uses(url: str) -> None:
    """Point this process's Celery app (the producer) at `url`: its pools and result backend
    are rebuilt on next use."""
    app.conf.broker_url = url
    app.conf.result_backend = url
    app._after_fork()  # drops the connection and producer pools
    app._backend_cache = None
    app._local = threading.local()


@pytest.fixture
def own_redis(tmp_path) -> Iterator[OwnRedis]:
    if not shutil.which("redis-server"):
        service_missing("needs redis-server (apt-get install redis-server)")
    server = OwnRedis(tmp_path)
    server.start()
    broker, backend = app.conf.broker_url, app.conf.result_backend
    _app_uses(server.url)
    yield server
    _app_uses(broker)
    app.conf.result_backend = backend
    if server.process.poll() is None:
        server.kill()


@pytest.fixture
def redis_url(own_redis) -> str:
    """The worker fixture's broker: the test's own Redis."""
    return own_redis.url


def test_redis_restart_mid_run_is_healed_without_a_command(
    own_redis, celery_worker_process, settings
):
    settings.SCORE_RUN_STALL_SECONDS = 3  # a chunk here takes well under a second
    today = timezone.localdate()
    portfolio_create(accounts=600, as_of=today)
    worker = celery_worker_process.start()

    run = scoring.score_run_start(as_of=today, chunk_size=20)  # 30 chunks
    wait_until(
        lambda: ScoreRun.objects.get(pk=run.pk).chunks_done >= 3,
        seconds=90,
        message="the run did not get going",
    )
    own_redis.kill()  # every queued chunk and the chord's count are gone
    time.sleep(1)
    own_redis.start()
    run.refresh_from_db()
    assert run.chunks_done < run.chunks_total  # lost mid-run, not after

    # Celery's worker may stop on the lost connection ("Unrecoverable error" while restoring
    # its unacknowledged messages); its supervisor starts it again (docker-compose.yml's
    # `restart: unless-stopped`), as this does.
    deadline = time.monotonic() + 15
    while worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if worker.poll() is not None:
        celery_worker_process.start()

    healed = heal_until_finished(run, seconds=180)

    run.refresh_from_db()
    assert healed >= 1
    assert (run.status, run.accounts_scored, run.chunks_done) == ("finished", 600, 30)
    assert ScoreSnapshot.objects.filter(as_of=today).count() == 600
