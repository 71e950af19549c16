"""Middleware of our own: session lifetime (idle and absolute), the cache's request scope."""

import logging
import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from healthscore.read_model_cache import request_cache_scope

logger = logging.getLogger(__name__)

# How often a request pushes the idle expiry back: not every request writes the session.
SESSION_TOUCH_SECONDS = 60


def request_cache_scope_middleware(get_response):
    """Generations read once a request, cached entries stored once at its end
    (healthscore.read_model_cache.request_cache_scope)."""

    def middleware(request):
        with request_cache_scope():
            return get_response(request)

    return middleware


def session_lifetime_middleware(get_response):
    """A session ends SESSION_IDLE_MINUTES after its last request (the cookie's and the
    stored session's expiry, pushed back at most once a minute) and SESSION_MAX_HOURS after
    its login, however busy: the next request is anonymous and pages send it to log in."""

    def middleware(request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session = request.session
            now = int(time.time())
            # Both clocks start at login (below); a request never writes them first.
            started = session.get("started_at", now)
            if now - started > settings.SESSION_MAX_HOURS * 3600:
                logger.info("Session of %s ended after %s hours.", user, settings.SESSION_MAX_HOURS)
                logout(request)
            elif now - session.get("seen_at", now) >= SESSION_TOUCH_SECONDS:
                session["seen_at"] = now  # saved with a new expiry, SESSION_COOKIE_AGE ahead
        return get_response(request)

    return middleware


@receiver(user_logged_in)
def _session_clock_start(sender, request, user, **kwargs) -> None:
    """Start the session's clocks at login, saved with the login itself: the requests that
    follow write the session at most once a minute (not a write on the first one)."""
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session["started_at"] = now
        request.session["seen_at"] = now
