import io
import json
import logging
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.urls import reverse

from crm.logs import JSONFormatter, MaskSecretsFilter
from tests.gunicorn_server import gunicorn, stopped

ROOT = Path(__file__).resolve().parent.parent


def test_a_log_line_is_one_json_object_with_the_exception():
    try:
        raise ValueError("nomor tidak valid")
    except ValueError:
        record = logging.getLogger("crm.whatsapp").makeRecord(
            "crm.whatsapp", logging.ERROR, __file__, 1, "Gagal kirim ke %s", ("6281",),
            exc_info=sys.exc_info(),
        )
    line = JSONFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "crm.whatsapp"
    assert entry["message"] == "Gagal kirim ke 6281"
    assert "ValueError: nomor tidak valid" in entry["exception"]


@pytest.fixture
def console():
    """What the project's console handler (settings.LOGGING) writes during the test."""
    [handler] = [handler for handler in logging.getLogger().handlers if handler.name == "console"]
    output = io.StringIO()
    previous = handler.setStream(output)
    yield output
    handler.setStream(previous)


def test_the_webhook_token_never_reaches_the_logs(client, db, settings, console, caplog):
    right = settings.KIRIMWA_WEBHOOK_TOKEN
    wrong = "wrong-" + right  # a near miss is as secret as the token
    client.post(reverse("kirimwa_webhook", args=[wrong]), {})  # 404
    client.post(reverse("kirimwa_webhook", args=[right]), "x", content_type="application/json")
    client.get(reverse("kirimwa_webhook", args=[right]))  # 405
    # runserver's request line goes through the same handler.
    logging.getLogger("django.server").info('"%s" %s', f"GET /whatsapp/webhook/{right}/", 405)

    written = console.getvalue()
    assert "Not Found: /whatsapp/webhook/***/" in written
    assert "Bad Request: /whatsapp/webhook/***/" in written
    assert "Method Not Allowed (GET): /whatsapp/webhook/***/" in written
    assert '"GET /whatsapp/webhook/***/" 405' in written
    assert right not in written and wrong not in written
    # The record itself is masked, so handlers after the console's see it masked too.
    assert len([r for r in caplog.records if r.name == "django.request"]) == 3
    assert right not in caplog.text and wrong not in caplog.text


def make_record(message, *args, exc_info=None):
    return logging.getLogger("crm.whatsapp").makeRecord(
        "crm.whatsapp", logging.ERROR, __file__, 1, message, args, exc_info=exc_info,
    )


def test_the_kirimwa_tokens_are_masked_anywhere_in_a_line_and_its_exception(settings):
    settings.KIRIMWA_API_TOKEN = api_token = secrets.token_urlsafe(24)
    try:
        raise RuntimeError(f"KirimWA answered 401: token {api_token} is not valid")
    except RuntimeError:
        record = make_record("Gagal kirim: %s (%s)", api_token, settings.KIRIMWA_WEBHOOK_TOKEN,
                             exc_info=sys.exc_info())
    assert MaskSecretsFilter().filter(record) is True  # masks, never drops
    assert record.getMessage() == "Gagal kirim: *** (***)"
    for formatter in (logging.Formatter(), JSONFormatter()):
        line = formatter.format(record)
        assert "token *** is not valid" in line and api_token not in line


def test_ordinary_lines_are_left_alone():
    record = make_record("Diskon %d%% untuk %s", 10, "/admin/crm/customer/")
    MaskSecretsFilter().filter(record)
    assert record.getMessage() == "Diskon 10% untuk /admin/crm/customer/"


def post(url):
    request = urllib.request.Request(url, data=b"{}", headers={"Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code


def test_gunicorn_as_the_entrypoint_runs_it_masks_the_token_in_its_access_log(tmp_path):
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert "--config python:project.gunicorn_conf" in entrypoint
    token = secrets.token_urlsafe(32)
    with gunicorn(tmp_path, stderr=subprocess.STDOUT, KIRIMWA_WEBHOOK_TOKEN=token) as (
        server, port
    ):
        assert post(f"http://127.0.0.1:{port}/whatsapp/webhook/{token}x/") == 404
        assert post(f"http://127.0.0.1:{port}/whatsapp/webhook/{token}/") == 200
    output = stopped(server)[0]
    assert output.count('"POST /whatsapp/webhook/***/ HTTP/1.1" 404') == 1, output
    assert output.count('"POST /whatsapp/webhook/***/ HTTP/1.1" 200') == 1, output
    assert token not in output
