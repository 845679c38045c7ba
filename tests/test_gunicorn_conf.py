"""gunicorn's own logs (project/gunicorn_conf.py): on stderr, as JSON lines in the image."""

import json
import urllib.error
import urllib.request

from tests.gunicorn_server import gunicorn, stopped


def serve(tmp_path, log_format):
    """Start gunicorn as docker/entrypoint.sh does, make two requests, return (stdout, stderr)."""
    with gunicorn(tmp_path, LOG_FORMAT=log_format) as (server, port):
        for path in ("/admin/login/?next=/admin/", "/whatsapp/webhook/a-guessed-token/"):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
            except urllib.error.HTTPError:
                pass
    return stopped(server)


def test_it_writes_json_lines_to_stderr_with_the_access_lines_parts(tmp_path):
    stdout, stderr = serve(tmp_path, "json")
    assert stdout == ""
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert {"gunicorn.error", "gunicorn.access"} <= {record["logger"] for record in records}
    access = [record for record in records if record["logger"] == "gunicorn.access"]
    login, webhook = access
    assert login["method"] == "GET" and login["status"] == 200
    assert login["path"] == "/admin/login/?next=/admin/"
    assert isinstance(login["duration_ms"], int) and login["user_agent"].startswith("Python")
    # The webhook's token is masked in the fields as in the line.
    assert webhook["path"] == "/whatsapp/webhook/***/" and webhook["status"] == 405  # GET
    assert "a-guessed-token" not in stderr


def test_it_writes_plain_lines_to_stderr_without_json(tmp_path):
    stdout, stderr = serve(tmp_path, "text")
    assert stdout == ""
    assert '"GET /admin/login/?next=/admin/ HTTP/1.1" 200' in stderr
    assert not stderr.lstrip().startswith("{")
