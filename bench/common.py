"""What bench/api.py and bench/pages.py share: a throwaway PostgreSQL database holding a seeded
and scored demo portfolio, gunicorn serving it on loopback, and a closed-loop load generator
(wrk when installed, else a Python client) run from another process.

Nothing here listens beyond 127.0.0.1, and every loop is bounded by a count or a deadline.
"""

import json
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Only databases named like this are ever dropped: healthscore_bench (bench/recompute.py's) and
# every other database stay untouched.
DATABASE_PREFIX = "healthscore_bench_"
# The default 1,200 requests a minute per key would answer most of a load test with 429s.
API_RATE = "100000000/minute"


# --- Machine -------------------------------------------------------------------------------------


def machine_line(url: str) -> str:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {ram:.0f} GiB, "
        f"Python {platform.python_version()}, PostgreSQL {_postgresql_version(url)}, "
        f"load generator: {'wrk' if shutil.which('wrk') else 'Python threads (no wrk installed)'}"
    )


def load_average_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average: {one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min)"


def _postgresql_version(url: str) -> str:
    import psycopg2

    conn = psycopg2.connect(f"{url.rsplit('/', 1)[0]}/postgres")
    with conn.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    conn.close()
    return version.split()[0]


# --- Environment ---------------------------------------------------------------------------------


def app_env(url: str) -> dict[str, str]:
    """The environment of every process that runs the app: this database, DEBUG off, inline
    Celery (no REDIS_URL), no email sent, API throttling out of the way. The cache is Redis
    (BENCH_CACHE_URL, else the REDIS_URL given to the bench, as production has it), shared by
    the server's processes: cached pages and their generations must be seen by every worker."""
    env = {key: value for key, value in os.environ.items() if key not in ("HEALTHSCORE_ENV",)}
    redis_url = env.pop("REDIS_URL", "")
    cache_url = env.pop("BENCH_CACHE_URL", "") or redis_url
    if cache_url:
        env["CACHE_URL"] = cache_url
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="healthscore.settings",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        API_RATE=API_RATE,
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        LOG_LEVEL="ERROR",  # kombu warns of its in-memory broker on every inline task
    )
    return env


def django_setup(url: str) -> None:
    env = app_env(url)
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()


def in_child(target, *args) -> dict:
    """Run one part in a fresh process (its own Django, its own connections)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child_main, args=(target, args, queue))
    process.start()
    result = queue.get()
    process.join()
    if isinstance(result, BaseException):
        raise result
    return result


def _child_main(target, args, queue) -> None:
    try:
        queue.put(target(*args))
    except BaseException as error:  # the parent re-raises it
        queue.put(RuntimeError(f"{target.__name__}: {error!r}"))
        raise


# --- Data ----------------------------------------------------------------------------------------


def database_recreate(url: str) -> None:
    """Drop and create the bench's own database; refuses any other name."""
    import psycopg2

    admin_url, name = url.rsplit("/", 1)
    if not name.startswith(DATABASE_PREFIX) or not name.replace("_", "").isalnum():
        raise SystemExit(f"Refusing to drop {name!r}: a bench database is {DATABASE_PREFIX}<name>.")
    conn = psycopg2.connect(f"{admin_url}/postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {name}")
    conn.close()


