"""Ingestion of accounts, contacts and renewal outcomes, and the all-or-nothing machinery that
every bulk write shares (the API's bulk endpoints and the CSV imports alike).

A bulk write validates every row first, set-based (a few queries per batch, never one per row),
and writes nothing unless every row is valid; otherwise it raises IngestionError listing every
bad row with its number and the field at fault. Rows are numbered by the caller: the index in
a JSON list, or the line number in a CSV file.

Upserts apply only the fields a row carries: a JSON object without `segment` leaves the
account's segment as it is. A blank value clears a text or date field; for fields that cannot
be empty (arr, lifecycle, status, role, is_active) a blank means "not given".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Account, Contact, RenewalOutcome
from accounts.selectors import accounts_visible_to
from healthscore.dates import date_out_of_range_message
from healthscore.generations import generation_bump_for

MAX_ROWS_PER_REQUEST = 10_000
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
    """How many rows a bulk write created, changed, or found already as given."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(
            created=self.created + other.created,
            updated=self.updated + other.updated,
            unchanged=self.unchanged + other.unchanged,
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


def _model_text(model: type[Model], name: str) -> forms.CharField:
    return forms.CharField(required=False, max_length=model._meta.get_field(name).max_length)


def accounts_for(user: AbstractBaseUser | None):
    """The accounts a bulk write may touch: those `user` may see; every account when there is
    no user (a management command run by an operator)."""
    return Account.objects.all() if user is None else accounts_visible_to(user=user)


def accounts_by_external_id(
    *, external_ids: Iterable[str], user: AbstractBaseUser | None
) -> dict[str, int]:
    """{external_id: id} of the given accounts that `user` may see (one query per slice)."""
    wanted = sorted({value for value in external_ids if isinstance(value, str)})
    found: dict[str, int] = {}
    visible = accounts_for(user)
    for part in slices(wanted):
        found.update(visible.filter(external_id__in=part).values_list("external_id", "pk"))
    return found


def unknown_account_message(external_id: str) -> str:
    # The same words whether the account does not exist or belongs to someone else: a
    # bulk request must not reveal accounts outside the caller's role.
    return f"No account with external_id “{external_id}” that you can see."


# --- Accounts ------------------------------------------------------------------------------------

ACCOUNT_COLUMNS = (
    "external_id",
    "name",
    "segment",
    "tier",
    "region",
    "industry",
    "lifecycle",
    "arr",
    "renewal_date",
    "owner_email",
)
ACCOUNT_API_ONLY_COLUMNS = ("status",)


@dataclass
class ValidRows:
    """Rows that passed validation, ready to write: per key, the model field values to set."""

    values_by_key: dict[Any, dict[str, Any]] = field(default_factory=dict)
    total: int = 0


def _account_fields() -> dict[str, forms.Field]:
    return {
        "name": _model_text(Account, "name"),
        "segment": _model_text(Account, "segment"),
        "tier": _model_text(Account, "tier"),
        "region": _model_text(Account, "region"),
        "industry": _model_text(Account, "industry"),
        "lifecycle": forms.ChoiceField(required=False, choices=Account.Lifecycle.choices),
        "status": forms.ChoiceField(required=False, choices=Account.Status.choices),
        "arr": money_field(),
        "renewal_date": iso_date_field(),
    }


def _users_by_email(emails: Iterable[str]) -> dict[str, list[int]]:
    """{lowercased email: [user ids]} for the given emails, case-insensitively."""
    wanted = sorted({email.strip().lower() for email in emails})
    found: dict[str, list[int]] = {}
    users = get_user_model().objects.annotate(email_lower=Lower("email"))
    for part in slices(wanted):
        for pk, email in users.filter(email_lower__in=part).values_list("pk", "email_lower"):
            found.setdefault(email, []).append(pk)
    return found


