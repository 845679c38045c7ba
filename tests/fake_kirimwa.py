"""A real HTTP server that behaves like KirimWA (/work/shared/kirimwa-api.md).

Tests talk to it over a socket, so timeouts, dropped connections and
garbage bodies are the real thing, not a mocked ``requests``. Failures are
injected with fail_next(); every request received is recorded, so a test can
prove what reached the gateway even when the client saw an error.
Standard library only, and silent.

Besides sending, it serves what the settling of unknown messages and the
pauses read: GET /v1/messages/<id>, the paged list GET /v1/messages, GET
/v1/devices/<id> and GET /v1/quotas. The public sources name only the list's
``data[]`` and ``meta.last_key`` and the ``start_key``/``status`` parameters;
the fake assumes the rest and keeps it minimal: newest first, PAGE_SIZE a
page, each item with the send's fields (``id``, ``phone_number``,
``message``, ``status``) and ``created_at`` (ISO 8601 with offset), and
``last_key`` the id to start the next page after, null on the last page.
"""

import datetime
import json
import re
import socket
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The *_accepted modes queue the message first and then fail: a 500 after
# acceptance, a connection dropped before the answer, a 201 without an id.
FAILURE_MODES = {"401", "404_device", "429", "500", "503", "garbage", "hang", "drop",
                 "500_accepted", "drop_accepted", "201_without_id"}
PAGE_SIZE = 20

_PHONE_NUMBER = re.compile(r"[1-9]\d{7,14}")  # country code first, 8-15 digits
_MESSAGE_PATH = re.compile(r"/v1/messages/([^/?]+)")
_DEVICE_PATH = re.compile(r"/v1/devices/([^/?]+)")


class FakeKirimWA:
    """KirimWA on 127.0.0.1 at a random port; ``url`` ends in ``/v1``."""

    def __init__(self, token="test-token", device_id="toko-blitar"):
        self.token = token
        self.device_id = device_id
        self.latency = 0  # seconds before answering any request
        self.hang_seconds = 3  # how long "hang" waits: longer than the client's read timeout
        self.requests = []  # every request: {"method", "path", "headers", "body"}
        self.sent = []  # accepted messages: {"id", "phone_number", "message"}
        self._statuses = {}  # message id -> "success" / "fail" / "pending"
        self._created = {}  # message id -> when it was queued
        self.device_status = "connected"
        self.quota = {"messages_per_month": 3000, "current_month_message_sent": 0}
        self._failures = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections = set()
        self._server = None
        self._thread = None
        self.url = None

    def start(self):
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}/v1"
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop serving; requests still hanging are abandoned, not waited for."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            # Wakes handler threads blocked reading an idle keep-alive connection.
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join()
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def fail_next(self, mode, times=1):
        """Make the next ``times`` POST /v1/messages fail in ``mode`` (see FAILURE_MODES)."""
        if mode not in FAILURE_MODES:
            raise ValueError(f"Unknown failure mode {mode!r}; one of {sorted(FAILURE_MODES)}")
        with self._lock:
            self._failures.extend([mode] * times)

    def set_status(self, message_id, status):
        """What GET /v1/messages/<id> answers for this id: "success", "fail" or "pending"."""
        with self._lock:
            self._statuses[message_id] = status

    def _record(self, request):
        with self._lock:
            self.requests.append(request)

    def _next_failure(self):
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _queue(self, phone_number, message, created_at=None):
        message_id = "kwid-" + uuid.uuid4().hex[:27]
        with self._lock:
            self.sent.append({"id": message_id, "phone_number": phone_number, "message": message})
            self._statuses[message_id] = "success"
            self._created[message_id] = created_at or datetime.datetime.now(datetime.UTC)
            self.quota["current_month_message_sent"] += 1
        return message_id

    def queue(self, phone_number, message, created_at=None):
        """Put a message in the gateway's list as if it had been sent (by a
        worker killed before it heard the answer, say); return its id."""
        return self._queue(phone_number, message, created_at)

    def _page(self, start_key, status):
        with self._lock:
            items = [
                {**sent, "status": self._statuses[sent["id"]],
                 "created_at": self._created[sent["id"]].isoformat()}
                for sent in reversed(self.sent)
            ]
        if status:
            items = [item for item in items if item["status"] == status]
        ids = [item["id"] for item in items]
        start = ids.index(start_key) + 1 if start_key in ids else 0
        page = items[start:start + PAGE_SIZE]
        more = start + PAGE_SIZE < len(items)
        return {"data": page, "meta": {"last_key": page[-1]["id"] if more else None}}

    def _status_of(self, message_id):
        with self._lock:
            return self._statuses.get(message_id)


