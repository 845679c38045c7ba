import json
import logging
import sys

from crm.logs import JSONFormatter


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
