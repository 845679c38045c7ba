import logging
import re
import socket

import pytest

from crm.whatsapp import gateway
from crm.whatsapp.gateway import (
    PERMANENT,
    RETRYABLE,
    UNKNOWN,
    ConsoleBackend,
    DeliveryStatus,
    GatewayError,
    KirimWABackend,
    MemoryBackend,
    get_backend,
)

PHONE = "6281234567890"
KWID = re.compile(r"kwid-[0-9a-f]{27}")


@pytest.fixture
def backend(fake_kirimwa):
    """A KirimWA client pointed at the fake, with timeouts short enough for tests."""
    return KirimWABackend(
        api_url=fake_kirimwa.url,
        token=fake_kirimwa.token,
        device_id=fake_kirimwa.device_id,
        connect_timeout=0.5,
        read_timeout=0.5,
    )


@pytest.fixture
def memory_backend():
    MemoryBackend.reset()
    yield MemoryBackend()
    MemoryBackend.reset()


@pytest.fixture
def closed_port():
    """A port nothing listens on: bound but never listening, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def full_backlog_port():
    """A port whose accept queue is full: Linux drops the SYN, so connecting times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in [*fillers, listener]:
        sock.close()


def send_failure(backend, fake, mode):
    fake.fail_next(mode)
    with pytest.raises(GatewayError) as error:
        backend.send_text(PHONE, "Halo")
    return error.value


# --- KirimWABackend.send_text ---------------------------------------------------------


def test_it_posts_the_message_as_json_and_returns_the_gateways_id(backend, fake_kirimwa):
    gateway_id = backend.send_text(PHONE, "Pesanan Anda sudah dikirim")

    [request] = fake_kirimwa.requests
    assert request["method"] == "POST"
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer test-token"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == {
        "phone_number": PHONE,
        "message": "Pesanan Anda sudah dikirim",
        "device_id": "toko-blitar",
        "message_type": "text",
    }
    assert KWID.fullmatch(gateway_id)
    assert fake_kirimwa.sent == [
        {"id": gateway_id, "phone_number": PHONE, "message": "Pesanan Anda sudah dikirim"}
    ]


@pytest.mark.parametrize("phone", ["+6281234567890", "0812-3456-7890", "", "６２８１２"])
def test_it_refuses_a_number_that_is_not_digits_without_calling_the_gateway(
    backend, fake_kirimwa, phone
):
    with pytest.raises(GatewayError) as error:
        backend.send_text(phone, "Halo")

    assert error.value.kind == PERMANENT
    assert fake_kirimwa.requests == []


def test_it_requires_a_token_before_any_call(fake_kirimwa, settings):
    settings.KIRIMWA_API_TOKEN = ""
    backend = KirimWABackend(api_url=fake_kirimwa.url, device_id="toko-blitar")

    with pytest.raises(GatewayError, match="KIRIMWA_API_TOKEN") as error:
        backend.send_text(PHONE, "Halo")

    assert error.value.kind == PERMANENT
    assert fake_kirimwa.requests == []


@pytest.mark.parametrize(
    "mode, kind, status_code, message",
    [
        ("401", PERMANENT, 401, "Unauthorized"),
        ("404_device", PERMANENT, 404, "Error: Device not found."),
        ("429", RETRYABLE, 429, "Too many requests."),
        ("503", RETRYABLE, 503, "Service unavailable."),
        ("500", UNKNOWN, 500, "Internal server error."),
    ],
)
def test_it_maps_an_error_answer_to_what_the_caller_may_do(
    backend, fake_kirimwa, mode, kind, status_code, message
):
    error = send_failure(backend, fake_kirimwa, mode)

    assert error.kind == kind
    assert error.status_code == status_code
    assert message in str(error)
    assert str(status_code) in str(error)


def test_a_real_device_not_found_answer_is_permanent(fake_kirimwa):
    backend = KirimWABackend(
        api_url=fake_kirimwa.url, token=fake_kirimwa.token, device_id="hp-lama"
    )

    with pytest.raises(GatewayError, match="Device not found") as error:
        backend.send_text(PHONE, "Halo")

    assert (error.value.kind, error.value.status_code) == (PERMANENT, 404)


