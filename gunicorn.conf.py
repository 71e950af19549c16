"""gunicorn's settings for Healthscore (read from the working directory, or `-c gunicorn.conf.py`).

Chosen with bench/pages.py and bench/api.py on the 2-core benchmark machine (README,
Performance: "Serving"): see there for the figures. Each setting can be overridden from the
environment, so a bigger machine needs no new file.
"""

import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")

# gthread: each worker serves several requests at once, so a request waiting on PostgreSQL or
# Redis does not hold a whole process, and a slow request (a cache miss recomputing the
# portfolio) no longer queues the fast ones behind it as a sync worker does.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

# Load the app once in the master (healthscore/wsgi.py warms it: views imported, templates
# compiled), then fork: workers start warm and share those pages of memory.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"

# Keep-alive connections from a proxy or a polling integration (persistent database
# connections are CONN_MAX_AGE, 60 s by default, one per thread).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30

# Recycle workers now and then, staggered, so that slow growth of a process's memory (pandas
# frames of an impact preview) is returned.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