def manage(url: str, *args: str, timeout: float = 900) -> float:
    """Run a manage.py command against the bench database; returns its seconds."""
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=app_env(url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{completed.stderr[-3000:]}")
    return time.monotonic() - started


def portfolio_build(
    url: str, *, accounts: int, days: int, as_of: date, score_days: int, has_risks: bool
) -> dict:
    """A new database with seed_demo's portfolio of `accounts` accounts and `days` days of
    values to `as_of`, scored for the last `score_days` days (chunks on every core, as the
    Celery workers would). Risks are evaluated after the last day only when `has_risks`: on
    100,000 accounts the evaluation and its per-risk notifications take longer than the
    rest of the bench together."""
    database_recreate(url)
    migrate_seconds = manage(url, "migrate", "--verbosity", "0")
    seed_seconds = manage(
        url,
        "seed_demo",
        "--accounts",
        str(accounts),
        "--days",
        str(days),
        "--as-of",
        as_of.isoformat(),
        "--no-progress",
    )
    scored = in_child(_score_child, url, as_of, score_days, has_risks)
    return {"migrate_seconds": migrate_seconds, "seed_seconds": seed_seconds, **scored}


def _score_child(url: str, as_of: date, score_days: int, has_risks: bool) -> dict:
    django_setup(url)
    from django.conf import settings
    from django.db import connection

    from risk.choices import UNRESOLVED_STATUSES
    from risk.models import Risk
    from scorecards.models import MeasureValue
    from scorecards.services import scoring

    finished_tasks = list(settings.SCORE_RUN_FINISHED_TASKS)
    days = scoring.score_dates(as_of=as_of, days=score_days)
    started = time.monotonic()
    risk_seconds = 0.0
    runs = []
    context = multiprocessing.get_context("spawn")
    with context.Pool(os.cpu_count(), initializer=django_setup, initargs=(url,)) as pool:
        for day in days:
            is_last = day == days[-1]
            settings.SCORE_RUN_FINISHED_TASKS = finished_tasks if has_risks and is_last else []
            run = scoring.score_run_create(as_of=day)
            scoring.score_run_claim(run=run)
            chunk_ids = scoring.score_run_unfinished_chunk_ids(run=run)
            connection.close()  # the pool's processes use their own
            pool.map(_score_chunk, chunk_ids, chunksize=1)
            finishing = time.monotonic()
            runs.append(scoring.score_run_finish(run=run))  # risks run inline, on commit
            if has_risks and is_last:
                risk_seconds = time.monotonic() - finishing
    score_seconds = time.monotonic() - started - risk_seconds
    # What autovacuum does to a live database some minutes after a load: without statistics
    # the planner takes the freshly filled tables for small ones.
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "score_seconds": score_seconds,
        "vacuum_seconds": time.monotonic() - started,
        "risk_seconds": risk_seconds,
        "score_days": len(days),
        "accounts_scored": runs[-1].accounts_scored,
        "accounts_not_scored": runs[-1].accounts_not_scored,
        "value_rows": MeasureValue.objects.count(),
        "open_risks": Risk.objects.filter(status__in=UNRESOLVED_STATUSES).count(),
    }


def _score_chunk(chunk_id: int) -> None:
    from scorecards.models import ScoreRunChunk
    from scorecards.services import scoring

    scoring.score_chunk_compute(chunk=ScoreRunChunk.objects.select_related("run").get(pk=chunk_id))


# --- Server --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class ServerSetup:
    """How gunicorn runs (gunicorn.conf.py's settings, overridden here)."""

    workers: int = os.cpu_count() or 2
    worker_class: str = "sync"
    threads: int = 4
    preload: bool = True

    def __str__(self) -> str:
        threads = f" × {self.threads} threads" if self.worker_class == "gthread" else ""
        preload = ", preloaded" if self.preload else ""
        return f"{self.workers} {self.worker_class} workers{threads}{preload}"