def test_a_real_bad_token_answer_is_permanent(fake_kirimwa):
    backend = KirimWABackend(api_url=fake_kirimwa.url, token="salah", device_id="toko-blitar")

    with pytest.raises(GatewayError, match="Unauthorized") as error:
        backend.send_text(PHONE, "Halo")

    assert (error.value.kind, error.value.status_code) == (PERMANENT, 401)


def test_a_success_answer_that_is_not_json_leaves_the_outcome_unknown(backend, fake_kirimwa):
    error = send_failure(backend, fake_kirimwa, "garbage")

    assert error.kind == UNKNOWN
    assert error.status_code == 200


def test_a_read_timeout_is_unknown_because_the_gateway_got_the_message(backend, fake_kirimwa):
    error = send_failure(backend, fake_kirimwa, "hang")

    assert error.kind == UNKNOWN
    assert error.status_code is None
    # The reason a timed-out send must not be resent: the gateway queued it.
    assert len(fake_kirimwa.requests) == 1
    assert [message["phone_number"] for message in fake_kirimwa.sent] == [PHONE]


def test_a_connection_dropped_after_sending_is_unknown(backend, fake_kirimwa):
    error = send_failure(backend, fake_kirimwa, "drop")

    assert error.kind == UNKNOWN
    assert len(fake_kirimwa.requests) == 1


def test_a_refused_connection_is_retryable(closed_port):
    backend = KirimWABackend(api_url=f"http://127.0.0.1:{closed_port}/v1", token="t", device_id="d")

    with pytest.raises(GatewayError, match="KirimWA request failed") as error:
        backend.send_text(PHONE, "Halo")

    assert error.value.kind == RETRYABLE
    assert error.value.status_code is None


def test_a_connect_timeout_is_retryable(full_backlog_port):
    backend = KirimWABackend(
        api_url=f"http://127.0.0.1:{full_backlog_port}/v1",
        token="t",
        device_id="d",
        connect_timeout=0.2,
    )

    with pytest.raises(GatewayError) as error:
        backend.send_text(PHONE, "Halo")

    assert error.value.kind == RETRYABLE


@pytest.mark.parametrize(
    "mode", ["401", "404_device", "429", "500", "503", "garbage", "hang", "drop"]
)
def test_it_never_retries_by_itself(backend, fake_kirimwa, mode):
    fake_kirimwa.fail_next(mode, times=2)

    with pytest.raises(GatewayError):
        backend.send_text(PHONE, "Halo")

    assert len(fake_kirimwa.requests) == 1


def test_it_sends_normally_once_the_injected_failures_are_used_up(backend, fake_kirimwa):
    send_failure(backend, fake_kirimwa, "503")

    assert KWID.fullmatch(backend.send_text(PHONE, "Halo lagi"))


# --- KirimWABackend.status -------------------------------------------------------------


@pytest.mark.parametrize(
    "gateway_status, state",
    [("success", "delivered"), ("fail", "failed"), ("pending", "pending")],
)
def test_status_maps_the_gateways_status(backend, fake_kirimwa, gateway_status, state):
    gateway_id = backend.send_text(PHONE, "Halo")
    fake_kirimwa.set_status(gateway_id, gateway_status)

    assert backend.status(gateway_id).state == state
    assert fake_kirimwa.requests[-1]["path"] == f"/v1/messages/{gateway_id}"
    assert fake_kirimwa.requests[-1]["headers"]["Authorization"] == "Bearer test-token"


def test_status_of_a_failed_message_says_why(backend, fake_kirimwa):
    gateway_id = backend.send_text(PHONE, "Halo")
    fake_kirimwa.set_status(gateway_id, "fail")

    assert backend.status(gateway_id) == DeliveryStatus("failed", "Phone number is not on WhatsApp")


def test_status_of_an_unknown_message_is_a_permanent_error(backend):
    with pytest.raises(GatewayError) as error:
        backend.status("kwid-" + "0" * 27)

    assert (error.value.kind, error.value.status_code) == (PERMANENT, 404)


# --- ConsoleBackend and MemoryBackend ----------------------------------------------------


