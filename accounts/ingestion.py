"""Ingestion of accounts, contacts and renewal outcomes: validation, all-or-nothing writes
and their CSV imports, on the shared machinery of accounts/bulk.py and accounts/csv_files.py.

Upserts apply only the fields a row carries: a JSON object without `segment` leaves the
account's segment as it is. A blank value clears a text or date field; for fields that cannot
be empty (arr, lifecycle, status, role, is_active) a blank means "not given".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.bulk import (
    ABSENT,
    BATCH_SIZE,
    INVALID,
    NUL,
    IngestionError,
    RowError,
    RowReader,
    StrictBooleanField,
    UpsertResult,
    ValidRows,
    accounts_by_external_id,
    accounts_for,
    iso_date_field,
    model_text,
    money_field,
    slices,
    unknown_account_message,
    upsert,
)
from accounts.csv_files import CsvColumns, CsvImportResult, csv_import
from accounts.models import Account, Contact, RenewalOutcome
from accounts.services import accounts_changed_notify

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


def _account_fields() -> dict[str, forms.Field]:
    return {
        "name": model_text(Account, "name"),
        "segment": model_text(Account, "segment"),
        "tier": model_text(Account, "tier"),
        "region": model_text(Account, "region"),
        "industry": model_text(Account, "industry"),
        "lifecycle": forms.ChoiceField(required=False, choices=Account.Lifecycle.choices),
        "status": forms.ChoiceField(required=False, choices=Account.Status.choices),
        "arr": money_field(),
        "renewal_date": iso_date_field(),
    }


def _users_by_email(emails: Iterable[str]) -> dict[str, list[int]]:
    """{lowercased email: [user ids]} for the given emails, case-insensitively."""
    wanted = sorted({email.strip().lower() for email in emails if NUL not in email})
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
    external_id_field = model_text(Account, "external_id")
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
    return upsert(
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
        "name": model_text(Contact, "name"),
        "email": forms.EmailField(required=False),
        "title": model_text(Contact, "title"),
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
    external_id_field = model_text(Contact, "external_id")
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
    """Create or update the validated contacts by external_id; the result names the accounts
    whose contacts were created or changed."""
    return upsert(
        model=Contact,
        values_by_key=valid.values_by_key,
        existing_query=lambda keys: Contact.objects.filter(external_id__in=keys),
        key_of=lambda contact: contact.external_id,
        touch_updated_at=True,
        account_id_of=lambda contact: contact.account_id,
    )


def contacts_upsert(
    *, rows: Sequence[Any], user: AbstractBaseUser | None, row_numbers: Sequence[int] | None = None
) -> UpsertResult:
    """All or nothing: validate every contact row, then write them in one transaction.

    Once committed, the accounts whose contacts were created or changed are notified together
    (accounts_changed_notify: one risk evaluation over exactly those accounts, so a sponsor
    marked as left raises sponsor_left in the same response); rows that changed nothing
    notify no account."""
    valid, errors = contacts_validate(rows=rows, user=user, row_numbers=row_numbers)
    if errors:
        raise IngestionError(errors, total=len(rows))
    with transaction.atomic():
        result = contacts_write(valid=valid)
    accounts_changed_notify(account_ids=result.account_ids)
    return result


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

    return upsert(
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
