"""Writes for outbound events: recording (the outbox), fan-out, sending, endpoints, the sweep."""

from events.services.endpoints import (
    EndpointWithSecret,
    deliveries_replay_failed,
    delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_ping,
    webhook_endpoint_rotate,
    webhook_endpoint_update,
)
from events.services.fanout import events_fan_out
from events.services.recording import (
    EventDraft,
    account_page_url,
    event_record,
    events_record_bulk,
)
from events.services.sending import endpoint_deliveries_send, endpoint_disable
from events.services.sweep import deliveries_sweep

__all__ = [
    "EndpointWithSecret",
    "EventDraft",
    "account_page_url",
    "deliveries_replay_failed",
    "deliveries_sweep",
    "delivery_replay",
    "endpoint_deliveries_send",
    "endpoint_disable",
    "event_record",
    "events_fan_out",
    "events_record_bulk",
    "webhook_endpoint_create",
    "webhook_endpoint_ping",
    "webhook_endpoint_rotate",
    "webhook_endpoint_update",
]