_FAILURES = {
    "401": (401, {"message": "Unauthorized"}),
    "404_device": (404, {"message": "Error: Device not found."}),
    "429": (429, {"message": "Too many requests."}),
    "500": (500, {"message": "Internal server error."}),
    "503": (503, {"message": "Service unavailable."}),
    "garbage": (200, b"<html><body>502 Bad Gateway</body></html>"),
}


class _Server(ThreadingHTTPServer):
    # stop() wakes every handler thread instead of joining them, so a thread
    # stuck on a client can never make stop() wait.
    block_on_close = False

    def handle_error(self, request, client_address):
        # A client that timed out and hung up is expected here, not an error to print.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind its load balancer

    @property
    def fake(self):
        return self.server.fake

    def setup(self):
        super().setup()
        with self.fake._lock:
            self.fake._connections.add(self.connection)

    def finish(self):
        with self.fake._lock:
            self.fake._connections.discard(self.connection)
        super().finish()

    def log_message(self, format, *args):
        pass  # quiet: no access log on stderr

    def do_POST(self):
        body = self._receive()
        if self.path != "/v1/messages":
            return self._answer(404, {"message": "Not found."})
        failure = self.fake._next_failure()
        if failure == "drop":
            self.close_connection = True  # hang up without a word
            return
        if failure in (None, "hang", "500_accepted", "drop_accepted", "201_without_id"):
            code, answer = self._accept(body)
            if code == 201 and failure == "drop_accepted":
                self.close_connection = True
                return
            if code == 201 and failure == "500_accepted":
                code, answer = _FAILURES["500"]
            if code == 201 and failure == "201_without_id":
                answer = {"status": "pending", "message": "Message queued"}
        else:
            code, answer = _FAILURES[failure]
        if failure == "hang" and self.fake._stopping.wait(self.fake.hang_seconds):
            self.close_connection = True  # stopped while hanging: never answer
            return
        if failure == "garbage":
            return self._answer(code, answer, content_type="text/html")
        self._answer(code, answer)

    def do_GET(self):
        self._receive()
        path, _sep, query = self.path.partition("?")
        if not self._authorised():
            return self._answer(401, {"message": "Unauthorized"})
        if path == "/v1/messages":
            params = dict(urllib.parse.parse_qsl(query))
            return self._answer(200, self.fake._page(params.get("start_key"),
                                                     params.get("status")))
        if path == "/v1/quotas":
            with self.fake._lock:
                return self._answer(200, {"quota": dict(self.fake.quota)})
        device = _DEVICE_PATH.fullmatch(path)
        if device:
            if device[1] != self.fake.device_id:
                return self._answer(404, {"message": "Error: Device not found."})
            return self._answer(200, {"id": device[1], "status": self.fake.device_status,
                                      "created_at": "2026-01-05T09:00:00+07:00"})
        match = _MESSAGE_PATH.fullmatch(path)
        if not match:
            return self._answer(404, {"message": "Not found."})
        status = self.fake._status_of(match[1])
        if status is None:
            return self._answer(404, {"message": "Error: Message not found."})
        messages = {"success": "Message sent", "fail": "Phone number is not on WhatsApp"}
        self._answer(200, {"id": match[1], "status": status, "message": messages.get(status, "")})

    def _receive(self):
        """Read and record the request, then wait out the configured latency."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.fake._record(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        if self.fake.latency:
            self.fake._stopping.wait(self.fake.latency)
        return body

    def _authorised(self):
        return self.headers.get("Authorization") == f"Bearer {self.fake.token}"

    def _accept(self, body):
        """Validate a send like the real API; queue it and return (code, body)."""
        if not self._authorised():
            return 401, {"message": "Unauthorized"}
        if not isinstance(body, dict):
            return 400, {"message": "Invalid JSON body."}
        phone_number = body.get("phone_number")
        if not (isinstance(phone_number, str) and _PHONE_NUMBER.fullmatch(phone_number)):
            return 400, {"message": "Invalid phone_number."}
        if not (isinstance(body.get("message"), str) and body["message"]):
            return 400, {"message": "message is required."}
        if body.get("device_id") != self.fake.device_id:
            return 404, {"message": "Error: Device not found."}
        if body.get("message_type") not in ("text", "image"):
            return 400, {"message": "message_type must be text or image."}
        # Queued before a "hang" delays the answer: a slow answer does not mean
        # the message was not sent.
        message_id = self.fake._queue(phone_number, body["message"])
        location = f"{self.fake.url}/messages/{message_id}"
        return 201, {
            "id": message_id,
            "status": "pending",
            "message": "Message queued",
            "meta": {"location": location},
        }

    def _answer(self, code, body, content_type="application/json"):
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
