"""The one error shape, {"message", "code", "fields"}, for every kind of error."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions

from healthscore.api import exception_handler


def test_anonymous_request_is_401_in_the_error_shape(api, db):
    response = api.get("/api/v1/accounts/")
    assert response.status_code == 401
    assert response.json() == {
        "message": "Authentication credentials were not provided.",
        "code": "not_authenticated",
        "fields": {},
    }


def test_another_csms_account_is_404_in_the_error_shape(csm_client, others_account):
    response = csm_client.get(f"/api/v1/accounts/{others_account.pk}/")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found.", "code": "not_found", "fields": {}}


@pytest.mark.django_db
def test_field_errors_are_listed_by_field(integration_client):
    response = integration_client.post("/api/v1/accounts/", {"external_id": "X-1"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "message": "Invalid input. name: This field is required.",
        "code": "invalid",
        "fields": {"name": ["This field is required."]},
    }


def test_django_validation_error_maps_to_fields():
    response = exception_handler(DjangoValidationError({"left_on": ["Too early."]}), {})
    assert response.status_code == 400
    assert response.data == {
        "message": "Invalid input. left_on: Too early.",
        "code": "invalid",
        "fields": {"left_on": ["Too early."]},
    }


def test_nested_errors_are_flattened_to_dotted_fields():
    detail = {"groups": [{}, {"weight": ["Must be positive."]}], "non_field_errors": ["Bad."]}
    response = exception_handler(exceptions.ValidationError(detail), {})
    assert response.data == {
        "message": "Bad.",
        "code": "invalid",
        "fields": {"groups.1.weight": ["Must be positive."]},
    }


@pytest.mark.django_db
def test_csm_may_not_create_accounts(csm_client):
    response = csm_client.post(
        "/api/v1/accounts/", {"external_id": "X-1", "name": "X"}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "message": "Your role may not do this.",
        "code": "permission_denied",
        "fields": {},
    }


@pytest.mark.django_db
def test_form_encoded_body_is_415_as_the_api_takes_json_only(integration_client):
    response = integration_client.post(
        "/api/v1/accounts/", {"external_id": "X-1", "name": "X"}, format="multipart"
    )
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")


def test_unique_key_errors_alone_are_a_409_conflict():
    detail = {"key": [exceptions.ErrorDetail("metric with this key already exists.", "unique")]}
    response = exception_handler(exceptions.ValidationError(detail), {})
    assert (response.status_code, response.data["code"]) == (409, "conflict")


def test_unique_key_error_beside_another_error_stays_a_400():
    detail = {
        "key": [exceptions.ErrorDetail("metric with this key already exists.", "unique")],
        "name": [exceptions.ErrorDetail("This field is required.", "required")],
    }
    response = exception_handler(exceptions.ValidationError(detail), {})
    assert (response.status_code, response.data["code"]) == (400, "invalid")


def test_a_path_with_a_newline_is_a_404_in_the_error_shape(csm_client, db):
    response = csm_client.get("/api/v1/webhooks/1%0A/deliveries/")
    assert (response.status_code, response.json()) == (
        404,
        {"message": "No such endpoint.", "code": "not_found", "fields": {}},
    )


def test_an_account_named_with_a_nul_is_a_404_not_a_500(csm_client, account):
    response = csm_client.get("/api/v1/accounts/%00/score/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
