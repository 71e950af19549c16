"""What Prometheus scrapes at /metrics besides django-prometheus' request metrics.

Counters and histograms are kept by the process that does the work (a Celery worker scores
chunks, heals runs, sends emails). With several processes (gunicorn workers, Celery's pool),
set PROMETHEUS_MULTIPROC_DIR to a directory all of them on one host share, and /metrics adds
them up (prometheus_client's multiprocess mode); without it each process counts its own.
"""

import hmac

from django.conf import settings
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView
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
risk_emails_sent = Counter(
    "healthscore_risk_emails_sent", "Risk notification emails sent to owners."
)


class PortfolioCollector:
    """Gauges read from the database at each scrape: the unresolved risks by type and
    severity, and the score runs by status. Counting rows is right here, as these are state,
    not events; one grouped query each."""

    def describe(self):
        return []  # registering must not query the database (manage.py check, migrate)

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from risk.choices import UNRESOLVED_STATUSES
        from risk.models import Risk
        from scorecards.models import ScoreRun

        risks = GaugeMetricFamily(
            "healthscore_risks_unresolved",
            "Unresolved risks by type and severity.",
            labels=["type", "severity"],
        )
        rows = (
            Risk.objects.filter(status__in=UNRESOLVED_STATUSES)
            .values_list("risk_type", "severity")
            .annotate(count=models.Count("pk"))
            .order_by()
        )
        for risk_type, severity, count in rows:
            risks.add_metric([risk_type, severity], count)
        yield risks
        runs = GaugeMetricFamily(
            "healthscore_score_runs", "Score runs by status.", labels=["status"]
        )
        for status, count in (
            ScoreRun.objects.values_list("status").annotate(count=models.Count("pk")).order_by()
        ):
            runs.add_metric([status], count)
        yield runs


def portfolio_collector_register() -> None:
    """Called once by the URLconf (the web process serves /metrics)."""
    from prometheus_client import REGISTRY

    global _registered
    if not _registered:
        REGISTRY.register(PortfolioCollector())
        _registered = True


_registered = False


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics for Prometheus: open when METRICS_PUBLIC (development without a token),
    else only with `Authorization: Bearer <METRICS_TOKEN>` (401 with a wrong or missing one);
    production without a token answers 404, as if there were no such page."""
    if not settings.METRICS_PUBLIC:
        if not settings.METRICS_TOKEN:
            raise Http404
        supplied = request.headers.get("Authorization", "")
        if not hmac.compare_digest(supplied.encode(), f"Bearer {settings.METRICS_TOKEN}".encode()):
            response = HttpResponse("A valid METRICS_TOKEN bearer token is needed.\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return ExportToDjangoView(request)
