"""A real HTTP receiver on loopback for the delivery tests, and endpoint helpers."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from events import services


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each POST with the next of `statuses` (the last one repeats), after the next
    of `delays` (else `delay`) seconds; `hold` (when set) keeps the first request waiting
    until it is released."""

    url: str = ""
    statuses: list[int] = field(default_factory=lambda: [200])
    delay: float = 0.0
    delays: list[float] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    hold: threading.Event | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, float, threading.Event | None]:
        with self.lock:
            self.received.append(Received(path=path, headers=headers, body=body))
            position = len(self.received) - 1
            status = self.statuses[min(position, len(self.statuses) - 1)]
            delay = self.delays[position] if position < len(self.delays) else self.delay
            hold = self.hold if position == 0 else None
        return status, delay, hold

    def on_path(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def webhook_ids(self) -> list[str]:
        with self.lock:
            return [r.headers["webhook-id"] for r in self.received]


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            status, delay, hold = receiver.answer(
                self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            if hold is not None:
                hold.wait(30)
            if delay:
                time.sleep(delay)
            answer = b'{"ok": true}'
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:
                pass  # the sender gave up (a timeout, a killed worker)

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def receiver_running() -> Iterator[Receiver]:
    """A threaded HTTP server on a free loopback port, for as long as the block runs."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiver_running() as running:
        yield running


@pytest.fixture
def fast_retries(settings) -> None:
    """Retries in fractions of a second, so a test sees several."""
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.2
    settings.WEBHOOK_RETRY_MAX_SECONDS = 1.0
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5


def endpoint_create(url: str, **fields) -> services.EndpointWithSecret:
    return services.webhook_endpoint_create(url=url, **fields)