def accounts_validate(
    *, rows: Sequence[Any], user: AbstractBaseUser | None, row_numbers: Sequence[int] | None = None
) -> tuple[ValidRows, list[RowError]]:
    """Check account rows (ACCOUNT_COLUMNS, plus `status` from the API) for an upsert by
    external_id. Reads only: three queries for the whole batch. Later rows with the same
    external_id win. Returns the values to write and every error found."""
    numbers = list(row_numbers) if row_numbers is not None else list(range(len(rows)))
    errors: list[RowError] = []
    form_fields = _account_fields()
    external_id_field = _model_text(Account, "external_id")
    readers = [RowReader(row, number, errors) for row, number in zip(rows, numbers, strict=True)]
    external_ids = [
        reader.clean("external_id", external_id_field, required=True) for reader in readers
    ]
    keys = [value for value in external_ids if isinstance(value, str)]
    existing: dict[str, int] = {}
    for part in slices(sorted(set(keys))):
        existing.update(
            Account.objects.filter(external_id__in=part).values_list("external_id", "pk")
        )
    visible = accounts_by_external_id(external_ids=existing, user=user)
    emails = [
        reader.row["owner_email"]
        for reader in readers
        if isinstance(reader.row.get("owner_email"), str) and reader.row["owner_email"].strip()
    ]
    users = _users_by_email(emails)

    valid = ValidRows(total=len(rows))
    for reader, external_id in zip(readers, external_ids, strict=True):
        if not reader.is_object:
            continue
        is_new = external_id not in existing
        values = {"external_id": external_id}
        for name, form_field in form_fields.items():
            values[name] = reader.clean(name, form_field, required=is_new and name == "name")
        if "owner_email" in reader.row:
            values["owner_id"] = _owner_id(reader, users)
        if external_id is INVALID or any(value is INVALID for value in values.values()):
            continue
        if external_id in existing and external_id not in visible:
            reader.error("external_id", "This account exists but is not yours to change.")
            continue
        valid.values_by_key[external_id] = {
            name: value for name, value in values.items() if value is not ABSENT
        }
    return valid, errors


def _owner_id(reader: RowReader, users: dict[str, list[int]]) -> Any:
    if reader.is_blank("owner_email"):
        return None
    value = reader.row["owner_email"]
    if not isinstance(value, str):
        reader.error("owner_email", "Enter an email address.")
        return INVALID
    matches = users.get(value.strip().lower(), [])
    if len(matches) != 1:
        problem = "No user has" if not matches else f"{len(matches)} users have"
        reader.error("owner_email", f"{problem} the email “{value.strip()}”.")
        return INVALID
    return matches[0]


def accounts_write(*, valid: ValidRows) -> UpsertResult:
    """Create or update the validated accounts by external_id (a few queries per batch)."""
    return _upsert(
        model=Account,
        values_by_key=valid.values_by_key,
        existing_query=lambda keys: Account.objects.filter(external_id__in=keys),
        key_of=lambda account: account.external_id,
        touch_updated_at=True,
    )


def accounts_upsert(
    *, rows: Sequence[Any], user: AbstractBaseUser | None, row_numbers: Sequence[int] | None = None
) -> UpsertResult:
    """All or nothing: validate every account row, then write them in one transaction."""
    valid, errors = accounts_validate(rows=rows, user=user, row_numbers=row_numbers)
    if errors:
        raise IngestionError(errors, total=len(rows))
    with transaction.atomic():
        return accounts_write(valid=valid)


# --- Contacts ------------------------------------------------------------------------------------


def _contact_fields() -> dict[str, forms.Field]:
    return {
        "name": _model_text(Contact, "name"),
        "email": forms.EmailField(required=False),
        "title": _model_text(Contact, "title"),
        "role": forms.ChoiceField(required=False, choices=Contact.Role.choices),
        "is_active": StrictBooleanField(required=False),
        "left_on": iso_date_field(),
    }


