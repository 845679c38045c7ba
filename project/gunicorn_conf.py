"""gunicorn settings that are code rather than flags (docker/entrypoint.sh passes the flags).

gunicorn writes its access and error logs itself, outside Django's LOGGING,
so they get what the app's console has: the webhook token in a request line
("POST /whatsapp/webhook/<token>/ HTTP/1.1") is masked, both go to stderr,
and with LOG_FORMAT=json (the Docker image's default) each record is one
JSON object per line, like the app's; an access line also carries its parts
(method, path, status, duration) as fields.
"""

import json
import logging
import os
import sys
from collections.abc import Mapping

from gunicorn.glogging import Logger

from crm.logs import JSONFormatter, MaskSecretsFilter, mask_secrets


class AccessFields(logging.Filter):
    """Keeps an access record's parts as fields: masking may flatten its arguments."""

    def filter(self, record):
        atoms = record.args if isinstance(record.args, Mapping) else None
        if atoms is not None and "s" in atoms:
            query = atoms.get("q") or ""
            record.http = {
                "client": atoms.get("h"),
                "method": atoms.get("m"),
                "path": mask_secrets(atoms.get("U") or "") + (f"?{query}" if query else ""),
                "status": int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"],
                "bytes": atoms.get("B"),
                "duration_ms": atoms.get("M"),
                "user_agent": atoms.get("a"),
            }
        return True


class GunicornJSONFormatter(JSONFormatter):
    def format(self, record):
        line = super().format(record)
        fields = getattr(record, "http", None)
        if fields is None:
            return line
        return json.dumps({**json.loads(line), **fields}, ensure_ascii=False)


class MaskingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)  # (re)creates the handlers, at start and on reload
        json_lines = os.environ.get("LOG_FORMAT", "text") == "json"
        for log in (self.access_log, self.error_log):
            for handler in log.handlers:
                # gunicorn writes "--access-logfile -" to stdout; the app logs to stderr.
                if getattr(handler, "stream", None) is sys.stdout:
                    handler.setStream(sys.stderr)
                if log is self.access_log:
                    handler.addFilter(AccessFields())
                handler.addFilter(MaskSecretsFilter())
                if json_lines:
                    handler.setFormatter(GunicornJSONFormatter())


logger_class = MaskingLogger
