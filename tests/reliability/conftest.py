# The API tests' clients and users.
from tests.api.conftest import csm_client, integration, integration_client  # noqa: F401
