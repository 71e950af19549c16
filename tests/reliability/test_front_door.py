"""The front door of issue 13: login lockout per username (django-axes) and throttle per
client address, a Content-Security-Policy on every page, session lifetime, and the API docs
behind the login in production."""

import logging
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import clear_url_caches, reverse

from tests.accounts.factories import UserFactory

PASSWORD = "correct-horse-battery"
CSP = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
}


def policy(response) -> set[str]:
    return set(response["Content-Security-Policy"].split("; "))


@pytest.fixture
def dana(db):
    return UserFactory(username="dana", role="CSM")


def log_in(client, password: str, username: str = "dana"):
    return client.post("/login/", {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_username_and_the_page_says_so(client, dana, caplog):
    caplog.set_level(logging.WARNING)
    answers = [log_in(client, "wrong").status_code for _ in range(5)]
    locked = log_in(client, PASSWORD)  # the right password, too late

    assert answers == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    text = re.sub(r"\s+", " ", locked.content.decode())
    assert (
        "Too many wrong passwords for “dana”: this username is locked for 0:15:00. Try again "
        "later, or ask an administrator to unlock it." in text
    )
    assert "_auth_user_id" not in client.session
    lockouts = [r.getMessage() for r in caplog.records if "Locking out" in r.getMessage()]
    assert lockouts == 2 * [  # the fifth failure, then the attempt while locked
        'AXES: Locking out {username: "dana", ip_address: "127.0.0.1", user_agent: '
        '"<unknown>", path_info: "/login/"} after repeated login failures.'
    ]


def test_a_locked_username_logs_in_again_after_the_cool_off(client, dana):
    for _ in range(5):
        log_in(client, "wrong")
    with time_machine.travel("2099-01-01"):  # well past the 15 minutes
        response = log_in(client, PASSWORD)
    assert (response.status_code, response["Location"]) == (302, "/")


def test_wrong_passwords_below_the_limit_do_not_lock(client, dana):
    for _ in range(4):
        log_in(client, "wrong")
    response = log_in(client, PASSWORD)
    assert (response.status_code, response["Location"]) == (302, "/")


def test_an_address_is_throttled_whatever_the_usernames(client, db, settings):
    settings.LOGIN_ATTEMPTS_PER_ADDRESS = 3
    answers = [log_in(client, "wrong", username=f"user{n}").status_code for n in range(4)]
    assert answers == [200, 200, 200, 429]
    assert "Too many login attempts from your address." in log_in(client, "x").content.decode()


@pytest.mark.parametrize("path", ["/login/", "/api/v1/accounts/", "/api/docs/", "/no-such-page/"])
def test_every_response_has_the_content_security_policy(client, db, path):
    assert policy(client.get(path)) == CSP


def test_signed_in_pages_have_the_policy_and_no_inline_script(client, dana):
    client.force_login(dana)
    response = client.get("/dashboard/")
    assert policy(response) == CSP
    scripts = re.findall(r"<script([^>]*)>", response.content.decode())
    assert scripts and all("src=" in attrs or "application/json" in attrs for attrs in scripts)


def test_api_docs_load_their_script_from_a_file(client, db):
    page = client.get("/api/docs/").content.decode()
    assert re.findall(r"<script([^>]*)>", page) == [
        ' src="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"',
        ' src="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js"',
        ' src="/api/docs/?script="',
    ]


def test_session_ends_after_its_maximum_lifetime(client, dana, settings):
    settings.SESSION_MAX_HOURS = 12
    with time_machine.travel("2026-11-20 08:00Z", tick=False):
        client.force_login(dana)
    answers = []
    for minutes in range(0, 12 * 60, 50):  # busy all day: a request every 50 minutes
        with time_machine.travel(f"2026-11-20 {8 + minutes // 60:02d}:{minutes % 60:02d}Z"):
            answers.append(client.get("/dashboard/").status_code)
    with time_machine.travel("2026-11-20 20:01Z", tick=False):
        response = client.get("/dashboard/")
    assert set(answers) == {200}
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/dashboard/")


def test_session_expires_after_an_hour_idle(client, dana):
    client.force_login(dana)
    client.get("/dashboard/")
    assert client.session.get_expiry_age() == 3600


def test_a_signed_in_request_reads_no_session_row(client, dana):
    client.force_login(dana)
    client.get("/dashboard/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/dashboard/").status_code == 200
    assert not [query for query in queries if "django_session" in query["sql"]]


def test_a_session_outlives_an_emptied_cache(client, dana):
    # Redis restarted without persistence: the session is read again from its row.
    client.force_login(dana)
    cache.clear()
    assert client.get("/dashboard/").status_code == 200
    client.logout()
    assert client.get("/dashboard/").status_code == 302


@pytest.fixture
def docs_behind_login(settings):
    settings.API_DOCS_PUBLIC = False
    settings.SPECTACULAR_SETTINGS = {
        **settings.SPECTACULAR_SETTINGS,
        "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    }
    import importlib

    import healthscore.urls

    importlib.reload(healthscore.urls)
    clear_url_caches()
    yield
    settings.API_DOCS_PUBLIC = True
    importlib.reload(healthscore.urls)
    clear_url_caches()


def test_api_docs_are_behind_the_login_in_production(client, dana, docs_behind_login):
    docs = client.get(reverse("api-docs"))
    assert (docs.status_code, docs["Location"]) == (302, "/login/?next=/api/docs/")
    client.force_login(dana)
    assert client.get(reverse("api-docs")).status_code == 200
