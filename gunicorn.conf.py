"""gunicorn's settings for Healthscore (read from the working directory, or `-c gunicorn.conf.py`).

Chosen with bench/pages.py and bench/api.py on the 2-core benchmark machine (README,
Performance: "Serving"): see there for the figures. Each setting can be overridden from the
environment, so a bigger machine needs no new file.
"""

import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")

# sync workers, one per core: a page is CPU-bound Python (a first view of the account page
# after a run is about 33 ms of CPU and 12 ms of PostgreSQL), so a process per core serves
# requests one after the other, first come first served, each at full speed. With gthread
# (3 workers × 4 threads, the setting until 1 December) the threads of a process took turns
# on its interpreter lock, and each keep-alive connection stayed on the process that accepted
# it, however busy: the same 42 pages a second, but p95 of 345–720 ms at 8 and 16 clients
# against 272 and 562 ms (bench/pages.py, README "Serving"). A proxy in front keeps the
# clients' connections alive; a sync worker closes its own after each answer.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
workers = int(os.environ.get("WEB_CONCURRENCY", str(os.cpu_count() or 2)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))  # gthread only

# Load the app once in the master (healthscore/wsgi.py warms it: views imported, templates
# compiled), then fork: workers start warm and share those pages of memory.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"

# Keep-alive connections (gthread only: a sync worker closes each after its answer). The
# database connections persist either way: CONN_MAX_AGE, 60 s by default, one per worker.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30

# Recycle workers now and then, staggered, so that slow growth of a process's memory (pandas
# frames of an impact preview) is returned.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
