"""KirimWA's webhook: delivery reports and incoming messages (STOP opts out).

KirimWA publishes no signing scheme, so the URL carries a secret token
(KIRIMWA_WEBHOOK_TOKEN), compared in constant time. Deliveries may repeat:
every update is idempotent, and ids we never sent are ignored.
"""

import json
import logging

from django.conf import settings
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm.models import Customer
from crm.phones import InvalidPhoneNumber, normalize_phone
from crm.whatsapp import sender
from crm.whatsapp.models import Message

logger = logging.getLogger("crm.whatsapp")

STOP_WORDS = {"stop", "berhenti"}
_STATES = {"success": "delivered", "fail": "failed"}


@csrf_exempt  # called by KirimWA's servers, authenticated by the token in the URL
@require_POST
def kirimwa_webhook(request, token):
    expected = settings.KIRIMWA_WEBHOOK_TOKEN
    if not expected or not constant_time_compare(token, expected):
        raise Http404
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return HttpResponseBadRequest("not JSON")
    if not isinstance(payload, dict):
        return HttpResponseBadRequest("not a JSON object")
    kind = payload.get("webhook_type")
    if kind == "send_message_response":
        _delivery_report(payload)
    elif kind == "incoming_message":
        _incoming_message(payload.get("payload") or {})
    return JsonResponse({"ok": True})


def _delivery_report(payload):
    state = _STATES.get(payload.get("status"))
    gateway_id = payload.get("id")
    if not state or not isinstance(gateway_id, str) or not gateway_id:
        return
    for message in Message.objects.filter(gateway_id=gateway_id):
        sender.apply_delivery_status(
            message, state, str(payload.get("message") or ""), timezone.now()
        )


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
        sender.opt_out(customer)
        logger.info("Customer %s opted out of WhatsApp by replying %r", customer.pk, text)