def contacts_validate(
    *, rows: Sequence[Any], user: AbstractBaseUser | None, row_numbers: Sequence[int] | None = None
) -> tuple[ValidRows, list[RowError]]:
    """Check contact rows (external_id, account = the account's external_id, name, email,
    title, role, is_active, left_on) for an upsert by the contact's external_id. The account
    must be one the user may see. A contact who left has the date they left: a row setting
    `left_on` alone marks the contact as left."""
    numbers = list(row_numbers) if row_numbers is not None else list(range(len(rows)))
    errors: list[RowError] = []
    form_fields = _contact_fields()
    external_id_field = _model_text(Contact, "external_id")
    readers = [RowReader(row, number, errors) for row, number in zip(rows, numbers, strict=True)]
    external_ids = [
        reader.clean("external_id", external_id_field, required=True) for reader in readers
    ]
    existing: dict[str, Contact] = {}
    for part in slices(sorted({value for value in external_ids if isinstance(value, str)})):
        existing.update(
            (contact.external_id, contact)
            for contact in Contact.objects.filter(external_id__in=part).only(
                "external_id", "account_id", "is_active", "left_on"
            )
        )
    account_ids = accounts_by_external_id(
        external_ids=[reader.row.get("account") for reader in readers], user=user
    )
    visible_account_ids = set(account_ids.values())
    if existing:
        seen = accounts_for(user).filter(
            pk__in={contact.account_id for contact in existing.values()}
        )
        visible_account_ids |= set(seen.values_list("pk", flat=True))

    valid = ValidRows(total=len(rows))
    for reader, external_id in zip(readers, external_ids, strict=True):
        if not reader.is_object:
            continue
        current = existing.get(external_id) if isinstance(external_id, str) else None
        values = {"external_id": external_id}
        for name, form_field in form_fields.items():
            values[name] = reader.clean(
                name, form_field, required=current is None and name == "name"
            )
        values["account_id"] = _contact_account(reader, account_ids, required=current is None)
        if current is not None and current.account_id not in visible_account_ids:
            reader.error("external_id", "This contact exists but is not yours to change.")
            continue
        if any(value is INVALID for value in values.values()):
            continue
        before = len(errors)
        _contact_left_rule(reader, values, current)
        if len(errors) == before:
            valid.values_by_key[external_id] = {
                name: value for name, value in values.items() if value is not ABSENT
            }
    return valid, errors


def _contact_account(reader: RowReader, account_ids: dict[str, int], *, required: bool) -> Any:
    if reader.is_blank("account"):
        if required or "account" in reader.row:
            reader.error("account", "This field is required.")
            return INVALID
        return ABSENT
    value = reader.row["account"]
    if not isinstance(value, str) or value not in account_ids:
        reader.error("account", unknown_account_message(str(value)))
        return INVALID
    return account_ids[value]


def _contact_left_rule(reader: RowReader, values: dict[str, Any], current: Contact | None) -> None:
    """Contact's rule: active with no left_on, or left with the date. Fills `is_active`
    from `left_on` when the row sets only the date; records an error on a contradiction."""
    is_active = values["is_active"]
    left_on = values["left_on"]
    if is_active is ABSENT or is_active is None:
        if left_on is ABSENT:
            values["is_active"] = ABSENT
            return
        values["is_active"] = left_on is None
        is_active = values["is_active"]
    if left_on is ABSENT:
        left_on = current.left_on if current is not None and not is_active else None
        values["left_on"] = left_on
    if is_active and left_on is not None:
        reader.error("left_on", "An active contact has no left_on date; clear it.")
    if not is_active and left_on is None:
        reader.error("left_on", "A contact who left needs the date they left (left_on).")


def contacts_write(*, valid: ValidRows) -> UpsertResult:
    return _upsert(
        model=Contact,
        values_by_key=valid.values_by_key,
        existing_query=lambda keys: Contact.objects.filter(external_id__in=keys),
        key_of=lambda contact: contact.external_id,
        touch_updated_at=True,
    )


def contacts_upsert(
    *, rows: Sequence[Any], user: AbstractBaseUser | None, row_numbers: Sequence[int] | None = None
) -> UpsertResult:
    """All or nothing: validate every contact row, then write them in one transaction."""
    valid, errors = contacts_validate(rows=rows, user=user, row_numbers=row_numbers)
    if errors:
        raise IngestionError(errors, total=len(rows))
    with transaction.atomic():
        return contacts_write(valid=valid)


# --- Renewal outcomes ----------------------------------------------------------------------------

RENEWAL_OUTCOME_COLUMNS = ("account", "renewal_date", "outcome", "arr_before", "arr_after")


