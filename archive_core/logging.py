"""Structured (JSON lines) logging for machines, plain lines for a terminal."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from archive_core.timeutil import iso_vn

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": iso_vn(datetime.fromtimestamp(record.created, UTC), millis=True),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Log to stderr so that `--json` output on stdout stays machine-readable."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in _NOISY_LIBRARIES:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # pyHanko logs every expected validation failure with a traceback; ours are findings.
    for chatty in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(chatty).setLevel(logging.CRITICAL)


_NOISY_LIBRARIES = ("fontTools", "fpdf", "pikepdf", "urllib3", "asyncio", "botocore", "boto3", "alembic")
