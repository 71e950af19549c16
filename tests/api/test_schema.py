"""The OpenAPI schema validates, and the API keeps to it: schemathesis fuzzes every operation
and checks that nothing answers with a server error or breaks the documented shapes."""

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.authentication import api_key_create
from tests.accounts.factories import AccountFactory, UserFactory


def test_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").read_text().startswith("openapi: 3.0.3")


def test_schema_and_docs_are_served(client, db):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# Examples and random (valid and invalid) data for every operation; the coverage phase's
# exhaustive boundary cases would take minutes on a shared CI machine.
schema.config.phases.update(phases=["examples", "fuzzing"])
schema.config.generation.update(no_shrink=True)


@pytest.fixture
def test_transaction_kept():
    """Requests go through the WSGI handler, which closes the database connection when a
    request ends; that would end the test's transaction. Django's test client does the same."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_key_header(db, test_transaction_kept) -> dict[str, str]:
    """A superuser's key with every scope, over a small portfolio."""
    owner = UserFactory(username="fuzzer", is_superuser=True, is_staff=True)
    AccountFactory(external_id="FUZZ-1", owner=owner)
    _, key = api_key_create(
        owner=owner, name="schemathesis", scopes=["read", "write:accounts", "write:measures"]
    )
    return {"Authorization": f"Bearer {key}"}


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_keeps_to_its_schema(case, api_key_header, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "100000/minute"},
    }
    case.call_and_validate(
        headers=api_key_header,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