def renewal_outcomes_validate(
    *, rows: Sequence[Any], user: AbstractBaseUser | None, row_numbers: Sequence[int] | None = None
) -> tuple[ValidRows, list[RowError]]:
    """Check renewal outcome rows (RENEWAL_OUTCOME_COLUMNS, all required) for an upsert by
    (account, renewal_date); the account must be one the user may see, and the row must be
    believable (_renewal_outcome_rules). One query."""
    today = timezone.localdate()
    numbers = list(row_numbers) if row_numbers is not None else list(range(len(rows)))
    errors: list[RowError] = []
    readers = [RowReader(row, number, errors) for row, number in zip(rows, numbers, strict=True)]
    account_ids = accounts_by_external_id(
        external_ids=[reader.row.get("account") for reader in readers], user=user
    )
    form_fields = {
        "renewal_date": iso_date_field(),
        "outcome": forms.ChoiceField(required=False, choices=RenewalOutcome.Outcome.choices),
        "arr_before": money_field(),
        "arr_after": money_field(),
    }
    valid = ValidRows(total=len(rows))
    for reader in readers:
        if not reader.is_object:
            continue
        values = {"account_id": _contact_account(reader, account_ids, required=True)}
        for name, form_field in form_fields.items():
            values[name] = reader.clean(name, form_field, required=True)
        if any(value is INVALID for value in values.values()):
            continue
        before = len(errors)
        _renewal_outcome_rules(reader, values, today=today)
        if len(errors) == before:
            valid.values_by_key[(values["account_id"], values["renewal_date"])] = values
    return valid, errors


# How far ahead an outcome may be dated: a renewal signed early is recorded before its date,
# but not years before.
RENEWAL_OUTCOME_MAX_DAYS_AHEAD = 365


def _renewal_outcome_rules(reader: RowReader, values: dict[str, Any], *, today: date) -> None:
    """What a renewal outcome must say to be believed: dated at most a year ahead, and ARR
    after that matches the outcome (churned: 0; downgraded: less than before but not 0;
    expanded: more than before; renewed: not 0)."""
    latest = today + timedelta(days=RENEWAL_OUTCOME_MAX_DAYS_AHEAD)
    if values["renewal_date"] > latest:
        reader.error(
            "renewal_date",
            f"{values['renewal_date'].isoformat()} is more than "
            f"{RENEWAL_OUTCOME_MAX_DAYS_AHEAD} days ahead (latest {latest.isoformat()}); "
            "record an outcome once the renewal is decided.",
        )
    before, after = values["arr_before"], values["arr_after"]
    outcome = values["outcome"]
    Outcome = RenewalOutcome.Outcome
    problem = {
        Outcome.CHURNED: "a churned account's arr_after is 0" if after != 0 else None,
        Outcome.DOWNGRADED: (
            "a downgrade's arr_after is more than 0 and less than arr_before"
            if not 0 < after < before
            else None
        ),
        Outcome.EXPANDED: "an expansion's arr_after is more than arr_before"
        if after <= before
        else None,
        Outcome.RENEWED: "a renewed account's arr_after is more than 0" if after == 0 else None,
    }.get(outcome)
    if problem:
        reader.error("arr_after", f"{problem[0].upper()}{problem[1:]} (given {after}).")


def renewal_outcomes_write(*, valid: ValidRows) -> UpsertResult:
    keys = list(valid.values_by_key)

    def existing_query(part: Sequence[tuple[int, date]]):
        return RenewalOutcome.objects.filter(
            account_id__in={account_id for account_id, _ in part},
            renewal_date__in={renewal_date for _, renewal_date in part},
        )

    return _upsert(
        model=RenewalOutcome,
        values_by_key={key: valid.values_by_key[key] for key in keys},
        existing_query=existing_query,
        key_of=lambda outcome: (outcome.account_id, outcome.renewal_date),
        touch_updated_at=False,
    )


def renewal_outcomes_upsert(
    *, rows: Sequence[Any], user: AbstractBaseUser | None, row_numbers: Sequence[int] | None = None
) -> UpsertResult:
    """All or nothing: validate every renewal outcome row, then write them in one transaction."""
    valid, errors = renewal_outcomes_validate(rows=rows, user=user, row_numbers=row_numbers)
    if errors:
        raise IngestionError(errors, total=len(rows))
    with transaction.atomic():
        return renewal_outcomes_write(valid=valid)


# --- Writing -------------------------------------------------------------------------------------


