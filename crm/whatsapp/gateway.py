"""The one seam to the WhatsApp gateway: HTTP and nothing else (no ORM; a
number is checked by crm.phones.is_sendable, the outbox's own rule).

KirimWA is an unofficial gateway in developer preview: any call can fail,
hang or be rate limited. Every failure is raised as a GatewayError whose
``kind`` tells the caller what it may do next. Only RETRYABLE means the
message surely was not sent; after UNKNOWN a resend can reach the customer
twice, so the outcome is settled by the status endpoint instead. This module
never retries by itself: that decision belongs to the caller, who knows
whether the message was already tried.

The backend is chosen by the dotted-path setting ``WHATSAPP_BACKEND``, like
Django's ``EMAIL_BACKEND``.
"""

import datetime
import logging
import sys
import uuid
from dataclasses import dataclass

import requests
from django.conf import settings
from django.utils.module_loading import import_string
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from crm.phones import is_sendable

logger = logging.getLogger("crm.whatsapp")

PERMANENT = "permanent"  # the same request will fail again: do not resend
RETRYABLE = "retryable"  # surely not sent, or the gateway asked to come back later
UNKNOWN = "unknown"  # the request may have reached the gateway: do not resend blindly

DEFAULT_API_URL = "https://api.kirimwa.id/v1"
DEFAULT_CONNECT_TIMEOUT = 5
DEFAULT_READ_TIMEOUT = 20

# The gateway's answers that mean "come back later": rate limited, or
# unavailable before it processed anything.
_RETRY_LATER_STATUSES = {429, 503}
# A KIRIMWA_API_URL requests cannot use: nothing was sent, nothing ever will be.
_BAD_URL_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
)
# KirimWA's message statuses (its status call, its message list and its
# delivery webhook) and ours: the one map of them.
_STATES = {"success": "delivered", "fail": "failed", "pending": "pending"}


def delivery_state(kirimwa_status):
    """Our state ("delivered", "failed", "pending") for a status KirimWA
    reports, or None for one it does not document."""
    return _STATES.get(kirimwa_status)


# Answers that mean every further call fails the same way until someone
# fixes the configuration: sending pauses instead of failing message by message.
PAUSE_TOKEN = "token"  # 401 or 403: KIRIMWA_API_TOKEN refused
PAUSE_DEVICE_MISSING = "device_missing"  # "Device not found": KIRIMWA_DEVICE_ID wrong
PAUSE_DISCONNECTED = "disconnected"  # the paired phone is offline or logged out


class GatewayError(Exception):
    """A gateway call failed; ``kind`` says whether resending is safe, and
    ``pause`` (one of PAUSE_*, or None) whether every other call will fail too."""

    def __init__(self, message, kind, status_code=None, pause=None):
        super().__init__(message)
        self.kind = kind
        self.status_code = status_code
        self.pause = pause


@dataclass(frozen=True)
class DeliveryStatus:
    """Where a sent message is: "delivered", "failed" or "pending"."""

    state: str
    detail: str = ""


@dataclass(frozen=True)
class GatewayMessage:
    """One message in the gateway's own list; ``created_at`` may be None."""

    id: str
    phone: str
    text: str
    state: str
    created_at: datetime.datetime | None = None


@dataclass(frozen=True)
class Quota:
    """This month's usage: messages sent of the messages a month allowed."""

    sent: int
    per_month: int


class BaseBackend:
    def send_text(self, phone: str, text: str) -> str:
        """Send ``text`` to ``phone`` (E.164 digits, no "+"); return the gateway's id."""
        raise NotImplementedError

    def status(self, gateway_id: str) -> DeliveryStatus:
        """The delivery status of a message sent earlier."""
        raise NotImplementedError

    def recent_messages(self, since: datetime.datetime) -> list:
        """The gateway's messages (GatewayMessage), newest first, back to about ``since``."""
        return []

    def device_connected(self) -> bool:
        """Whether the paired phone is connected; a GatewayError if it cannot be asked."""
        return True

    def quota(self):
        """This month's Quota, or None when the backend has none."""
        return None


def _require_sendable(phone):
    # The gateway wants a sendable number in the stored form, by the outbox's
    # own rule (crm.phones.is_sendable); anything else is refused before a
    # request could send it anywhere.
    if not is_sendable(phone):
        raise GatewayError(f"Not a normalised phone number: {phone!r}", PERMANENT)


def _new_id(prefix):
    return prefix + uuid.uuid4().hex[:27]


