"""JSON logs, one object per line, with the service name and correlation id on every line.

The rule for personal data: log lines carry event names (snake_case), ids, codes, counts and
durations - never names, addresses, e-mail addresses, bank details or form content. It is enforced
twice: ``extra`` fields are emitted only when their key is on an allow-list, and every emitted text
(message, exception, allowed fields) is scrubbed of what looks like an e-mail address, IBAN or phone
number. ``shared/tests/test_logs.py`` and each service's tests check it.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from shared.correlation import current_correlation_id

# Keys a log call may pass in ``extra``; anything else is dropped with a marker, never printed.
SAFE_FIELDS = frozenset(
    {
        "account_id",
        "aggregate_id",
        "aggregate_version",
        "attempt",
        "case_id",
        "code",
        "count",
        "dependency",
        "document_id",
        "duration_ms",
        "error_code",
        "event_id",
        "event_type",
        "institution_id",
        "method",
        "path",
        "position",
        "role",
        "source",
        "status",
        "target",
    }
)

_SCRUBBERS = (
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"), "[iban]"),
    (re.compile(r"(?<![\w-])\+?\d[\d /-]{7,}\d\b"), "[number]"),
)
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


# Ids are uuids and never personal data; one in 300 random uuids begins like a phone number
# (48713392-5123-…), so the scrubbers work on the text between the uuids only.
_UUID = re.compile(r"\b([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\b")


def scrub(text: str) -> str:
    """Remove what looks like personal data from ``text``; uuids stay whole."""
    pieces = _UUID.split(text)  # the uuids at the odd places
    return "".join(piece if index % 2 else _scrub_between_ids(piece) for index, piece in enumerate(pieces))


def _scrub_between_ids(text: str) -> str:
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


class PortalJsonFormatter(JsonFormatter):
    """Formats a record as JSON with only allowed, scrubbed fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_record["timestamp"] = self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z"
        log_record["level"] = record.levelname
        log_record["service"] = self.service
        log_record["logger"] = record.name
        log_record["correlation_id"] = getattr(record, "correlation_id", None) or current_correlation_id()
        log_record["message"] = scrub(record.getMessage())
        dropped = []
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRIBUTES or key == "correlation_id":
                continue
            if key in SAFE_FIELDS:
                log_record[key] = scrub(value) if isinstance(value, str) else value
            else:
                dropped.append(key)
        if dropped:
            log_record["dropped_fields"] = sorted(dropped)
        if record.exc_info:
            log_record["exc_info"] = scrub(str(self.formatException(record.exc_info)))
        if record.stack_info:
            log_record["stack_info"] = scrub(str(self.formatStack(record.stack_info)))

    def process_log_record(self, log_record: dict[str, Any]) -> dict[str, Any]:
        log_record.pop("exc_text", None)
        return log_record


def configure_logging(service: str, level: str = "INFO", stream: Any = None) -> None:
    """Send every log record of this process to ``stream`` (stdout) as portal JSON."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(PortalJsonFormatter(service))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Library chatter at INFO would drown our events; their warnings still come through.
    for noisy in ("kombu", "amqp", "nameko", "eventlet", "urllib3", "botocore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