def _upsert(
    *,
    model: type[Model],
    values_by_key: dict[Any, dict[str, Any]],
    existing_query: Callable[[Sequence[Any]], Any],
    key_of: Callable[[Any], Any],
    touch_updated_at: bool,
) -> UpsertResult:
    """Create the rows whose key is new; update those whose given values differ; leave the
    rest alone, so that sending the same rows twice writes nothing the second time."""
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
            continue
        changes = {
            name: value for name, value in values.items() if _differs(getattr(row, name), value)
        }
        if not changes:
            result.unchanged += 1
            continue
        for name, value in changes.items():
            setattr(row, name, value)
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


# --- CSV files -----------------------------------------------------------------------------------

Validate = Callable[..., tuple[ValidRows | Any, list[RowError]]]
Write = Callable[..., UpsertResult]


@dataclass
class CsvColumns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


def csv_batches(
    path: str | Path,
    *,
    columns: CsvColumns,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[list[int], list[dict[str, str]]]]:
    """Stream a CSV file as batches of (line numbers, rows as dicts), never holding more
    than one batch. `progress(bytes_read)` is called as the file is read.

    The header must name every required column and nothing unknown, else IngestionError
    (line 1). A line with more fields than the header is reported as a row error on the
    field `line`; fewer fields leave the missing ones blank. A file the reader cannot take
    (text that is not UTF-8, a line longer than CSV_MAX_LINE_BYTES, a field longer than the
    csv module's limit, a NUL byte) stops the reading with an IngestionError naming the line:
    memory stays bounded by one line, and nothing has been written then.
    """
    with open(path, "rb") as handle:
        lines = _decoded_lines(handle, progress)
        reader = csv.reader(lines)
        header = [name.strip() for name in _csv_next(reader, default=[])]
        _check_header(header, columns)
        numbers: list[int] = []
        rows: list[dict[str, str]] = []
        while (fields := _csv_next(reader, default=None)) is not None:
            if not any(value.strip() for value in fields):
                continue  # blank lines, e.g. at the end of the file
            if len(fields) > len(header):
                row: dict[str, Any] = {"__too_many_fields__": len(fields)}
            else:
                row = dict(zip(header, fields, strict=False))
            numbers.append(reader.line_num)
            rows.append(row)
            if len(rows) >= batch_size:
                yield numbers, rows
                numbers, rows = [], []
        if rows:
            yield numbers, rows


# A line longer than this is refused (with its number) rather than read into memory.
CSV_MAX_LINE_BYTES = 1024 * 1024


def _csv_next(reader, *, default):
    """The reader's next record, or `default` at the end; the csv module's own errors (a
    field over its size limit, a NUL byte) become an IngestionError naming the line."""
    try:
        return next(reader, default)
    except csv.Error as problem:
        line = reader.line_num
        reason = str(problem)
        if "field larger than field limit" in reason:
            reason = f"a field is longer than {csv.field_size_limit():,} characters"
        raise _file_error(line, f"Line {line} cannot be read as CSV: {reason}.") from None


def _file_error(line: int, message: str) -> IngestionError:
    return IngestionError(
        [RowError(line, "line", message)], message=f"{message} Nothing was written."
    )


def _decoded_lines(handle: io.BufferedReader, progress: Callable[[int], None] | None):
    """The file's lines as text, each read with a bounded readline: a line longer than
    CSV_MAX_LINE_BYTES, or one that is not UTF-8, stops the import with its line number."""
    number = 0
    while raw := handle.readline(CSV_MAX_LINE_BYTES + 1):
        number += 1
        if progress is not None:
            progress(len(raw))
        if len(raw) > CSV_MAX_LINE_BYTES:
            raise _file_error(number, f"Line {number} is longer than {CSV_MAX_LINE_BYTES:,} bytes.")
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as problem:
            raise _file_error(
                number,
                f"Line {number} is not UTF-8 text (byte 0x{raw[problem.start]:02x} at "
                f"position {problem.start + 1}); save the file as UTF-8.",
            ) from None
        yield line


