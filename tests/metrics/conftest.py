"""The metrics API tests use the API tests' clients and users: one set of fixtures."""

from tests.api.conftest import (  # noqa: F401 (fixtures)
    api,
    csm_client,
    integration,
    integration_client,
    leader,
    ops,
    other_csm,
    others_account,
    throttle_budgets_reset,
)
