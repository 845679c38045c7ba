"""KirimWA's webhook: delivery reports and incoming messages (STOP opts out).

KirimWA publishes no signing scheme, so the URL carries a secret token
(KIRIMWA_WEBHOOK_TOKEN), compared in constant time. Deliveries may repeat:
every update is idempotent, and ids we never sent are ignored.
"""

import json
import logging
import re
from itertools import accumulate

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm.models import Customer, Message
from crm.phones import InvalidPhoneNumber, normalize_phone
from crm.whatsapp import gateway, outbox, pauses, sender

logger = logging.getLogger("crm.whatsapp")

STOP_WORDS = {"stop", "berhenti"}

# KirimWA's reports are a few hundred bytes, two levels deep. Anything much
# larger or deeper is refused before it is parsed: json.loads of 100,000
# nested brackets raised RecursionError (a 500).
MAX_BODY_BYTES = 64 * 1024
MAX_NESTING = 20
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_DEPTH_STEP = {ord("{"): 1, ord("["): 1, ord("}"): -1, ord("]"): -1}

# The fields read from each kind of report, and the JSON types they may have
# (None, the JSON null, stands for "absent").
_FIELD_TYPES = {
    "send_message_response": {"id": (str,), "status": (str,), "message": (str, type(None)),
                              "payload": (dict, type(None))},
    "incoming_message": {"payload": (dict,)},
    "device_status_changed": {"device_id": (str, type(None)), "status": (str,)},
}
_REPORTED_TYPES = {"phone_number": (str, type(None)), "message": (str, type(None))}
_INCOMING_TYPES = {"sender": (str,), "text": (str, type(None)),
                   "is_group_message": (bool, type(None))}


def nesting_depth(body):
    """How deep ``body`` (JSON bytes) nests objects and arrays, strings aside."""
    structure = _JSON_STRING.sub(b"", body)
    return max(accumulate(_DEPTH_STEP.get(byte, 0) for byte in structure), default=0)


def _shape_error(payload):
    """Why ``payload`` is not a report we can read, or None if it is."""
    kind = payload.get("webhook_type")
    if kind is not None and not isinstance(kind, str):
        # Absent is a report of no kind we read (ignored, like unknown kinds).
        return "webhook_type must be a string"
    for name, types in _FIELD_TYPES.get(kind, {}).items():
        if name in payload and not isinstance(payload[name], types):
            return f"{name} has the wrong type"
    inner_types = {"incoming_message": _INCOMING_TYPES,
                   "send_message_response": _REPORTED_TYPES}.get(kind)
    if inner_types:
        inner = payload.get("payload") or {}
        for name, types in inner_types.items():
            if name in inner and not isinstance(inner[name], types):
                return f"payload.{name} has the wrong type"
    return None


@csrf_exempt  # called by KirimWA's servers, authenticated by the token in the URL
@require_POST
def kirimwa_webhook(request, token):
    expected = settings.KIRIMWA_WEBHOOK_TOKEN
    if not expected or not constant_time_compare(token, expected):
        raise Http404
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
        return HttpResponse("too large", status=413)
    body = request.body
    if nesting_depth(body) > MAX_NESTING:
        return HttpResponseBadRequest("nested too deep")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return HttpResponseBadRequest("not JSON")
    if not isinstance(payload, dict):
        return HttpResponseBadRequest("not a JSON object")
    problem = _shape_error(payload)
    if problem:
        return HttpResponseBadRequest(problem)
    kind = payload.get("webhook_type")
    if kind == "send_message_response":
        _delivery_report(payload)
    elif kind == "incoming_message":
        _incoming_message(payload.get("payload") or {})
    elif kind == "device_status_changed":
        _device_status_changed(payload)
    return JsonResponse({"ok": True})


def _delivery_report(payload):
    state = gateway.delivery_state(payload.get("status"))
    gateway_id = payload.get("id")
    # Only an outcome settles a message; "pending" tells nothing new.
    if state not in ("delivered", "failed") or not isinstance(gateway_id, str) or not gateway_id:
        return
    detail = str(payload.get("message") or "")
    matched = list(Message.objects.filter(gateway_id=gateway_id))
    if not matched:
        matched = _unknown_message_reported(payload.get("payload") or {}, gateway_id)
    for message in matched:
        sender.apply_delivery_status(message, state, detail, timezone.now())


def _unknown_message_reported(original, gateway_id):
    """The unknown message (no id: its answer was lost) this report is about,
    matched by number and text, the oldest first; it gets the report's id."""
    try:
        phone = normalize_phone(str(original.get("phone_number") or ""))
    except InvalidPhoneNumber:
        return []
    candidate = (
        Message.objects.filter(status__in=[Message.Status.UNKNOWN, Message.Status.SENDING],
                               gateway_id="", phone=phone, text=original.get("message") or "")
        .order_by("claimed_at", "pk").first()
    )
    if candidate is None:
        return []
    if not Message.objects.filter(pk=candidate.pk, gateway_id="").update(gateway_id=gateway_id):
        return []
    return [candidate]


def _device_status_changed(payload):
    device_id = payload.get("device_id")
    if device_id and device_id != settings.KIRIMWA_DEVICE_ID:
        return  # another device on the same KirimWA account
    if payload.get("status") == "disconnected":
        pauses.device_status_changed(connected=False)
    elif payload.get("status") == "connected":
        pauses.device_status_changed(connected=True)


def _incoming_message(payload):
    text = str(payload.get("text") or "").strip().strip(".!").lower()
    if text not in STOP_WORDS or payload.get("is_group_message"):
        return
    try:
        # The sender may come as a WhatsApp JID: 6281234567890@s.whatsapp.net.
        phone = normalize_phone(str(payload.get("sender") or "").split("@")[0])
    except InvalidPhoneNumber:
        return
    for customer in Customer.objects.filter(phone=phone, whatsapp_opt_out=False):
        outbox.opt_out(customer)
        logger.info("Customer %s opted out of WhatsApp by replying %r", customer.pk, text)
