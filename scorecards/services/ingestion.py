"""What comes in from outside: measure values, and scorecards as whole JSON documents.

The one way measure values come in: the API (`POST /api/v1/measure-values/`) and the CSV
import (`manage.py import_measure_values`) both call it, so both check the same things and
both write all or nothing.

A row is ``{"account": external_id, "measure": key, "raw_value": number, "as_of": "YYYY-MM-DD",
"source": one of ValueSource, "comment": optional}``. It is valid when the account exists and
the caller may see it, the measure exists (and its mapping can score), raw_value is a finite
number, as_of is a date not after today nor before 1900 (healthscore.dates), and source is a
known source. Each value's 0–100 score is computed from the raw value with the measure's own
mapping (rule 1).

Idempotent on (account, measure, as_of, source): the same rows sent twice leave the second
time untouched; a changed raw value or comment updates the one value. Within one batch, a later
row with the same key wins. Checked and written set-based: per batch, one query for the
accounts, one for the measures, a few for the values already there, then one bulk upsert.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.bulk import (
    BATCH_SIZE,
    IngestionError,
    RowError,
    UpsertResult,
    accounts_by_external_id,
    slices,
    unknown_account_message,
)
from accounts.csv_files import CsvColumns, CsvImportResult, csv_import
from healthscore.dates import date_out_of_range_message
from healthscore.generations import generation_bump_for
from metrics.selectors import metric_keys_declared
from scorecards import engine
from scorecards.choices import ValueSource
from scorecards.documents import document_bands_with_tiers
from scorecards.models import (
    Band,
    ExceptionRule,
    Measure,
    MeasureGroup,
    MeasureValue,
    Scorecard,
    ScorecardMeasure,
)
from scorecards.services.copy_in import frame_copy_to_temp_table
from scorecards.services.versions import (
    scorecard_version_create,
    scorecard_versions_create_for_measure,
)
from scorecards.validation import (
    band_tiers_validate,
    bands_validate,
    exception_validate_by_field,
    mapping_validate_by_field,
    measure_source_normalize,
    measure_source_validate_by_field,
    weight_validate,
)

MEASURE_VALUE_COLUMNS = CsvColumns(
    required=("account", "measure", "raw_value", "as_of"), optional=("source", "comment")
)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
UNIQUE_FIELDS = ["account", "measure", "as_of", "source"]

Key = tuple[int, int, date, str]  # account_id, measure_id, as_of, source


@dataclass
class ValidMeasureValues:
    """Checked rows ready to write: per idempotency key, (raw_value, score, comment)."""

    values: dict[Key, tuple[float, Decimal, str]] = field(default_factory=dict)


def measure_values_validate(
    *,
    rows: Sequence[Any],
    user: AbstractBaseUser | None,
    today: date,
    default_source: str = ValueSource.API,
    row_numbers: Sequence[int] | None = None,
) -> tuple[ValidMeasureValues, list[RowError]]:
    """Check every row and score the valid ones; writes nothing.

    `user` None means every account (a management command); otherwise only the accounts the
    user may see are known. `row_numbers` names the rows in errors (default: list indexes).
    Returns the rows to write and every error, one per bad field.
    """
    numbers = list(row_numbers) if row_numbers is not None else list(range(len(rows)))
    errors: list[RowError] = []
    objects = [row if isinstance(row, dict) else None for row in rows]
    account_ids = accounts_by_external_id(
        external_ids=[row.get("account") for row in objects if row is not None], user=user
    )
    measures = {measure.key: measure for measure in Measure.objects.all()}

    # (number, account_id, measure, as_of, source, raw, comment) of the rows with no error.
    checked: list[tuple[int, int, Measure, date, str, float, str]] = []
    for number, row in zip(numbers, objects, strict=True):
        if row is None:
            errors.append(RowError(number, "", "Each row must be an object."))
            continue
        before = len(errors)

        def error(field_name: str, message: str, number: int = number) -> None:
            errors.append(RowError(number, field_name, message))

        account = row.get("account")
        if _is_blank(account):
            error("account", "This field is required.")
        elif not isinstance(account, str) or account not in account_ids:
            error("account", unknown_account_message(str(account)))
        key = row.get("measure")
        if _is_blank(key):
            error("measure", "This field is required.")
        elif not isinstance(key, str) or key not in measures:
            error("measure", f"No measure with key “{key}”.")
        elif measures[key].is_derived:
            error(
                "measure",
                f"Measure “{key}” is derived from metrics: its values are computed, not pushed. "
                "Push the metric values instead.",
            )
        raw = _raw_value(row.get("raw_value"), error)
        if raw is not None and isinstance(key, str) and key in RAW_VALUE_SCALES:
            raw = _raw_on_scale(key, raw, error)
        as_of = _as_of(row.get("as_of"), today, error)
        source = row.get("source")
        if _is_blank(source):
            source = default_source
        elif source not in ValueSource.values:
            error(
                "source", f"Unknown source “{source}”; use one of {', '.join(ValueSource.values)}."
            )
        comment = row.get("comment")
        if _is_blank(comment):
            comment = ""
        elif not isinstance(comment, str):
            error("comment", "The comment must be text.")
        elif len(comment) > MeasureValue.COMMENT_MAX_LENGTH:
            error(
                "comment",
                f"At most {MeasureValue.COMMENT_MAX_LENGTH:,} characters; this comment has "
                f"{len(comment):,}.",
            )
        if len(errors) == before:
            checked.append(
                (number, account_ids[account], measures[key], as_of, source, raw, comment)
            )

    valid = ValidMeasureValues()
    scores = _scores(checked, errors)
    for (_number, account_id, measure, as_of, source, raw, comment), score in zip(
        checked, scores, strict=True
    ):
        if score is not None:
            valid.values[(account_id, measure.pk, as_of, source)] = (raw, score, comment)
    return valid, errors


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _raw_value(value: Any, error: Callable[[str, str], None]) -> float | None:
    if _is_blank(value):
        error("raw_value", "This field is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        error("raw_value", "raw_value must be a number.")
        return None
    try:
        number = float(value)
    except ValueError:
        error("raw_value", f"raw_value must be a number, not “{value}”.")
        return None
    if not math.isfinite(number):
        error("raw_value", "raw_value must be a finite number.")
        return None
    return number


# Measures whose raw value is a fixed scale: a value off the scale is a typing mistake (a 9
# for a 1–5 sentiment), not a very good score. Other measures' raw values are clamped by
# their mapping (rule 1).
RAW_VALUE_SCALES: dict[str, tuple[int, int]] = {
    "csm_sentiment": (1, 5),  # the CSM's 1–5 sentiment, as the account page records it
    "nps": (-100, 100),  # Net Promoter Score
}


def _raw_on_scale(key: str, raw: float, error: Callable[[str, str], None]) -> float | None:
    low, high = RAW_VALUE_SCALES[key]
    if raw.is_integer() and low <= raw <= high:
        return raw
    error("raw_value", f"{key} is a whole number from {low} to {high}, not {raw:g}.")
    return None


def _as_of(value: Any, today: date, error: Callable[[str, str], None]) -> date | None:
    if _is_blank(value):
        error("as_of", "This field is required.")
        return None
    text = value.strip() if isinstance(value, str) else None
    try:
        as_of = date.fromisoformat(text) if text and ISO_DATE.fullmatch(text) else None
    except ValueError:
        as_of = None
    if as_of is None:
        error("as_of", f"as_of must be a date as YYYY-MM-DD, not “{value}”.")
        return None
    if as_of > today:
        error("as_of", f"as_of {as_of.isoformat()} is in the future (today is {today}).")
        return None
    problem = date_out_of_range_message(as_of)
    if problem:
        error("as_of", problem)
        return None
    return as_of


def _scores(
    checked: list[tuple[int, int, Measure, date, str, float, str]], errors: list[RowError]
) -> list[Decimal | None]:
    """Rule 1 for every checked row: one vectorised mapping per measure, rounded half up to
    two decimals as scores are stored. None (and an error) where the mapping cannot score."""
    scores: list[Decimal | None] = [None] * len(checked)
    positions_by_measure: dict[int, list[int]] = {}
    for position, row in enumerate(checked):
        positions_by_measure.setdefault(row[2].pk, []).append(position)
    for positions in positions_by_measure.values():
        measure = checked[positions[0]][2]
        raw = pd.Series([checked[position][5] for position in positions], dtype=float)
        try:
            mapped = engine.measure_scores_from_raw(
                raw,
                measure.mapping_type,
                lo=measure.lo,
                hi=measure.hi,
                higher_is_better=measure.higher_is_better,
                steps=measure.steps,
            )
        except ValueError as problem:
            errors.extend(
                RowError(
                    checked[p][0], "measure", f"Measure “{measure.key}” cannot score: {problem}."
                )
                for p in positions
            )
            continue
        for position, score in zip(positions, engine.round_half_up(mapped), strict=True):
            scores[position] = Decimal(f"{score:.2f}")
    return scores


def measure_values_write(
    *, valid: ValidMeasureValues, user: AbstractBaseUser | None
) -> UpsertResult:
    """Upsert the checked values on their idempotency key, skipping those already stored as
    given, so that a retried request writes nothing. Call inside a transaction."""
    existing = _existing_values(list(valid.values))
    result = UpsertResult()
    to_write = []
    for key, (raw, score, comment) in valid.values.items():
        stored = existing.get(key)
        if stored == (raw, score, comment):
            result.unchanged += 1
            continue
        if stored is None:
            result.created += 1
        else:
            result.updated += 1
        account_id, measure_id, as_of, source = key
        to_write.append(
            MeasureValue(
                account_id=account_id,
                measure_id=measure_id,
                as_of=as_of,
                source=source,
                raw_value=raw,
                score=score,
                comment=comment,
                entered_by=user,
            )
        )
    if to_write and connection.vendor == "postgresql":
        _values_upsert_postgresql(to_write)
    elif to_write:
        # One INSERT … ON CONFLICT DO UPDATE per 1,000 rows; a value written meanwhile by
        # someone else is updated rather than failing the batch.
        MeasureValue.objects.bulk_create(
            to_write,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=UNIQUE_FIELDS,
            update_fields=["raw_value", "score", "comment", "entered_by"],
        )
    if to_write:
        generation_bump_for(MeasureValue)
    return result


def _values_upsert_postgresql(values: list[MeasureValue]) -> None:
    """The same upsert as bulk_create(update_conflicts=True), as one statement over arrays:
    10,000 values are one round trip with eight parameters rather than 90,000."""
    columns = {
        "account_id": ("bigint", [value.account_id for value in values]),
        "measure_id": ("bigint", [value.measure_id for value in values]),
        "as_of": ("date", [value.as_of for value in values]),
        "source": ("text", [value.source for value in values]),
        "raw_value": ("float8", [value.raw_value for value in values]),
        "score": ("numeric", [value.score for value in values]),
        "comment": ("text", [value.comment for value in values]),
        "entered_by_id": ("bigint", [value.entered_by_id for value in values]),
    }
    names = ", ".join(columns)
    arrays = ", ".join(f"%s::{kind}[]" for kind, _ in columns.values())
    updated = ", ".join(
        f"{name} = excluded.{name}" for name in ("raw_value", "score", "comment", "entered_by_id")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MeasureValue._meta.db_table} ({names}, created_at) "
            f"SELECT *, now() FROM unnest({arrays}) "
            "ON CONFLICT (account_id, measure_id, as_of, source) "
            f"DO UPDATE SET {updated}",
            [array for _, array in columns.values()],
        )


# A run's computed values (derived measures), as computed_values_store takes them: the score is
# already rounded half up to two decimals (rule 1); the comment holds the inputs in words.
COMPUTED_VALUE_COLUMNS = ["account_id", "measure_id", "as_of", "raw_value", "score", "comment"]


def computed_values_store(*, values: pd.DataFrame) -> int:
    """Store a run's computed values (COMPUTED_VALUE_COLUMNS, source computed, no user),
    leaving those already stored as given untouched; returns how many were written. Call
    inside a transaction.

    Unlike measure_values_write it does not count created against updated, so on PostgreSQL
    nothing is read back: the values are copied into a temporary table, and one upsert finds
    each conflict on the idempotency key's unique index and skips the update where the
    stored (raw_value, score, comment) is the given one. A chunk's 50,000 values took 1.6 s
    read back into Python to be compared, then 1.5 s as one statement over arrays (half of it
    quoting them into SQL text); copied, a fifth of that."""
    if values.empty:
        return 0
    if connection.vendor != "postgresql":
        result = measure_values_write(valid=_computed_as_valid(values), user=None)
        return result.created + result.updated
    rows = pd.DataFrame(
        {
            "account_id": values["account_id"].astype("int64"),
            "measure_id": values["measure_id"].astype("int64"),
            "as_of": pd.to_datetime(values["as_of"]).dt.strftime("%Y-%m-%d"),
            "raw_value": values["raw_value"].astype(float),
            "score": [f"{score:.2f}" for score in values["score"].tolist()],
            "comment": values["comment"],
        }
    )
    table = MeasureValue._meta.db_table
    frame_copy_to_temp_table(
        rows,
        temp_table="tmp_computed_values",
        like_table=table,
        columns=COMPUTED_VALUE_COLUMNS,
        not_null=("comment",),
    )
    columns = ", ".join(COMPUTED_VALUE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS stored "
            f"({columns}, source, created_at) "
            f"SELECT {columns}, %s, now() FROM tmp_computed_values "
            "ON CONFLICT (account_id, measure_id, as_of, source) DO UPDATE SET "
            "raw_value = excluded.raw_value, score = excluded.score, "
            "comment = excluded.comment, entered_by_id = NULL "
            "WHERE (stored.raw_value, stored.score, stored.comment) "
            "IS DISTINCT FROM (excluded.raw_value, excluded.score, excluded.comment)",
            [ValueSource.COMPUTED],
        )
        written = cursor.rowcount
    if written:
        generation_bump_for(MeasureValue)
    return written


def _computed_as_valid(values: pd.DataFrame) -> ValidMeasureValues:
    valid = ValidMeasureValues()
    for account_id, measure_id, as_of, raw, score, comment in zip(
        values["account_id"].tolist(),
        values["measure_id"].tolist(),
        pd.to_datetime(values["as_of"]).dt.date.tolist(),
        values["raw_value"].tolist(),
        values["score"].tolist(),
        values["comment"].tolist(),
        strict=True,
    ):
        key = (int(account_id), int(measure_id), as_of, ValueSource.COMPUTED)
        valid.values[key] = (float(raw), Decimal(f"{score:.2f}"), comment)
    return valid


def _existing_values(keys: list[Key]) -> dict[Key, tuple[float, Decimal, str]]:
    """The stored (raw_value, score, comment) of the given keys, read by slices of accounts
    within the batch's date range."""
    if not keys:
        return {}
    wanted = set(keys)
    account_ids = sorted({key[0] for key in keys})
    measure_ids = sorted({key[1] for key in keys})
    first, last = min(key[2] for key in keys), max(key[2] for key in keys)
    found: dict[Key, tuple[float, Decimal, str]] = {}
    for part in slices(account_ids):
        rows = MeasureValue.objects.filter(
            account_id__in=part, measure_id__in=measure_ids, as_of__range=(first, last)
        ).values_list(
            "account_id", "measure_id", "as_of", "source", "raw_value", "score", "comment"
        )
        for account_id, measure_id, as_of, source, raw, score, comment in rows:
            key = (account_id, measure_id, as_of, source)
            if key in wanted:
                found[key] = (raw, score, comment)
    return found


