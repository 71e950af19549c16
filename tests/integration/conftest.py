"""A real Celery worker process on the real broker, against the test database."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WorkerProcesses:
    """Starts and kills `celery worker` processes; each in its own process group so a kill
    takes its pool children down with it, like a machine that dies."""

    env: dict[str, str]
    log_path: Path
    queue: str
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self) -> subprocess.Popen:
        from healthscore.celery import app

        log = self.log_path.open("ab")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "healthscore",
                "worker",
                "--pool=prefork",
                "--concurrency=2",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                f"--queues={self.queue}",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"worker exited at start; see {self.log_path}")
            if app.control.ping(timeout=0.5):
                return process
        pytest.fail(f"worker did not answer within 60 s; see {self.log_path}")

    def kill(self, process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def celery_worker_process(migrated_data, redis_url, tmp_path) -> Iterator[WorkerProcesses]:
    """Tasks go to Redis and a separate worker process runs them on the test database."""
    if connection.vendor != "postgresql":
        service_missing("needs PostgreSQL: set DATABASE_URL=postgres://…")
    import redis

    from healthscore.celery import app

    # A queue of its own: no message of another test, or of another run sharing this Redis
    # (a second checkout, a developer's run beside CI), reaches this worker, nor the reverse.
    queue = f"healthscore-test-{uuid.uuid4().hex[:12]}"
    app.conf.task_default_queue = queue
    app.conf.task_always_eager = False
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,
    }
    workers = WorkerProcesses(env=env, log_path=tmp_path / "worker.log", queue=queue)
    yield workers
    workers.stop_all()
    redis.Redis.from_url(redis_url).delete(queue)
    app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    app.conf.task_always_eager = True


def wait_until(condition: Callable[[], bool], *, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(message)
