"""The KirimWA webhook answers 400 (or 413) to anything it cannot read,
never 500, and changes nothing then (crm/whatsapp/webhooks.py)."""

import json

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.models import Customer, Message

URL = reverse("kirimwa_webhook", args=["webhook-secret-for-tests"])
KINDS = ["send_message_response", "incoming_message", "device_status_changed", "other"]


def post(client, body):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return client.post(URL, body, content_type="application/json")


@pytest.mark.parametrize("payload", [
    {"webhook_type": "incoming_message", "payload": "x"},
    {"webhook_type": "incoming_message", "payload": {"sender": ["62812"], "text": "STOP"}},
    {"webhook_type": "incoming_message", "payload": {"sender": "6281234567890", "text": 5}},
    {"webhook_type": "send_message_response", "id": {"a": 1}, "status": "success"},
    {"webhook_type": "send_message_response", "id": "kwid-1", "status": ["success"]},
    {"webhook_type": ["send_message_response"]},
    {"webhook_type": 7},
])
def test_a_known_report_with_fields_of_the_wrong_type_is_a_400(client, db, payload):
    assert post(client, payload).status_code == 400


def test_deep_or_large_bodies_are_refused_before_parsing(client, db):
    # 30,000 deep: under the size limit, far past the nesting one.
    assert post(client, b"[" * 30_000 + b"]" * 30_000).status_code == 400
    assert post(client, b"[" * 100_000 + b"]" * 100_000).status_code == 413
    assert post(client, b'{"webhook_type": "x", "a": ' + b"[" * 50 + b"]" * 50 + b"}"
                ).status_code == 400
    big = {"webhook_type": "incoming_message",
           "payload": {"sender": "6281234567890", "text": "x" * 70_000}}
    assert post(client, big).status_code == 413


def test_brackets_inside_text_are_not_nesting(client, db):
    report = {"webhook_type": "incoming_message",
              "payload": {"sender": "6281234567890", "text": "[[[[" * 30 + '\\"{{{{' * 30}}
    assert post(client, report).status_code == 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
reports = st.fixed_dictionaries(
    {"webhook_type": st.sampled_from(KINDS) | json_values},
    optional={"id": json_values, "status": json_values, "message": json_values,
              "payload": json_values | st.fixed_dictionaries(
                  {}, optional={"sender": json_values, "text": json_values,
                                "is_group_message": json_values, "id": json_values})},
)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=reports | json_values)
def test_no_body_of_any_shape_is_a_server_error(client, db, body):
    response = post(client, body)
    assert response.status_code in (200, 400), (body, response.status_code)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200))
def test_no_bytes_are_a_server_error(client, db, body):
    assert post(client, body).status_code in (200, 400)


def test_a_refused_report_changes_nothing(client, make_customer):
    dewi = make_customer(name="Dewi", phone="0812-3456-7890")
    post(client, {"webhook_type": "incoming_message",
                  "payload": {"sender": "6281234567890", "text": "STOP",
                              "is_group_message": "no"}})
    dewi.refresh_from_db()
    assert not dewi.whatsapp_opt_out and not Message.objects.exists()
    assert Customer.objects.count() == 1
