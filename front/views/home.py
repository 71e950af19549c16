import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from accounts import roles, selectors

logger = logging.getLogger(__name__)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on its page: leaders and CS Ops on the portfolio (CS Ops reach the
    admin from the menu), CSMs on their dashboard. A user without a role sees a welcome page
    that says so."""
    user_roles = roles.user_roles(request.user)
    if request.user.is_superuser or user_roles & {roles.CS_LEADER, roles.CS_OPS}:
        return redirect("front:portfolio")
    if roles.CSM in user_roles:
        return redirect("front:dashboard")
    context = {
        "roles": sorted(user_roles),
        "account_count": selectors.accounts_visible_to(user=request.user).count(),
    }
    return render(request, "front/home.html", context)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links; send them to the SVG icon."""
    return redirect(static("favicon.svg"))


def login(request: HttpRequest) -> HttpResponse:
    """Django's login page, with the address throttle: more than LOGIN_ATTEMPTS_PER_ADDRESS
    login attempts from one client address within LOGIN_ATTEMPTS_WINDOW_SECONDS get the
    lockout page (429) until the window ends. Usernames are locked by django-axes."""
    if request.method == "POST" and _login_attempts_over_limit(request):
        logger.warning(
            "Login attempts from %s over %s in %s s; refused.",
            _client_address(request),
            settings.LOGIN_ATTEMPTS_PER_ADDRESS,
            settings.LOGIN_ATTEMPTS_WINDOW_SECONDS,
        )
        context = {
            "address_throttled": True,
            "cooloff_timedelta": timedelta(seconds=settings.LOGIN_ATTEMPTS_WINDOW_SECONDS),
        }
        return render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=429)
    return LoginView.as_view(redirect_authenticated_user=True)(request)


def _client_address(request: HttpRequest) -> str:
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or "unknown"


def _login_attempts_over_limit(request: HttpRequest) -> bool:
    """Count this attempt in the address's window (the cache: Redis, shared by every web
    process); True past the limit."""
    key = f"login-attempts:{_client_address(request)}"
    cache.add(key, 0, timeout=settings.LOGIN_ATTEMPTS_WINDOW_SECONDS)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.LOGIN_ATTEMPTS_WINDOW_SECONDS)
        attempts = 1
    return attempts > settings.LOGIN_ATTEMPTS_PER_ADDRESS
