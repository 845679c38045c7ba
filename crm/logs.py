"""Log records as people and log collectors read them: secrets masked, optionally JSON.

``MaskSecretsFilter`` sits on the console handler (settings.LOGGING) and on
gunicorn's access and error logs (project/gunicorn_conf.py). The webhook's
token is in its URL, and so in every line that names the path: Django's
"Not Found: /whatsapp/webhook/<token>/", gunicorn's access line, a
traceback. Whoever reads the logs could otherwise post delivery reports and
opt-outs.
"""

import json
import logging
import re
from datetime import UTC, datetime

from django.conf import settings

MASK = "***"
# Any token, right or wrong: a wrong one may be a near miss of the right one.
_WEBHOOK_PATH = re.compile(r"(/whatsapp/webhook/)[^/\s?#\"']+")
# A configured token shorter than this is not masked word by word (it would
# mask ordinary text); check --deploy refuses such a webhook token anyway.
_MIN_SECRET_LENGTH = 8


def _configured_secrets():
    if not settings.configured:  # gunicorn's master, before Django is loaded
        return []
    secrets = (
        getattr(settings, "KIRIMWA_WEBHOOK_TOKEN", ""),
        getattr(settings, "KIRIMWA_API_TOKEN", ""),
    )
    return [secret for secret in secrets if len(secret) >= _MIN_SECRET_LENGTH]


def mask_secrets(text):
    """``text`` with the webhook URL's token and the configured KirimWA tokens masked."""
    text = _WEBHOOK_PATH.sub(rf"\g<1>{MASK}", text)
    for secret in _configured_secrets():
        text = text.replace(secret, MASK)
    return text


class MaskSecretsFilter(logging.Filter):
    """Masks secrets in a record's message, exception and stack, for every handler after it."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format: the handler reports it as usual
            return True
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text once it is set.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info)
        return True


class JSONFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message"}`` plus the exception, if any.

    One JSON object per log line, for log collectors reading a container's stdout.
    """

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
