"""What every API endpoint shares: the one error shape, pagination and ordering, permissions,
throttling, and the post-processing that makes the OpenAPI schema say all of it.

Every error body is ``{"message": str, "code": str, "fields": {field: [message, ...]}}``; a bulk
request whose rows are invalid adds ``"rows": [{"row": 3, "field": "raw_value", "message": …}]``
listing every bad row (see ``accounts.bulk.IngestionError``).
"""

from __future__ import annotations

import re
from itertools import chain
from typing import Any

import orjson
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, filters, serializers, status
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.bulk import MAX_ROWS_PER_REQUEST, NUL, IngestionError
from accounts.models import Account, ApiKey
from accounts.selectors import accounts_visible_to
from risk.services import DomainError

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY
MAX_MESSAGE_FIELDS = 3


# --- The one error shape ------------------------------------------------------------------------


def error_body(
    *, message: str, code: str, fields: dict[str, list[str]] | None = None, rows: list | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "code": code, "fields": fields or {}}
    if rows is not None:
        body["rows"] = rows
    return body


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """A ValidationError's nested detail as {"groups.0.weight": [messages]}; errors that
    belong to no field are kept under NON_FIELD."""
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = prefix if key == NON_FIELD and prefix else f"{prefix}{key}"
            if key == NON_FIELD and not prefix:
                name = NON_FIELD
            for field, messages in _flatten(value, f"{name}.").items():
                fields.setdefault(field, []).extend(messages)
        return fields
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix.rstrip(".") or NON_FIELD: [str(item) for item in detail]}
        fields = {}
        for index, item in enumerate(detail):
            if item in ({}, []):
                continue
            for field, messages in _flatten(item, f"{prefix}{index}.").items():
                fields.setdefault(field, []).extend(messages)
        return fields
    return {prefix.rstrip(".") or NON_FIELD: [str(detail)]}


def _validation_body(detail: Any) -> dict[str, Any]:
    fields = _flatten(detail)
    general = fields.pop(NON_FIELD, [])
    named = [f"{field}: {messages[0]}" for field, messages in fields.items()]
    if general:
        message = " ".join(general)
    elif named:
        more = len(named) - MAX_MESSAGE_FIELDS
        message = "Invalid input. " + "; ".join(named[:MAX_MESSAGE_FIELDS])
        message += f" (and {more} more)" if more > 0 else ""
    else:
        message = "Invalid input."
    return error_body(message=message, code="invalid", fields=fields)


def _first_code(codes: Any) -> str:
    if isinstance(codes, dict):
        codes = next(iter(codes.values()), "error")
    if isinstance(codes, list):
        return _first_code(codes[0]) if codes else "error"
    return str(codes)