@contextmanager
def gunicorn(url: str, *, setup: ServerSetup, start: dict | None = None):
    """gunicorn with gunicorn.conf.py (as the Dockerfile runs it) and `setup`, on 127.0.0.1
    only; stopped on exit, when its log is checked for worker timeouts and tracebacks. Yields
    the base URL. `start`, when given, receives `seconds_to_first_answer` (from the process
    start to the first 200) and `first_request_ms` (that first answered request alone)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-gunicorn-") as folder:
        log_path = Path(folder, "gunicorn.log")
        env = app_env(url)
        env["GUNICORN_PRELOAD"] = "1" if setup.preload else "0"
        spawned = time.monotonic()
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("gunicorn")),
                    "healthscore.wsgi",
                    "--config",
                    str(ROOT / "gunicorn.conf.py"),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(setup.workers),
                    "--worker-class",
                    setup.worker_class,
                    "--threads",
                    str(setup.threads),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            first_ms = _wait_until_serving(base, process, log_path)
            if start is not None:
                start["seconds_to_first_answer"] = time.monotonic() - spawned
                start["first_request_ms"] = first_ms
            yield base
        finally:
            process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            logged = log_path.read_text()
            recycled = logged.count("Autorestarting worker")
            if recycled:
                print(f"gunicorn recycled a worker {recycled} times (max_requests)")
            for problem in ("WORKER TIMEOUT", "Traceback"):
                if problem in logged:
                    print(f"gunicorn logged {logged.count(problem)} × {problem}; last lines:")
                    print(logged[-2000:])


def _wait_until_serving(base: str, process: subprocess.Popen, log_path: Path) -> float:
    """Poll until the first 200; returns that request's milliseconds (a worker not warmed
    before it took traffic makes it pay for the imports and the templates)."""
    import requests

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        started = time.perf_counter()
        try:
            if requests.get(f"{base}/login/", timeout=60).status_code == 200:
                return (time.perf_counter() - started) * 1000
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.05)
    raise SystemExit(f"gunicorn did not answer within 180 s:\n{log_path.read_text()[-3000:]}")


def first_request_ms(base: str, path: str, headers: dict[str, str]) -> float:
    """One GET, timed: the first of a page after the start (a cold cache computes it)."""
    import requests

    started = time.perf_counter()
    response = requests.get(base + path, headers=headers, timeout=120, allow_redirects=False)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}: {response.text[:500]}")
    return elapsed


def caches_invalidate() -> None:
    """Start the measurement with every cached page unreachable, as after a write to each
    (call in a process with Django set up)."""
    from healthscore.generations import ALL, generation_bump

    generation_bump(*ALL)


# --- Load ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """One steady-load measurement; latencies in milliseconds."""

    label: str
    concurrency: int
    seconds: float
    requests: int
    errors: int  # HTTP errors and timeouts: requests that failed
    p50: float
    p95: float
    p99: float
    # Keep-alive connections the server closed under wrk (e.g. a gunicorn worker recycled
    # after max_requests, which the server's log tells): wrk counts a read or connect error
    # and opens a new connection, as a browser would retry the request on one; reported, not
    # counted as a failed request.
    closed: int = 0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


# Cycles through the paths listed in the file given after "--", one request each, each thread
# from its own share of the list (the thread count follows the file); prints the figures as one
# JSON line when done. wrk keeps a histogram of every request's latency.
WRK_SCRIPT = """
local paths = {}
local next_path = 0
local threads_set_up = 0
function setup(thread)
  thread:set("thread_number", threads_set_up)
  threads_set_up = threads_set_up + 1