def _check_header(header: list[str], columns: CsvColumns) -> None:
    errors = [
        RowError(1, name, f"The header has no “{name}” column.")
        for name in columns.required
        if name not in header
    ]
    known = set(columns.required) | set(columns.optional)
    errors += [
        RowError(1, name, f"Unknown column “{name}”; expected {', '.join(sorted(known))}.")
        for name in header
        if name not in known
    ]
    if errors:
        raise IngestionError(errors, message="The file's header is wrong; nothing was written.")


def _split_bad_lines(
    numbers: list[int], rows: list[dict[str, Any]]
) -> tuple[list[int], list[dict[str, Any]], list[RowError]]:
    errors, good_numbers, good_rows = [], [], []
    for number, row in zip(numbers, rows, strict=True):
        if "__too_many_fields__" in row:
            errors.append(
                RowError(number, "line", f"{row['__too_many_fields__']} fields; too many.")
            )
        else:
            good_numbers.append(number)
            good_rows.append(row)
    return good_numbers, good_rows, errors


@dataclass
class CsvImportResult:
    rows: int
    result: UpsertResult


def csv_import(
    path: str | Path,
    *,
    columns: CsvColumns,
    validate: Validate,
    write: Write,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> CsvImportResult:
    """Import a CSV file all or nothing, in two streaming passes.

    Pass 1 validates every batch and writes nothing; any error → IngestionError naming every
    bad line (up to MAX_ERRORS_KEPT). Pass 2 validates each batch again and writes it, all in
    one transaction, so a row that turned bad between the passes (an account deleted
    meanwhile) rolls back everything. `validate(rows=…, row_numbers=…)` returns
    (valid, errors); `write(valid=…)` returns an UpsertResult. `progress(phase, total_bytes)`
    returns a callback taking bytes read.
    """
    size = Path(path).stat().st_size
    errors: list[RowError] = []
    errors_total = 0
    row_count = 0
    tick = progress("Checking", size) if progress else None
    for numbers, rows in csv_batches(path, columns=columns, batch_size=batch_size, progress=tick):
        row_count += len(rows)
        numbers, rows, batch_errors = _split_bad_lines(numbers, rows)
        _, found = validate(rows=rows, row_numbers=numbers)
        batch_errors = sorted(batch_errors + found, key=lambda error: error.row)
        errors_total += len(batch_errors)
        errors.extend(batch_errors[: max(0, MAX_ERRORS_KEPT - len(errors))])
    if errors_total:
        raise IngestionError(errors, total=row_count, errors_total=errors_total)

    result = UpsertResult()
    tick = progress("Writing", size) if progress else None
    with transaction.atomic():
        for numbers, rows in csv_batches(
            path, columns=columns, batch_size=batch_size, progress=tick
        ):
            valid, found = validate(rows=rows, row_numbers=numbers)
            if found:
                raise IngestionError(
                    found,
                    message="The data changed while importing; nothing was written. "
                    "Run the import again.",
                )
            result = result + write(valid=valid)
    return CsvImportResult(rows=row_count, result=result)


def accounts_import_csv(
    path: str | Path,
    *,
    user: AbstractBaseUser | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> CsvImportResult:
    """Import accounts from a CSV file (ACCOUNT_COLUMNS; external_id and name required),
    upserting by external_id, all or nothing."""

    def validate(*, rows, row_numbers):
        return accounts_validate(rows=rows, user=user, row_numbers=row_numbers)

    return csv_import(
        path,
        columns=CsvColumns(required=("external_id", "name"), optional=ACCOUNT_COLUMNS[2:]),
        validate=validate,
        write=accounts_write,
        batch_size=batch_size,
        progress=progress,
    )


def renewal_outcomes_import_csv(
    path: str | Path,
    *,
    user: AbstractBaseUser | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> CsvImportResult:
    """Import renewal outcomes from a CSV file (RENEWAL_OUTCOME_COLUMNS, all required),
    upserting by (account, renewal_date), all or nothing."""

    def validate(*, rows, row_numbers):
        return renewal_outcomes_validate(rows=rows, user=user, row_numbers=row_numbers)

    return csv_import(
        path,
        columns=CsvColumns(required=RENEWAL_OUTCOME_COLUMNS),
        validate=validate,
        write=renewal_outcomes_write,
        batch_size=batch_size,
        progress=progress,
    )