def _is_unique_conflict(codes: Any) -> bool:
    """Whether every error is a unique key already taken (DRF's code "unique"): the request
    is well formed but conflicts with a stored row, a 409 rather than a 400."""
    if isinstance(codes, dict):
        codes = list(codes.values())
    if isinstance(codes, list):
        return bool(codes) and all(_is_unique_conflict(code) for code in codes)
    return codes == "unique"


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, with every error in the one shape. Django's ValidationError, Http404 and
    PermissionDenied, our IngestionError and DomainError are mapped too; anything else is a
    500."""
    if isinstance(exc, IngestionError):
        return Response(
            error_body(message=exc.message, code=exc.code, fields={}, rows=exc.rows_as_dicts()),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DomainError):
        return Response(
            error_body(message=exc.message, code=exc.code), status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)

    # Imported here: rest_framework.views loads the permission classes of this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc.detail)
        if _is_unique_conflict(exc.get_codes()):
            response.status_code = status.HTTP_409_CONFLICT
            response.data["code"] = "conflict"
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = _first_code(exc.get_codes()) if isinstance(exc, exceptions.APIException) else ""
        response.data = error_body(message=str(detail), code=code or "error")
    return response


# --- Request bodies ------------------------------------------------------------------------------
# A body is at most API_MAX_BODY_BYTES (settings; a 10,000-row bulk write is about 1.5 MB) and
# its JSON nests at most MAX_JSON_DEPTH levels (the deepest document, a scorecard, has 6).
# Past either limit the answer is the one error shape, never a 500 or Django's HTML page.

MAX_JSON_DEPTH = 32


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


def body_too_large_message(size: int | None, limit: int) -> str:
    given = f"The request body is {size:,} bytes" if size else "The request body is longer"
    return f"{given}; at most {limit:,} bytes are accepted. Send fewer rows per request."


class JsonBodyParser(JSONParser):
    """DRF's JSON parser with the limits above: a body over the size limit is a 413, JSON
    nested deeper than MAX_JSON_DEPTH a 400 (Python's json would recurse until it fails)."""

    def parse(self, stream, media_type=None, parser_context=None):
        from django.conf import settings

        limit = settings.API_MAX_BODY_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise BodyTooLarge(body_too_large_message(None, limit))
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as problem:
            if "depth limit" in str(problem) or "recursion" in str(problem).lower():
                raise exceptions.ParseError(_too_deep_message(), code="too_deep") from None
            raise exceptions.ParseError(f"JSON parse error - {problem}") from None
        if _json_depth(data) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(_too_deep_message(), code="too_deep")
        return data


def _too_deep_message() -> str:
    return f"The JSON nests deeper than {MAX_JSON_DEPTH} levels; no request needs that many."


def _json_depth(data: Any) -> int:
    """How deep lists and objects nest in `data` (a scalar is 0), without recursion."""
    flat = _flat_rows_depth(data)
    if flat is not None:
        return flat
    deepest = 0
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _flat_rows_depth(data: Any) -> int | None:
    """The depth of a bulk body, a list of objects whose fields are all scalars (2, or 1 for
    an empty list), found in C-speed passes; None for any other shape. A 10,000-row body has
    40,000 values, and the general walk above spends a Python step on each."""
    if type(data) is not list:
        return None
    if not data:
        return 1
    if set(map(type, data)) != {dict}:
        return None
    kinds = set(map(type, chain.from_iterable(map(dict.values, data))))
    if dict in kinds or list in kinds:
        return None
    return 2


def api_body_limit_middleware(get_response):
    """Refuse an API request whose declared body is over API_MAX_BODY_BYTES before anything
    reads it: a 413 in the error shape rather than Django's HTML 400 (RequestDataTooBig)."""
    from django.conf import settings
    from django.http import JsonResponse

    def middleware(request):
        if request.path.startswith("/api/"):
            try:
                size = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                size = 0
            limit = settings.API_MAX_BODY_BYTES
            if size > limit:
                return JsonResponse(
                    error_body(message=body_too_large_message(size, limit), code="body_too_large"),
                    status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                )
        return get_response(request)

    return middleware


# --- Pagination ---------------------------------------------------------------------------------


class PageSizeMixin:
    """`page_size` is a whole number from 1; above max_page_size a page holds max_page_size
    rows. Anything else is a 400, where DRF would quietly serve the default size: a client
    that asks for `page_size=abc` has a bug it should hear about."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        given = request.query_params.get(self.page_size_query_param)
        if not given:  # absent or empty: an empty query value means "not given" everywhere
            return self.page_size
        if not given.isascii() or not given.isdigit() or int(given) < 1:
            raise exceptions.ValidationError({self.page_size_query_param: [self._page_size_rule()]})
        return min(int(given), self.max_page_size)

    def _page_size_rule(self) -> str:
        return (
            f"Rows per page: a whole number from 1 ({self.page_size} by default; "
            f"above {self.max_page_size} a page holds {self.max_page_size})."
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = self._page_size_rule()
                parameter["schema"] = {"type": "integer", "minimum": 1}
            elif parameter["name"] == getattr(self, "page_query_param", None):
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


class StandardPagination(PageSizeMixin, PageNumberPagination):
    """For the small lists (scorecards, risks, runs): numbered pages (a page past the last is
    a 404)."""

    last_page_strings = ()  # `page=last` is not a number: the schema says page is one


class CursorListPagination(PageSizeMixin, CursorPagination):
    """For the big lists (accounts, contacts, touchpoints, measure values): the cost of a page
    does not grow with how deep it is, and rows added meanwhile do not shift the pages."""

    ordering = "-id"


# --- Ordering -----------------------------------------------------------------------------------


class OrderingFilter(filters.OrderingFilter):
    """DRF's `ordering`, as strict as the schema states it: a comma-separated list of the
    view's ordering_fields, each with a leading "-" for descending. Anything else is a 400,
    where DRF would drop the term and quietly sort by the default."""

    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> list[str]:
        given = request.query_params.get(self.ordering_param)
        if given and not re.fullmatch(self._pattern(view), given):
            raise exceptions.ValidationError({self.ordering_param: [self._rule(view)]})
        return super().get_ordering(request, queryset, view)

    @staticmethod
    def _pattern(view: Any) -> str:
        term = "-?(" + "|".join(re.escape(name) for name in view.ordering_fields) + ")"
        return f"^{term}(,{term})*$"

    @staticmethod
    def _rule(view: Any) -> str:
        return (
            f"Order by {', '.join(view.ordering_fields)}, comma-separated; a leading - sorts "
            "that one in descending order."
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["description"] = self._rule(view)
            parameter["schema"] = {"type": "string", "pattern": self._pattern(view)}
        return parameters


class LinkHeaderPagination(PageSizeMixin, CursorPagination):
    """For lists whose contracted body is a bare JSON list (PRODUCT.md's delivery log): cursor
    pages all the same, so a long list is never sent whole, with the neighbouring pages' URLs
    in a `Link` header (RFC 8288, as GitHub's API does) rather than in an envelope:
    `Link: <https://…/?cursor=…>; rel="next", <https://…/?cursor=…>; rel="prev"`. No `next`
    on the last page; no header at all when everything fits on one page."""

    page_size = 100
    page_size_query_param = "page_size"
    page_size_query_description = "Items a page: 100 unless given, at most 500."
    cursor_query_description = 'Leave it to the `Link` header: its rel="next" URL carries it.'
    max_page_size = 500
    ordering = "-id"

    def get_paginated_response(self, data: list) -> Response:
        links = [
            f'<{url}>; rel="{rel}"'
            for rel, url in (("next", self.get_next_link()), ("prev", self.get_previous_link()))
            if url
        ]
        return Response(data, headers={"Link": ", ".join(links)} if links else None)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return schema  # the list itself: the links are in the header (LINK_HEADER)


LINK_HEADER = OpenApiParameter(
    "Link",
    type=str,
    location=OpenApiParameter.HEADER,
    response=[200],
    description='The neighbouring pages (RFC 8288): `<URL>; rel="next"` while there are more '
    '(follow it until it is absent), `<URL>; rel="prev"` after the first page, comma-separated. '
    "Absent when the whole list fits on one page.",
)


# --- Permissions --------------------------------------------------------------------------------

READ = ApiKey.Scope.READ


class HasRolePermission(BasePermission):
    """Reads need a login (what is visible is the scoped queryset's business); writes need the
    model permission that the user's role grants (PRODUCT.md, Roles).

    A view names them in ``write_permissions`` (method or action → permissions); otherwise a
    POST needs ``add_<model>`` and a PUT/PATCH ``change_<model>`` of the view's queryset model.
    """

    message = "Your role may not do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in SAFE_METHODS:
            return True
        if request.method.lower() not in view.http_method_names or not hasattr(
            view, request.method.lower()
        ):
            return True  # the view answers 405 Method Not Allowed
        perms = self.required_permissions(request, view)
        return request.user.has_perms(perms)

    @staticmethod
    def required_permissions(request: Request, view: Any) -> list[str]:
        declared = getattr(view, "write_permissions", None) or {}
        action = getattr(view, "action", None)
        if action in declared:
            return list(declared[action])
        if request.method in declared:
            return list(declared[request.method])
        model = view.get_queryset().model
        verb = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}
        return [f"{model._meta.app_label}.{verb[request.method]}_{model._meta.model_name}"]


class ApiKeyScope(BasePermission):
    """A request made with an API key may do only what the key's scopes allow: reads need
    ``read``; writes need the view's ``api_key_scope`` (none set: keys may not write there).
    The key's owner's role applies as well (HasRolePermission), so a scope never widens it."""

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        needed = READ if request.method in SAFE_METHODS else getattr(view, "api_key_scope", None)
        if needed is None:
            self.message = "API keys may not do this; sign in instead."
            return False
        if needed not in key.scopes:
            self.message = f"This API key lacks the {needed} scope."
            return False
        return True


# --- Throttling ---------------------------------------------------------------------------------


class PerKeyRateThrottle(SimpleRateThrottle):
    """One budget per API key (an integration gone wild slows only itself), else per user.
    The rate is read on each request, so tests and settings changes take effect at once."""

    scope = "api"

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


# --- Rows by id or external_id ------------------------------------------------------------------


def external_id_or_pk_q(value: str, *, prefix: str = "") -> Q:
    """Match a row (an account, a contact) by external_id or by id."""
    by_external_id = Q(**{f"{prefix}external_id": value})
    if value.isdigit():
        return by_external_id | Q(**{f"{prefix}pk": int(value)})
    return by_external_id


def row_for_lookup(queryset: QuerySet, value: str):
    """The one row of `queryset` that `value` names, by external_id or id, else 404.

    An external_id that looks like another row's id wins: integrations address accounts by
    their CRM id, and a numeric CRM id (HubSpot's, say) must not land on an unrelated account.
    """
    if NUL in value:  # no row has it, and PostgreSQL refuses it in a query
        raise Http404
    matches = list(queryset.filter(external_id_or_pk_q(value))[:2])
    if len(matches) == 2:
        matches = [row for row in matches if row.external_id == value]
    if not matches:
        raise Http404
    return matches[0]


def account_visible_for_lookup(request: Request, value: str) -> Account:
    """An account the requesting user may see, by id or external_id; 404 otherwise."""
    return row_for_lookup(accounts_visible_to(user=request.user), value)


class ExternalIdLookupMixin:
    """get_object for viewsets whose rows can be addressed by id or external_id."""

    lookup_value_regex = "[^/]+"

    def get_object(self):
        queryset = self.filter_queryset(self.get_queryset())
        instance = row_for_lookup(queryset, self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        self.check_object_permissions(self.request, instance)
        return instance


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents ApiKeyAuthentication in the OpenAPI schema."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key made in the admin: `Authorization: Bearer hs_…`.",
        }


class BulkRows(serializers.Serializer):
    """Documents a bulk request body: one `row` object, or a list of 1 to MAX_ROWS_PER_REQUEST
    of them (accounts.bulk.rows_check_size holds every request to that). The rows are checked
    by the ingestion services, so this serializer only describes them; `has_other_fields`
    False says that the service refuses a field the row does not name."""

    def __init__(
        self, row: type[serializers.Serializer], component_name: str, *, has_other_fields: bool
    ) -> None:
        super().__init__()
        self.row = row
        self.component_name = component_name
        self.has_other_fields = has_other_fields


def one_or_many(
    row: type[serializers.Serializer], name: str, *, has_other_fields: bool = True
) -> BulkRows:
    return BulkRows(row, name, has_other_fields=has_other_fields)


class BulkRowsScheme(OpenApiSerializerExtension):
    """BulkRows in the schema: oneOf the row and a list of rows, with its length limits."""

    target_class = BulkRows

    def get_name(self, auto_schema=None, direction=None) -> str:
        return self.target.component_name

    def map_serializer(self, auto_schema, direction) -> dict:
        row = auto_schema.resolve_serializer(self.target.row, direction)
        if not self.target.has_other_fields:
            row.schema["additionalProperties"] = False
        rows = {"type": "array", "items": row.ref, "minItems": 1, "maxItems": MAX_ROWS_PER_REQUEST}
        return {"oneOf": [row.ref, rows]}


def schema_bulk_bodies_required(result, generator, request, public):
    """drf-spectacular post-processing hook: a bulk body is required (without one there is no
    row to write: a 400), which drf-spectacular cannot tell from a oneOf."""
    bulk = {
        f"#/components/schemas/{name}"
        for name, component in result.get("components", {}).get("schemas", {}).items()
        if any(
            branch.get("maxItems") == MAX_ROWS_PER_REQUEST for branch in component.get("oneOf", ())
        )
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody", {})
            schema = body.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") in bulk:
                body["required"] = True
    return result


ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error shape of the API.",
    "properties": {
        "message": {"type": "string"},
        "code": {"type": "string"},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Messages by field; nested fields by dotted path (groups.0.weight).",
        },
        "rows": {
            "type": "array",
            "description": "Bulk writes: every bad row (its index, or line in a file).",
            "items": {
                "type": "object",
                "properties": {
                    "row": {"type": "integer"},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["row", "field", "message"],
            },
        },
    },
    "required": ["message", "code", "fields"],
}
ERROR_RESPONSES = {
    "400": "Invalid input: the message, and the fields or rows at fault.",
    "401": "Not authenticated, or an invalid or revoked API key.",
    "403": "The role or the API key's scopes do not allow this.",
    "404": "No such object among those the caller may see.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "413": "The request body is larger than the API takes (API_MAX_BODY_BYTES, 16 MiB by default).",
    "415": "Unsupported media type: bodies are JSON.",
    "429": "Too many requests for this key or user; retry later.",
}
WRITE_ERROR_RESPONSES = {
    "409": "Conflicts with what is stored: a unique key already taken (the fields say which), "
    "or a draft made before its scorecard moved on.",
}
WRITE_METHODS = ("post", "put", "patch", "delete")


def schema_add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: every operation may answer with the one error
    shape, so the schema documents it once and every operation refers to it; a write may
    also meet a conflict."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            errors = ERROR_RESPONSES | (WRITE_ERROR_RESPONSES if method in WRITE_METHODS else {})
            for code, description in errors.items():
                responses.setdefault(code, {"description": description, "content": reference})
    return result


# The strings the API takes, as its serializers and form fields read them: never a NUL (DRF
# and Django refuse it; PostgreSQL cannot store it), and, where one may not be empty, not
# whitespace either (they strip a string before they check it, so "  " is as blank as "").
# Python's whitespace is spelled out: a regex's \s is not quite the same set.
NO_NUL = r"^[^\x00]*$"
PYTHON_WHITESPACE = (
    r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
NOT_BLANK = rf"^[^\x00]*[^\x00{PYTHON_WHITESPACE}][^\x00]*$"


def schema_request_strings(result, generator, request, public):
    """drf-spectacular post-processing hook: every string a request may carry (body fields at
    any depth, query and path parameters) states the two rules above, unless its format,
    enum or pattern says more already."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _string_rules(component)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                _string_rules(parameter.get("schema"))
    return result


def _string_rules(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"format", "enum", "pattern"} & set(schema):
        schema["pattern"] = NOT_BLANK if schema.get("minLength", 0) >= 1 else NO_NUL
    for nested in schema.get("properties", {}).values():
        _string_rules(nested)
    for keyword in ("items", "additionalProperties"):
        _string_rules(schema.get(keyword))
    for keyword in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(keyword, []):
            _string_rules(branch)


def schema_query_empty_values(result, generator, request, public):
    """drf-spectacular post-processing hook: an optional query parameter given empty
    (`?status=`) counts as not given, as DRF's serializers, django-filter and our pagination
    all read it; the schema says so with allowEmptyValue."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Any /api/ path that names no endpoint: a 404 in the error shape, not an HTML page."""
    from django.http import JsonResponse

    return JsonResponse(
        error_body(message="No such endpoint.", code="not_found"), status=status.HTTP_404_NOT_FOUND
    )
