"""What Prometheus scrapes at /metrics besides django-prometheus' request metrics.

Counters and histograms are kept by the process that does the work (a Celery worker scores
chunks, heals runs, sends emails). With several processes (gunicorn workers, Celery's pool),
set PROMETHEUS_MULTIPROC_DIR to a directory all of them on one host share, and /metrics adds
them up (prometheus_client's multiprocess mode); without it each process counts its own.
"""

from prometheus_client import Counter, Histogram

score_run_duration = Histogram(
    "healthscore_score_run_duration_seconds",
    "Seconds from a score run's start to its finish.",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
score_chunks_retried = Counter(
    "healthscore_score_chunks_retried",
    "Score chunks retried after a database error (a connection lost mid-chunk).",
)
score_runs_healed = Counter(
    "healthscore_score_runs_healed",
    "Score runs resumed because they made no progress for SCORE_RUN_STALL_SECONDS.",
)
risks_opened = Counter("healthscore_risks_opened", "Risks raised by evaluations.")
risk_emails_sent = Counter(
    "healthscore_risk_emails_sent", "Risk notification emails sent to owners."
)
