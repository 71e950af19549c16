"""The all-or-nothing machinery every bulk write shares (the API's bulk endpoints and the CSV
imports alike): row errors and results, size limits, reading one row's fields, account
lookups, and the upsert that applies only the fields a row carries.

A bulk write validates every row first, set-based (a few queries per batch, never one per row),
and writes nothing unless every row is valid; otherwise it raises IngestionError listing every
bad row with its number and the field at fault. Rows are numbered by the caller: the index in
a JSON list, or the line number in a CSV file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Model
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.models import Account
from accounts.selectors import accounts_visible_to
from healthscore.dates import date_out_of_range_message
from healthscore.generations import generation_bump_for

MAX_ROWS_PER_REQUEST = 10_000
NUL = "\x00"  # no text column holds it: PostgreSQL refuses it
BATCH_SIZE = 5_000
# Past this many, further errors are counted but not kept (a file that is wrong on every one
# of a million lines would otherwise hold a million messages).
MAX_ERRORS_KEPT = 100_000
# SQLite caps the number of parameters in one query; IN lists are sent in slices of this size.
IN_SLICE = 900


# --- Errors and results ------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem with one row: its number (index or line), the field at fault, why."""

    row: int
    field: str
    message: str


class IngestionError(Exception):
    """Raised when any row is invalid; nothing has been written."""

    code = "invalid_rows"

    def __init__(
        self,
        rows: list[RowError],
        *,
        total: int | None = None,
        errors_total: int | None = None,
        message: str | None = None,
    ) -> None:
        self.rows = sorted(rows, key=lambda error: error.row)  # stable: fields keep their order
        bad = len({error.row for error in rows})
        if message is None:
            count = f"{bad} of {total} rows are" if total is not None else f"{bad} rows are"
            if bad == 1:
                count = f"1 of {total} rows is" if total is not None else "1 row is"
            message = f"{count} invalid; nothing was written."
            if errors_total is not None and errors_total > len(rows):
                message += f" {errors_total} errors in all; the first {len(rows)} are listed."
        self.message = message
        super().__init__(message)

    def rows_as_dicts(self) -> list[dict[str, Any]]:
        return [{"row": e.row, "field": e.field, "message": e.message} for e in self.rows]


@dataclass
class UpsertResult:
    """How many rows a bulk write created, changed, or found already as given, and (for the
    rows that belong to an account) the accounts whose rows were created or changed: what a
    caller re-evaluates afterwards. The accounts are not part of the API's answer."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    account_ids: set[int] = field(default_factory=set, compare=False, repr=False)

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(
            created=self.created + other.created,
            updated=self.updated + other.updated,
            unchanged=self.unchanged + other.unchanged,
            account_ids=self.account_ids | other.account_ids,
        )

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def rows_check_size(rows: Sequence[Any], *, limit: int = MAX_ROWS_PER_REQUEST) -> None:
    """A bulk request holds 1 to `limit` rows."""
    if not rows:
        raise IngestionError([], message="Send at least one row.")
    if len(rows) > limit:
        raise IngestionError(
            [], message=f"At most {limit} rows per request; this one has {len(rows)}."
        )


def slices(values: Sequence[Any], size: int = IN_SLICE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass
class ValidRows:
    """Rows that passed validation, ready to write: per key, the model field values to set."""

    values_by_key: dict[Any, dict[str, Any]] = field(default_factory=dict)
    total: int = 0


# --- Reading one row's fields ------------------------------------------------------------------

INVALID = object()  # a field that had an error; the row will not be written
ABSENT = object()  # a field the row does not carry


class RowReader:
    """Cleans the fields of one row with Django form fields, recording an error per bad field.

    Works the same on JSON values and on CSV strings (form fields take both)."""

    def __init__(self, row: Any, number: int, errors: list[RowError]) -> None:
        self.number = number
        self.errors = errors
        self.is_object = isinstance(row, Mapping)
        self.row: Mapping = row if self.is_object else {}
        if not self.is_object:
            self.error("", "Each row must be an object.")

    def error(self, field_name: str, message: str) -> None:
        self.errors.append(RowError(self.number, field_name, message))

    def is_blank(self, field_name: str) -> bool:
        value = self.row.get(field_name)
        return value is None or (isinstance(value, str) and not value.strip())

    def clean(self, field_name: str, form_field: forms.Field, *, required: bool = False) -> Any:
        """The cleaned value; ABSENT when the row does not carry the field (or, for a field
        that may not be empty, carries a blank); INVALID after recording an error."""
        if field_name not in self.row:
            if required:
                self.error(field_name, "This field is required.")
                return INVALID
            return ABSENT
        if self.is_blank(field_name) and (required or not _may_be_blank(form_field)):
            if required:
                self.error(field_name, "This field is required.")
                return INVALID
            return ABSENT
        value = self.row[field_name]
        if isinstance(value, list | dict):
            self.error(field_name, "Give a single value, not a list or an object.")
            return INVALID
        if isinstance(value, bool) and not isinstance(form_field, StrictBooleanField):
            self.error(field_name, "Give text or a number, not true or false.")
            return INVALID
        try:
            return form_field.clean(self.row[field_name])
        except ValidationError as problem:
            self.error(field_name, " ".join(problem.messages))
            return INVALID


class StrictBooleanField(forms.Field):
    """true/false, 1/0, yes/no (any case) or a JSON boolean; anything else is an error."""

    TRUE = {"true", "1", "yes"}
    FALSE = {"false", "0", "no"}

    def to_python(self, value: Any) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValidationError(f"Enter true or false, not “{value}”.")


def _may_be_blank(form_field: forms.Field) -> bool:
    return isinstance(form_field, forms.CharField | forms.DateField | forms.EmailField)


class IsoDateField(forms.DateField):
    """A date as YYYY-MM-DD text; a number or a boolean is an error, not a crash."""

    def to_python(self, value: Any) -> date | None:
        if value is not None and not isinstance(value, str | date):
            raise ValidationError(f"Enter a date as YYYY-MM-DD, not {value!r}.")
        return super().to_python(value)

    def validate(self, value: date | None) -> None:
        super().validate(value)
        problem = date_out_of_range_message(value) if value is not None else None
        if problem:
            raise ValidationError(problem)


def iso_date_field() -> forms.DateField:
    return IsoDateField(required=False, input_formats=["%Y-%m-%d"])


def money_field() -> forms.DecimalField:
    return forms.DecimalField(required=False, max_digits=14, decimal_places=2, min_value=0)


def model_text(model: type[Model], name: str) -> forms.CharField:
    return forms.CharField(required=False, max_length=model._meta.get_field(name).max_length)


def accounts_for(user: AbstractBaseUser | None):
    """The accounts a bulk write may touch: those `user` may see; every account when there is
    no user (a management command run by an operator)."""
    return Account.objects.all() if user is None else accounts_visible_to(user=user)


def accounts_by_external_id(
    *, external_ids: Iterable[Any], user: AbstractBaseUser | None
) -> dict[str, int]:
    """{external_id: id} of the given accounts that `user` may see, in one query however many
    are asked for. A blank or a value that is not text names no account."""
    wanted = list(
        {
            value
            for value in external_ids
            # A NUL matches no external_id, and PostgreSQL refuses it in a query: left out.
            if isinstance(value, str) and value.strip() and NUL not in value
        }
    )
    if not wanted:
        return {}
    # The ids go as one JSON text parameter rather than as thousands of IN parameters, which
    # Django compiles and the driver quotes one by one (and SQLite caps at 999), and without
    # the sort by name of Account.Meta: 5,000 ids took 13-23 ms rather than 69-110 ms (CPU
    # 6 ms rather than 23-33) on the shared 2-core machine.
    found = (
        accounts_for(user)
        .order_by()
        .filter(external_id__in=_json_array_elements(wanted))
        .values_list("external_id", "pk")
    )
    return dict(found)


def _json_array_elements(values: list[str]) -> RawSQL:
    """A subquery yielding the given strings, sent as one JSON array."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT json_array_elements_text(%s::json)", [orjson.dumps(values).decode()])
    return RawSQL("SELECT value FROM json_each(%s)", [orjson.dumps(values).decode()])