class KirimWABackend(BaseBackend):
    """Sends through the KirimWA REST API (https://api.kirimwa.id/v1)."""

    def __init__(
        self, api_url=None, token=None, device_id=None, connect_timeout=None, read_timeout=None
    ):
        api_url = api_url or getattr(settings, "KIRIMWA_API_URL", DEFAULT_API_URL)
        self.api_url = api_url.rstrip("/")
        self.token = token or getattr(settings, "KIRIMWA_API_TOKEN", "")
        self.device_id = device_id or getattr(settings, "KIRIMWA_DEVICE_ID", "")
        connect_timeout = connect_timeout or getattr(
            settings, "KIRIMWA_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT
        )
        read_timeout = read_timeout or getattr(
            settings, "KIRIMWA_READ_TIMEOUT", DEFAULT_READ_TIMEOUT
        )
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        # No retries at all, not even urllib3's: a resent POST can deliver twice.
        adapter = HTTPAdapter(max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update(
            {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        )

    def send_text(self, phone, text):
        _require_sendable(phone)
        self._require_configuration()
        body = {
            "phone_number": phone,
            "message": text,
            "device_id": self.device_id,
            "message_type": "text",
        }
        data = self._request("POST", "/messages", json=body)
        gateway_id = data.get("id") if isinstance(data, dict) else None
        if not (isinstance(gateway_id, str) and gateway_id.startswith("kwid-")):
            # Accepted, but without an id we cannot tell whether it was queued.
            raise GatewayError("KirimWA accepted the message but returned no message id", UNKNOWN)
        return gateway_id

    def status(self, gateway_id):
        self._require_configuration()
        data = self._request("GET", f"/messages/{gateway_id}")
        gateway_status = data.get("status") if isinstance(data, dict) else None
        if gateway_status not in _STATES:
            raise GatewayError(f"KirimWA returned an unknown status: {gateway_status!r}", UNKNOWN)
        return DeliveryStatus(_STATES[gateway_status], str(data.get("message") or ""))

    def recent_messages(self, since):
        # The list is paged by an opaque key and, like every list seen in the
        # client libraries, newest first: paging stops at the first page that
        # reaches back past ``since``, and after MAX_LIST_PAGES at most.
        found, start_key = [], None
        self._require_configuration()
        for _page in range(MAX_LIST_PAGES):
            params = {"start_key": start_key} if start_key else {}
            data = self._request("GET", "/messages", params=params)
            items = data.get("data") if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise GatewayError("KirimWA returned a message list without data", UNKNOWN)
            page = [m for m in map(_gateway_message, items) if m is not None]
            found.extend(page)
            meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
            start_key = meta.get("last_key")
            dated = [m.created_at for m in page if m.created_at]
            if not start_key or not page or (dated and min(dated) < since):
                break
        return found

    def device_connected(self):
        self._require_configuration()
        data = self._request("GET", f"/devices/{self.device_id}")
        status = data.get("status") if isinstance(data, dict) else None
        if status not in ("connected", "disconnected"):
            raise GatewayError(f"KirimWA returned an unknown device status: {status!r}", UNKNOWN)
        return status == "connected"

    def quota(self):
        self._require_configuration()
        data = self._request("GET", "/quotas")
        quota = data.get("quota") if isinstance(data, dict) else None
        try:
            return Quota(int(quota["current_month_message_sent"]),
                         int(quota["messages_per_month"]))
        except (TypeError, KeyError, ValueError):
            raise GatewayError("KirimWA returned quotas without numbers", UNKNOWN) from None

    def _require_configuration(self):
        if not self.token or not self.device_id:
            raise GatewayError(
                "KirimWA is not configured: set KIRIMWA_API_TOKEN and KIRIMWA_DEVICE_ID",
                PERMANENT,
            )

    def _request(self, method, path, **kwargs):
        try:
            response = self.session.request(
                method, self.api_url + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as error:
            raise GatewayError(
                f"KirimWA request failed: {error}", _kind_of_request_failure(error)
            ) from error
        if not response.ok:
            raise _error_from_response(response)
        try:
            return response.json()
        except ValueError:
            raise GatewayError(
                f"KirimWA answered {response.status_code} with a body that is not JSON",
                UNKNOWN,
                response.status_code,
            ) from None


# Paging back through the message list costs one request a page (20 messages
# a page in the fake), paid only while a message is unknown. A message further
# back than the pages reach is judged "not received" although KirimWA has it,
# and the owner resends it: 25 pages (500 messages) did that to 15 of 1,000 in
# bench/whatsapp.py's failures run, where 2 workers send 100 a second.
MAX_LIST_PAGES = 500


def _gateway_message(item):
    if not isinstance(item, dict):
        return None
    fields = (item.get("id"), item.get("phone_number"), item.get("message"))
    if not all(isinstance(value, str) for value in fields):
        return None
    created_at = None
    if isinstance(item.get("created_at"), str):
        try:
            created_at = datetime.datetime.fromisoformat(item["created_at"])
        except ValueError:
            created_at = None
        if created_at is not None and created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=datetime.UTC)
    state = _STATES.get(item.get("status"), "pending")
    return GatewayMessage(*fields, state, created_at)


def _kind_of_request_failure(error):
    if isinstance(error, requests.ConnectTimeout) or _was_never_connected(error):
        return RETRYABLE
    if isinstance(error, _BAD_URL_ERRORS):
        return PERMANENT
    # A read timeout, a connection reset or dropped after sending, a TLS or
    # proxy failure: the gateway may have queued the message.
    return UNKNOWN


def _was_never_connected(error):
    """True if urllib3 could not open the connection (refused, DNS failure)."""
    seen = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError):  # NameResolutionError is one too
            return True
        # requests wraps urllib3's MaxRetryError in args[0]; its .reason is the cause.
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        pending.extend([getattr(current, "reason", None), current.__cause__, current.__context__])
    return False


def _error_from_response(response):
    code = response.status_code
    if code in _RETRY_LATER_STATUSES:
        kind = RETRYABLE
    elif code >= 500:
        kind = UNKNOWN  # the gateway may have failed after queueing the message
    else:
        kind = PERMANENT
    message = f"KirimWA answered {code} {response.reason or ''}".rstrip()
    try:
        body = response.json()
    except ValueError:
        body = None  # an HTML error page from a proxy, say: not worth logging
    detail = body.get("message") if isinstance(body, dict) else None
    if detail:
        message += f": {detail}"
    pause = None
    if code in (401, 403):
        pause = PAUSE_TOKEN
    elif code == 404 and isinstance(detail, str) and "device not found" in detail.lower():
        pause = PAUSE_DEVICE_MISSING
    return GatewayError(message, kind, code, pause)


class ConsoleBackend(BaseBackend):
    """Prints messages instead of sending them: the default, so the app runs offline."""

    def send_text(self, phone, text):
        _require_sendable(phone)
        logger.info("WhatsApp to %s: %s", phone, text)
        print(f"WhatsApp to {phone}: {text}", file=sys.stdout, flush=True)
        return _new_id("console-")

    def status(self, gateway_id):
        return DeliveryStatus("delivered", "printed to the console")


class MemoryBackend(BaseBackend):
    """Keeps sent messages in ``MemoryBackend.outbox``, for tests.

    State is class-level (like Django's locmem mail outbox) because the code
    under test builds its own backend through get_backend(); call reset()
    between tests.
    """

    outbox = []  # (phone, text, gateway_id)
    _failures = []  # kinds the next sends raise, in order
    _statuses = {}  # gateway_id -> DeliveryStatus
    connected = True

    @classmethod
    def reset(cls):
        cls.outbox.clear()
        cls._failures.clear()
        cls._statuses.clear()
        cls.connected = True

    @classmethod
    def fail_next(cls, kind, times=1):
        """Make the next ``times`` sends raise GatewayError(kind); nothing is sent."""
        cls._failures.extend([kind] * times)

    @classmethod
    def set_status(cls, gateway_id, state, detail=""):
        cls._statuses[gateway_id] = DeliveryStatus(state, detail)

    def send_text(self, phone, text):
        _require_sendable(phone)
        if self._failures:
            kind = self._failures.pop(0)
            raise GatewayError(f"MemoryBackend: injected {kind} failure", kind)
        gateway_id = _new_id("kwid-")
        self.outbox.append((phone, text, gateway_id))
        return gateway_id

    def status(self, gateway_id):
        return self._statuses.get(gateway_id, DeliveryStatus("delivered"))

    def recent_messages(self, since):
        return [
            GatewayMessage(gateway_id, phone, text, self.status(gateway_id).state)
            for phone, text, gateway_id in reversed(self.outbox)
        ]

    def device_connected(self):
        return self.connected


def get_backend():
    """The configured backend: ``WHATSAPP_BACKEND``, else KirimWA when it has a token."""
    path = getattr(settings, "WHATSAPP_BACKEND", "")
    if path:
        return import_string(path)()
    if getattr(settings, "KIRIMWA_API_TOKEN", ""):
        return KirimWABackend()
    return ConsoleBackend()
