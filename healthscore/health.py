"""GET /health/ for load balancers and compose (django-health-check): the database, the
cache and broker (Redis), and a worker's heartbeat (a Celery ping answered within a second).
200 when all pass, 500 naming what failed; `?format=json` for machines. Without REDIS_URL
(tasks inline) only the database and the in-process cache are checked."""

from django.conf import settings
from health_check.views import HealthCheckView


def health_checks() -> list:
    checks: list = ["health_check.checks.Database", "health_check.checks.Cache"]
    if settings.REDIS_URL:
        checks += [
            ("health_check.contrib.redis.Redis", {"client_factory": _redis_client}),
            "health_check.contrib.celery.Ping",
        ]
    return checks


def _redis_client():
    from redis.asyncio import Redis

    return Redis.from_url(settings.REDIS_URL)


def health_view():
    return HealthCheckView.as_view(checks=health_checks())
