"""Warm the app before it takes traffic: the first request after a start used to take 8.4 s.

What a cold process pays on its first request is paid here instead, once, when the WSGI
application is loaded (in gunicorn's master with `preload_app`, so every worker forks warm):
the URLconf and with it every view module and what they import (pandas, scikit-learn, DRF),
and the compiled templates, which the cached template loader keeps for the process. Nothing
here opens a database connection: a connection made before the fork would be shared by
every worker.
"""

import logging
import time
from pathlib import Path

from django.conf import settings
from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
from django.urls import get_resolver

logger = logging.getLogger(__name__)


def _url_patterns_walk(patterns) -> int:
    """Touch every URL pattern and its view (an include's patterns import its views)."""
    count = 0
    for pattern in patterns:
        count += 1
        if hasattr(pattern, "url_patterns"):
            count += _url_patterns_walk(pattern.url_patterns)
    return count


def _template_names() -> list[str]:
    """Our own templates (templates/), by their loader names."""
    names = []
    for folder in settings.TEMPLATES[0]["DIRS"]:
        root = Path(folder)
        names += [str(path.relative_to(root)) for path in sorted(root.rglob("*.html"))]
    return names


def app_warm() -> dict[str, float]:
    """Import every view and compile every template of ours; returns the seconds each took."""
    started = time.perf_counter()
    resolver = get_resolver()
    patterns = _url_patterns_walk(resolver.url_patterns)
    resolver._populate()  # the reverse() tables, built on the first {% url %} otherwise
    urls_seconds = time.perf_counter() - started
    started = time.perf_counter()
    engine = engines["django"]
    names = _template_names()
    for name in names:
        try:
            engine.get_template(name)
        except (TemplateDoesNotExist, TemplateSyntaxError):  # a broken one fails when used
            logger.exception("Template %s could not be warmed", name)
    templates_seconds = time.perf_counter() - started
    logger.info(
        "Warmed %d URL patterns in %.2f s and %d templates in %.2f s",
        patterns,
        urls_seconds,
        len(names),
        templates_seconds,
    )
    return {"urls": urls_seconds, "templates": templates_seconds}
