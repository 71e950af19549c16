"""Recording events: the outbox half of outbound events.

The apps where things happen (risk, scorecards; tasks later) build an event's data and call
`event_record` or `events_record_bulk` INSIDE the transaction of the change. The Event row
commits or rolls back with the change, and the fan-out task is enqueued on commit: an event is
sent if and only if its change committed. A fan-out message lost on the way (a broker down at
that moment, a killed worker) is made up by the periodic sweep, which fans out every event
left without deliveries.
"""

import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from accounts.models import Account
from events.choices import EventType
from events.models import Event

logger = logging.getLogger(__name__)

# Events per fan-out message: a night of 10,000 band moves is ten messages, not 10,000.
FAN_OUT_BATCH = 1000
EVENT_TYPES = frozenset(EventType.values)
INSERT_BATCH = 2000


@dataclass
class EventDraft:
    """One event for `events_record_bulk`: its account (or none) and data. `data` gets the
    account's summary (`account`) and page (`url`) added when an account is given."""

    event_type: str
    data: dict
    account_id: int | None = None
    severity: str = ""
    score_run_id: int | None = None
    is_in_digest: bool = False
    extra: dict = field(default_factory=dict)


def account_page_url(account_id: int) -> str:
    """The account's page in Healthscore, as a link people can follow from Slack or Teams."""
    return f"{settings.SITE_URL.rstrip('/')}/accounts/{account_id}/"


def account_summaries(account_ids) -> dict[int, dict]:
    """{account id: {"id", "external_id", "name", "owner_email", "arr", plus "_segment" and
    "_owner_id" for the filters}} in one query."""
    rows = Account.objects.filter(pk__in=set(account_ids)).values_list(
        "pk", "external_id", "name", "owner__email", "arr", "segment", "owner_id"
    )
    return {
        pk: {
            "id": pk,
            "external_id": external_id,
            "name": name,
            "owner_email": owner_email or None,
            "arr": float(arr) if isinstance(arr, Decimal) else arr,
            "_segment": segment,
            "_owner_id": owner_id,
        }
        for pk, external_id, name, owner_email, arr, segment, owner_id in rows
    }


def event_record(
    *,
    event_type: str,
    data: dict,
    account: Account | None = None,
    severity: str | None = None,
    score_run_id: int | None = None,
) -> Event:
    """Record one event in the caller's transaction; its fan-out is enqueued on commit.

    `data` is what the event says (PRODUCT.md's envelope `data`); with an `account`, the
    account's summary is added as `data["account"]` and its page as `data["url"]`. Returns
    the saved Event."""
    draft = EventDraft(
        event_type=event_type,
        data=data,
        account_id=account.pk if account is not None else None,
        severity=severity or "",
        score_run_id=score_run_id,
    )
    event = Event(**_event_fields(draft, account_summaries([draft.account_id] if account else [])))
    event.save()
    _fan_out_on_commit([event.pk])
    return event


def events_record_bulk(drafts: list[EventDraft], *, created_at=None) -> list[int]:
    """Record many events in the caller's transaction, in a few multi-row INSERTs of
    prepared rows (risk evaluation opens risks in bulk; a nightly run can move 10,000 bands:
    building a model instance per event cost more than the INSERT), and enqueue their fan-out
    on commit, FAN_OUT_BATCH events per message. `created_at` is when the events happened,
    if that was before now (a run's events are recorded after it finished). Returns the new
    events' ids."""
    if not drafts:
        return []
    summaries = account_summaries(d.account_id for d in drafts if d.account_id is not None)
    now = created_at or timezone.now()
    rows = [_event_fields(draft, summaries, now=now) for draft in drafts]
    if connection.vendor == "postgresql":
        ids = _events_insert(rows)
    else:
        events = [Event(**row) for row in rows]
        Event.objects.bulk_create(events, batch_size=INSERT_BATCH)
        ids = [event.pk for event in events]
    _fan_out_on_commit(ids)
    return ids


EVENT_COLUMNS = [
    "uid",
    "event_type",
    "account_id",
    "segment",
    "owner_id",
    "severity",
    "score_run_id",
    "is_in_digest",
    "data",
    "created_at",
]


def _event_fields(draft: EventDraft, summaries: dict[int, dict], *, now=None) -> dict:
    """An Event's column values for a draft (the account summary and page added)."""
    if draft.event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {draft.event_type!r}")
    data = dict(draft.data)
    segment, owner_id, account_id = "", None, None
    summary = summaries.get(draft.account_id) if draft.account_id is not None else None
    if summary is not None:
        account_id = draft.account_id
        segment, owner_id = summary["_segment"], summary["_owner_id"]
        data["account"] = {k: v for k, v in summary.items() if not k.startswith("_")}
        data.setdefault("url", account_page_url(draft.account_id))
    return {
        "uid": uuid.uuid4(),
        "event_type": draft.event_type,
        "account_id": account_id,
        "segment": segment,
        "owner_id": owner_id,
        "severity": draft.severity or "",
        "score_run_id": draft.score_run_id,
        "is_in_digest": draft.is_in_digest,
        "data": data,
        "created_at": now or timezone.now(),
    }


def _events_insert(rows: list[dict]) -> list[int]:
    """PostgreSQL: multi-row INSERTs of prepared tuples, the data as orjson text."""
    from psycopg2.extras import execute_values

    values = [
        tuple(
            orjson.dumps(row["data"]).decode()
            if column == "data"
            else str(row["uid"])
            if column == "uid"
            else row[column]
            for column in EVENT_COLUMNS
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        ids = execute_values(
            cursor.cursor,
            f"INSERT INTO events_event ({', '.join(EVENT_COLUMNS)}) VALUES %s RETURNING id",
            values,
            template="(%s::uuid, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)",
            page_size=INSERT_BATCH,
            fetch=True,
        )
    return [pk for (pk,) in ids]


def _fan_out_on_commit(event_ids: list[int]) -> None:
    from events import tasks

    batches = [event_ids[i : i + FAN_OUT_BATCH] for i in range(0, len(event_ids), FAN_OUT_BATCH)]

    def enqueue() -> None:
        for batch in batches:
            try:
                tasks.events_fan_out.delay(batch)
            except KombuOperationalError:
                # The broker is down: the change committed, so its events must not be lost.
                # They stay without deliveries and the sweep fans them out later.
                logger.exception("Could not enqueue a fan-out of %d events", len(batch))

    transaction.on_commit(enqueue, using=connection.alias)