end
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  -- Each thread starts its own share of the list (math.random is not seeded per thread:
  -- they would all start on the same path and ask for the same pages).
  next_path = math.floor(#paths * thread_number / tonumber(args[2]))
end
function request()
  next_path = next_path % #paths + 1
  return wrk.format(nil, paths[next_path])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "timeouts": %d, "closed": %d, '
    .. '"p50": %d, "p95": %d, "p99": %d}\\n',
    summary.requests, summary.duration, e.status, e.timeout, e.connect + e.read + e.write,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def load_measure(
    base: str,
    paths: list[str],
    *,
    label: str,
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    warmup_seconds: float = 2.0,
    expected_status: int = 200,
) -> Load:
    """GET `paths` in turn at a steady `concurrency` (each connection sends its next request
    when the last one is answered) for `seconds`, after a warm-up that is not counted. Every
    path is first checked once to answer 200, so that a redirect to the login page is not
    measured as a fast page."""
    import requests

    for path in paths[:3]:
        response = requests.get(base + path, headers=headers, timeout=60, allow_redirects=False)
        if response.status_code != expected_status:
            raise SystemExit(f"GET {path} answered {response.status_code}: {response.text[:500]}")
    server_settle(base)
    if warmup_seconds:
        _load_run(base, paths, headers, concurrency, warmup_seconds)
    figures = _load_run(base, paths, headers, concurrency, seconds)
    return Load(label=label, concurrency=concurrency, **figures)


def server_settle(base: str, *, timeout: float = 120) -> None:
    """Wait until the requests left over from the last load are answered. wrk stops sending
    at its deadline, but the sync workers still serve what is queued (8 portfolio requests
    are seconds of work), FIFO before any new request: two fast answers in a row mean idle."""
    import requests

    deadline = time.monotonic() + timeout
    fast = 0
    while fast < 2 and time.monotonic() < deadline:
        started = time.perf_counter()
        requests.get(f"{base}/login/", timeout=timeout)
        fast = fast + 1 if time.perf_counter() - started < 0.1 else 0


def _load_run(base, paths, headers, concurrency, seconds) -> dict:
    if shutil.which("wrk"):
        return _wrk(base, paths, headers, concurrency, seconds)
    return _python_load(base, paths, headers, concurrency, seconds)


def _wrk(base, paths, headers, concurrency, seconds) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        script = Path(folder, "paths.lua")
        script.write_text(WRK_SCRIPT)
        listing = Path(folder, "paths.txt")
        listing.write_text("\n".join(paths) + "\n")
        threads = min(2, concurrency)
        command = ["wrk", "-t", str(threads), "-c", str(concurrency)]
        command += ["-d", f"{seconds:g}s", "--timeout", "30s", "-s", str(script)]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        command += [base + "/", "--", str(listing), str(threads)]
        out = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=True
        ).stdout
    figures = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    return {
        "seconds": figures["duration_us"] / 1e6,
        "requests": figures["requests"],
        "errors": figures["status_errors"] + figures["timeouts"],
        "closed": figures["closed"],
        "p50": figures["p50"] / 1000,
        "p95": figures["p95"] / 1000,
        "p99": figures["p99"] / 1000,
    }


def _python_load(base, paths, headers, concurrency, seconds) -> dict:
    """The fallback without wrk: `concurrency` threads, one keep-alive session each."""
    import requests

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    max_requests = 1_000_000  # a bound besides the deadline

    def client(offset: int) -> None:
        session = requests.Session()
        session.headers.update(headers)
        own: list[float] = []
        failed = 0
        n = offset
        while time.monotonic() < deadline and len(own) < max_requests:
            started = time.perf_counter()
            try:
                status = session.get(base + paths[n % len(paths)], timeout=30).status_code
            except requests.RequestException:
                status = 0
            own.append((time.perf_counter() - started) * 1000)
            failed += not 200 <= status < 400
            n += 1
        with lock:
            latencies.extend(own)
            errors[0] += failed

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i * 7919,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "seconds": time.monotonic() - started,
        "requests": len(latencies),
        "errors": errors[0],
        "p50": cuts[49],
        "p95": cuts[94],
        "p99": cuts[98],
    }


def load_line(load: Load, *, target_ms: float | None = None, floor: Load | None = None) -> str:
    line = (
        f"{load.label:<44} c={load.concurrency:<2} p50 {load.p50:7.1f} ms  p95 {load.p95:7.1f} ms"
        f"  p99 {load.p99:7.1f} ms  {load.per_second:7.1f} req/s  "
        f"({load.requests:,} requests in {load.seconds:.0f} s, {load.errors} errors"
        + (f", {load.closed} connections closed by the server" if load.closed else "")
        + ")"
    )
    if floor is not None:
        line += f"  p95 {load.p95 / floor.p95:.1f}× floor"
    if target_ms is not None:
        verdict = "met" if load.p95 < target_ms and not load.errors else "MISSED"
        if not load.requests:
            verdict = "MISSED (no request answered in time)"
        line += f"  target p95 < {target_ms:g} ms: {verdict}"
    return line