def unknown_account_message(external_id: str) -> str:
    # The same words whether the account does not exist or belongs to someone else: a
    # bulk request must not reveal accounts outside the caller's role.
    return f"No account with external_id “{external_id}” that you can see."


# --- Writing -------------------------------------------------------------------------------------


def upsert(
    *,
    model: type[Model],
    values_by_key: dict[Any, dict[str, Any]],
    existing_query: Callable[[Sequence[Any]], Any],
    key_of: Callable[[Any], Any],
    touch_updated_at: bool,
    account_id_of: Callable[[Any], int] | None = None,
) -> UpsertResult:
    """Create the rows whose key is new; update those whose given values differ; leave the
    rest alone, so that sending the same rows twice writes nothing the second time.

    With `account_id_of` (a row → its account's id), the result's `account_ids` are the
    accounts of the rows created or changed; a row moved to another account counts for both,
    since the one it left changed too. Unchanged rows touch no account."""
    keys = list(values_by_key)
    existing = {}
    for part in slices(keys):
        existing.update((key_of(row), row) for row in existing_query(part))
    now = timezone.now()
    to_create, to_update, changed_fields = [], [], set()
    result = UpsertResult()
    for key, values in values_by_key.items():
        row = existing.get(key)
        if row is None:
            to_create.append(model(**values))
            if account_id_of is not None:
                result.account_ids.add(account_id_of(to_create[-1]))
            continue
        changes = {
            name: value for name, value in values.items() if _differs(getattr(row, name), value)
        }
        if not changes:
            result.unchanged += 1
            continue
        if account_id_of is not None:
            result.account_ids.add(account_id_of(row))  # before the change: the one it may leave
        for name, value in changes.items():
            setattr(row, name, value)
        if account_id_of is not None:
            result.account_ids.add(account_id_of(row))
        if touch_updated_at:
            row.updated_at = now
        changed_fields |= set(changes)
        to_update.append(row)
    if to_create:
        model.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        fields = sorted(changed_fields | ({"updated_at"} if touch_updated_at else set()))
        model.objects.bulk_update(to_update, fields, batch_size=1000)
    if to_create or to_update:
        generation_bump_for(model)  # bulk writes send no signal
    result.created = len(to_create)
    result.updated = len(to_update)
    return result


def _differs(current: Any, new: Any) -> bool:
    if isinstance(current, Decimal) and new is not None:
        return current != Decimal(new)
    return current != new
