"""``[log] format = "json"``: one JSON object per line, for log collectors.

Fields: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and, with a traceback,
``exc``. The formatter runs after the privacy filter of log.py, so it sees the masked
message; it adds nothing from the record's arguments, so no address or subject gets in
by another path.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            out["exc"] = record.exc_text
        elif record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)
