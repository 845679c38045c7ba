"""One JSON object per log line, for log collectors reading a container's stdout."""

import json
import logging
from datetime import UTC, datetime


class JSONFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message"}`` plus the exception, if any."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