def measure_values_ingest(
    *,
    rows: Sequence[Any],
    user: AbstractBaseUser | None,
    today: date | None = None,
    default_source: str = ValueSource.API,
) -> UpsertResult:
    """Check every row, then write them all in one transaction; any bad row → IngestionError
    listing every bad row, and nothing is written."""
    today = today or timezone.localdate()
    valid, errors = measure_values_validate(
        rows=rows, user=user, today=today, default_source=default_source
    )
    if errors:
        raise IngestionError(errors, total=len(rows))
    with transaction.atomic():
        return measure_values_write(valid=valid, user=user)


def measure_values_import_csv(
    path: str | Path,
    *,
    user: AbstractBaseUser | None = None,
    today: date | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> CsvImportResult:
    """Import a CSV file of measure values (MEASURE_VALUE_COLUMNS; a blank source means
    `import`), streaming it in batches, all or nothing; errors name the line and the field.
    See accounts.ingestion.csv_import for the two passes."""
    today = today or timezone.localdate()

    def validate(*, rows, row_numbers):
        return measure_values_validate(
            rows=rows,
            user=user,
            today=today,
            default_source=ValueSource.IMPORT,
            row_numbers=row_numbers,
        )

    def write(*, valid):
        return measure_values_write(valid=valid, user=user)

    return csv_import(
        path,
        columns=MEASURE_VALUE_COLUMNS,
        validate=validate,
        write=write,
        batch_size=batch_size,
        progress=progress,
    )


# --- Scorecard documents -------------------------------------------------------------------------
# A whole scorecard comes in as one JSON document (PRODUCT.md "API shapes"), so that CS Ops can
# keep scorecards in version control. The rules are those of scorecards/validation.py, which
# the admin applies too; errors are keyed by the document path at fault ("groups.0.weight").


def scorecard_document_errors(
    *, document: dict[str, Any], scorecard: Scorecard | None
) -> dict[str, list[str]]:
    """Every rule the document breaks, by path; empty when it may be saved. `document` has
    already the JSON shape (types checked by the API's serializer)."""
    errors: dict[str, list[str]] = {}

    def add(path: str, messages: list[str]) -> None:
        if messages:
            errors.setdefault(path, []).extend(messages)

    others = Scorecard.objects.exclude(pk=scorecard.pk if scorecard else None)
    if others.filter(name=document["name"]).exists():
        add("name", [f"Another scorecard is named “{document['name']}”."])
    default = others.filter(is_default=True).first()
    if document["is_default"] and default is not None:
        add("is_default", [f"“{default.name}” is the default scorecard; unset it first."])
    if not document["is_default"] and scorecard is not None and scorecard.is_default:
        add("is_default", ["Every portfolio needs a default scorecard; keep this one default."])

    add("bands", bands_validate([(b["label"], Decimal(str(b["min"]))) for b in document["bands"]]))
    if "bands" not in errors:
        add(
            "bands",
            band_tiers_validate(
                [
                    (band["label"], band["tier"])
                    for band in document_bands_with_tiers(document["bands"])
                ]
            ),
        )
    band_labels = {band["label"] for band in document["bands"]}
    keys: list[str] = []
    metric_keys: set[str] | None = None  # read once, when a measure is derived
    if not document["groups"]:
        add("groups", ["A scorecard needs at least one group."])
    group_names = [group["name"] for group in document["groups"]]
    for position, group in enumerate(document["groups"]):
        path = f"groups.{position}"
        if group_names.count(group["name"]) > 1:
            add(f"{path}.name", [f"Group names must be unique: “{group['name']}” repeats."])
        add(f"{path}.weight", weight_validate(Decimal(str(group["weight"]))))
        if not group["measures"]:
            add(f"{path}.measures", ["A group needs at least one measure."])
        for index, measure in enumerate(group["measures"]):
            measure_path = f"{path}.measures.{index}"
            if measure["key"] in keys:
                add(f"{measure_path}.key", [f"Measure “{measure['key']}” is already used."])
            keys.append(measure["key"])
            add(f"{measure_path}.weight", weight_validate(Decimal(str(measure["weight"]))))
            mapping = measure["mapping"]
            problems = mapping_validate_by_field(
                mapping_type=mapping["type"],
                lo=mapping.get("lo"),
                hi=mapping.get("hi"),
                higher_is_better=mapping.get("higher_is_better", True),
                steps=mapping.get("steps"),
            )
            for field_name, messages in problems.items():
                name = "type" if field_name == "mapping_type" else field_name
                add(f"{measure_path}.mapping.{name}", messages)
            if measure.get("source") is not None:
                metric_keys = metric_keys if metric_keys is not None else metric_keys_declared()
                problems = measure_source_validate_by_field(
                    measure["source"], metric_keys=metric_keys
                )
                for field_name, messages in problems.items():
                    add(
                        f"{measure_path}.source" + (f".{field_name}" if field_name else ""),
                        messages,
                    )
    for position, rule in enumerate(document["exceptions"]):
        path = f"exceptions.{position}"
        if rule["measure"] not in keys:
            add(f"{path}.measure", [f"“{rule['measure']}” is not a measure of this scorecard."])
        problems = exception_validate_by_field(
            action=rule["action"],
            band=rule.get("band"),
            score=None if rule.get("score") is None else Decimal(str(rule["score"])),
            band_labels=band_labels,
        )
        for field_name, messages in problems.items():
            add(f"{path}.{field_name}", messages)
    return errors


@transaction.atomic
def scorecard_document_save(
    *,
    document: dict[str, Any],
    user: AbstractBaseUser | None,
    scorecard: Scorecard | None = None,
    note: str = "Saved through the API.",
) -> Scorecard:
    """Create a scorecard from a document, or replace `scorecard`'s whole definition with it.
    The new version carries `note`.

    Measures are shared by key across scorecards: a measure in the document is created, or
    updated (name, kind, mapping, max age) everywhere it is used, and every scorecard using a
    changed measure gets a new version. Raises ValidationError keyed by document path when a
    rule is broken; nothing is written then. Returns the saved scorecard at its new version.
    """
    errors = scorecard_document_errors(document=document, scorecard=scorecard)
    if errors:
        raise ValidationError(errors)
    assignment = document["assignment"]
    scorecard = scorecard or Scorecard()
    scorecard.name = document["name"]
    scorecard.is_default = document["is_default"]
    scorecard.min_coverage = Decimal(str(document["min_coverage"]))
    scorecard.priority = assignment["priority"]
    scorecard.segments = list(assignment["segment"])
    scorecard.tiers = list(assignment["tier"])
    scorecard.lifecycles = list(assignment["lifecycle"])
    scorecard.save()
    scorecard.exceptions.all().delete()
    scorecard.groups.all().delete()  # and, with them, the scorecard's measure places
    scorecard.bands.all().delete()

    Band.objects.bulk_create(
        Band(
            scorecard=scorecard,
            label=b["label"],
            min_score=Decimal(str(b["min"])),
            color=b["color"],
            tier=b["tier"],
        )
        for b in document_bands_with_tiers(document["bands"])
    )
    measures, changed = {}, []
    for position, group_document in enumerate(document["groups"]):
        group = MeasureGroup.objects.create(
            scorecard=scorecard,
            name=group_document["name"],
            weight=Decimal(str(group_document["weight"])),
            position=position,
        )
        for index, measure_document in enumerate(group_document["measures"]):
            measure, is_changed = _measure_save(measure_document)
            measures[measure.key] = measure
            if is_changed:
                changed.append(measure)
            ScorecardMeasure.objects.create(
                scorecard=scorecard,
                group=group,
                measure=measure,
                weight=Decimal(str(measure_document["weight"])),
                position=index,
            )
    ExceptionRule.objects.bulk_create(
        ExceptionRule(
            scorecard=scorecard,
            measure=measures[rule["measure"]],
            op=rule["op"],
            value=Decimal(str(rule["value"])),
            action=rule["action"],
            band=rule.get("band") or "",
            score=None if rule.get("score") is None else Decimal(str(rule["score"])),
            reason=rule["reason"],
        )
        for rule in document["exceptions"]
    )
    scorecard_version_create(scorecard=scorecard, user=user, note=note)
    for measure in changed:
        scorecard_versions_create_for_measure(measure=measure, user=user)
    scorecard.refresh_from_db()
    return scorecard


def _measure_save(document: dict[str, Any]) -> tuple[Measure, bool]:
    """Create or update the measure of a document by key; True when it is new or changed."""
    mapping = document["mapping"]
    values = {
        "name": document["name"],
        "kind": document["kind"],
        "mapping_type": mapping["type"],
        "lo": mapping.get("lo"),
        "hi": mapping.get("hi"),
        "higher_is_better": mapping.get("higher_is_better", True),
        "steps": mapping.get("steps"),
        "max_age_days": document.get("max_age_days"),
        "source": measure_source_normalize(document.get("source")),
    }
    measure = Measure.objects.filter(key=document["key"]).first()
    if measure is None:
        return Measure.objects.create(key=document["key"], **values), True
    changes = {name: value for name, value in values.items() if getattr(measure, name) != value}
    for name, value in changes.items():
        setattr(measure, name, value)
    if changes:
        measure.save(update_fields=list(changes))
    return measure, bool(changes)
