"""`page_size` and `page` as the schema states them: a whole number from 1, empty meaning
not given; anything else a 400 (or, for a page past the last, a 404)."""

import pytest

from tests.accounts.factories import AccountFactory
from tests.api.conftest import client_for
from tests.risk.factories import RiskFactory


@pytest.fixture
def three_accounts(db):
    return [AccountFactory(external_id=f"P-{n}") for n in range(3)]


@pytest.mark.parametrize("page_size", ["abc", "0", "-1", "1.5", "²"])
def test_page_size_that_is_not_a_whole_number_from_1_is_400(leader, page_size):
    response = client_for(leader).get(f"/api/v1/accounts/?page_size={page_size}")
    assert response.status_code == 400
    assert response.json() == {
        "message": "Invalid input. page_size: Rows per page: a whole number from 1 (50 by "
        "default; above 500 a page holds 500).",
        "code": "invalid",
        "fields": {
            "page_size": [
                "Rows per page: a whole number from 1 (50 by default; above 500 a page holds 500)."
            ]
        },
    }


def test_page_size_sets_the_rows_of_a_page(leader, three_accounts):
    body = client_for(leader).get("/api/v1/accounts/?page_size=2").json()
    assert (len(body["results"]), body["next"] is None) == (2, False)


def test_page_size_empty_is_the_default(leader, three_accounts):
    body = client_for(leader).get("/api/v1/accounts/?page_size=").json()
    assert (len(body["results"]), body["next"]) == (3, None)


def test_page_size_over_the_maximum_serves_the_maximum(leader, three_accounts):
    from healthscore.api import StandardPagination

    request = type("Request", (), {"query_params": {"page_size": "100000"}})()
    assert StandardPagination().get_page_size(request) == 500


def test_page_named_last_is_404_as_the_schema_wants_a_number(leader, account):
    RiskFactory(account=account)
    response = client_for(leader).get("/api/v1/risks/?page=last")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