def test_the_console_backend_prints_and_logs_the_message(capsys, caplog):
    with caplog.at_level(logging.INFO, logger="crm.whatsapp"):
        gateway_id = ConsoleBackend().send_text(PHONE, "Halo Bu Siti")

    assert capsys.readouterr().out == "WhatsApp to 6281234567890: Halo Bu Siti\n"
    assert caplog.messages == ["WhatsApp to 6281234567890: Halo Bu Siti"]
    assert re.fullmatch(r"console-[0-9a-f]{27}", gateway_id)
    assert ConsoleBackend().status(gateway_id).state == "delivered"


def test_the_memory_backend_keeps_what_it_sends(memory_backend):
    gateway_id = memory_backend.send_text(PHONE, "Halo")

    assert MemoryBackend.outbox == [(PHONE, "Halo", gateway_id)]
    assert KWID.fullmatch(gateway_id)
    assert memory_backend.status(gateway_id) == DeliveryStatus("delivered")


def test_the_memory_backend_fails_the_next_sends_as_told(memory_backend):
    MemoryBackend.fail_next(RETRYABLE, times=2)

    for _ in range(2):
        with pytest.raises(GatewayError) as error:
            memory_backend.send_text(PHONE, "Halo")
        assert error.value.kind == RETRYABLE
    memory_backend.send_text(PHONE, "Halo")

    assert len(MemoryBackend.outbox) == 1


def test_the_memory_backend_answers_the_status_it_was_given(memory_backend):
    gateway_id = memory_backend.send_text(PHONE, "Halo")
    MemoryBackend.set_status(gateway_id, "failed", "Nomor tidak terdaftar di WhatsApp")

    assert memory_backend.status(gateway_id) == DeliveryStatus(
        "failed", "Nomor tidak terdaftar di WhatsApp"
    )


def test_the_memory_backend_rejects_a_number_that_is_not_digits(memory_backend):
    with pytest.raises(GatewayError) as error:
        memory_backend.send_text("0812 3456 7890", "Halo")

    assert error.value.kind == PERMANENT
    assert MemoryBackend.outbox == []


def test_reset_empties_the_memory_backend(memory_backend):
    memory_backend.send_text(PHONE, "Halo")
    MemoryBackend.fail_next(UNKNOWN)

    MemoryBackend.reset()

    assert MemoryBackend.outbox == []
    memory_backend.send_text(PHONE, "Halo")


# --- get_backend -------------------------------------------------------------------------


def test_without_a_token_the_messages_go_to_the_console(settings):
    settings.WHATSAPP_BACKEND = ""
    settings.KIRIMWA_API_TOKEN = ""

    assert type(get_backend()) is ConsoleBackend


def test_with_a_token_the_messages_go_to_kirimwa(settings):
    settings.WHATSAPP_BACKEND = ""
    settings.KIRIMWA_API_TOKEN = "rahasia"
    settings.KIRIMWA_DEVICE_ID = "toko-blitar"
    settings.KIRIMWA_API_URL = "https://api.kirimwa.id/v1"
    settings.KIRIMWA_CONNECT_TIMEOUT = 3
    settings.KIRIMWA_READ_TIMEOUT = 10

    backend = get_backend()

    assert type(backend) is KirimWABackend
    assert (backend.api_url, backend.token, backend.device_id) == (
        "https://api.kirimwa.id/v1",
        "rahasia",
        "toko-blitar",
    )
    assert backend.timeout == (3, 10)
    assert backend.session.headers["Authorization"] == "Bearer rahasia"


def test_the_defaults_apply_when_settings_are_missing(settings):
    for name in ["KIRIMWA_API_URL", "KIRIMWA_CONNECT_TIMEOUT", "KIRIMWA_READ_TIMEOUT"]:
        if hasattr(settings, name):
            delattr(settings, name)

    backend = KirimWABackend(token="t", device_id="d")

    assert backend.api_url == gateway.DEFAULT_API_URL == "https://api.kirimwa.id/v1"
    assert backend.timeout == (5, 20)


def test_the_dotted_path_setting_chooses_the_backend(settings):
    settings.WHATSAPP_BACKEND = "crm.whatsapp.gateway.MemoryBackend"
    settings.KIRIMWA_API_TOKEN = "rahasia"

    assert type(get_backend()) is MemoryBackend
