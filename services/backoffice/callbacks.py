"""Callbacks: an HTTPS POST to a client's registered URL when a new case is available to its Jobcenter.

The body is ``{"type": "case_available", "case_id": ..., "jobcenter_id": ...}`` (ids only), signed as
``verify.py`` describes. Each callback is a row of ``backoffice_callbacks``, written in the transaction
that records the case, so it survives a restart. A timer on every instance sends the due ones: it claims
a row by moving its next attempt forward (only one instance wins), POSTs, and on anything but a 2xx
answer tries again after ``BACKOFF_SECONDS`` x 2^(attempts-1) (at most an hour) until ``MAX_ATTEMPTS``,
then gives up: logged and counted in ``portal_backoffice_callbacks_total{outcome="failed"}``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from prometheus_client import Counter
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from services.backoffice.clients import Settings, callback_secret, check_callback_url
from services.backoffice.schema import callbacks, clients
from services.backoffice.verify import SIGNATURE_HEADER, TIMESTAMP_HEADER, callback_signature
from shared.errors import InvalidInput
from shared.metrics import REGISTRY
from shared.sql import ServiceDatabase

log = logging.getLogger(__name__)

CALLBACKS_SENT = Counter(
    "portal_backoffice_callbacks",
    "Callbacks to Jobcenter systems by outcome: delivered, retry (answered badly or not at all), failed (given up).",
    ["outcome"],
    registry=REGISTRY,
)
MAX_BACKOFF = timedelta(hours=1)
# While one instance sends a callback, the others leave it alone for this long.
CLAIM_SECONDS = 120
BATCH = 50


def case_available_body(case_id: str, jobcenter_id: str) -> str:
    return json.dumps({"type": "case_available", "case_id": case_id, "jobcenter_id": jobcenter_id})


def schedule(session: Session, client_ids: list[str], body: str, now: datetime) -> None:
    """Queue one callback per client, due now, in the caller's transaction."""
    for client_id in client_ids:
        session.execute(
            insert(callbacks).values(
                callback_id=str(uuid.uuid4()),
                client_id=client_id,
                body=body,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


class CallbackSender:
    """Sends due callbacks with retries and backoff persisted in the database."""

    def __init__(self, db: ServiceDatabase, settings: Settings, http: requests.Session | None = None) -> None:
        self.db = db
        self.settings = settings
        self.http = http or requests.Session()

    def send_due(self, now: datetime | None = None) -> int:
        """Attempt every due callback once; returns how many were attempted."""
        moment = now or datetime.now(UTC)
        with self.db.transaction() as session:
            due = session.execute(
                select(callbacks.c.callback_id, callbacks.c.next_attempt_at)
                .where(callbacks.c.state == "pending", callbacks.c.next_attempt_at <= moment)
                .order_by(callbacks.c.next_attempt_at)
                .limit(BATCH)
            ).all()
        attempted = 0
        for callback_id, seen in due:
            claimed = self._claim(callback_id, seen, moment)
            if claimed is not None:
                self._attempt(claimed)
                attempted += 1
        return attempted

    def _claim(self, callback_id: str, seen: datetime, now: datetime) -> dict[str, Any] | None:
        with self.db.transaction() as session:
            claimed = session.execute(
                update(callbacks)
                .where(
                    callbacks.c.callback_id == callback_id,
                    callbacks.c.state == "pending",
                    callbacks.c.next_attempt_at == seen,
                )
                .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS), attempts=callbacks.c.attempts + 1)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None  # another instance took it
            row = (
                session.execute(
                    select(callbacks, clients.c.callback_url, clients.c.secret_generation, clients.c.disabled_at)
                    .join(clients, clients.c.client_id == callbacks.c.client_id)
                    .where(callbacks.c.callback_id == callback_id)
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    def _attempt(self, row: dict[str, Any]) -> None:
        callback_id = str(row["callback_id"])
        if row["disabled_at"] is not None or not row["callback_url"]:
            self._finish(callback_id, "failed", "CLIENT_DISABLED")
            return
        try:
            url = check_callback_url(str(row["callback_url"]), self.settings.allow_http_callbacks)
        except InvalidInput:
            self._finish(callback_id, "failed", "URL_NOT_ALLOWED")
            log.error("callback_given_up", extra={"code": "URL_NOT_ALLOWED", "target": callback_id})
            CALLBACKS_SENT.labels("failed").inc()
            return
        assert url is not None
        body = str(row["body"]).encode()
        timestamp = str(int(time.time()))
        secret = callback_secret(self.settings, str(row["client_id"]), int(row["secret_generation"]))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: callback_signature(secret, timestamp, body),
        }
        try:
            answer = self.http.post(
                url, data=body, headers=headers, timeout=self.settings.callback_timeout, allow_redirects=False
            )
            status = str(answer.status_code)
            delivered = 200 <= answer.status_code < 300
        except requests.RequestException as problem:
            status, delivered = type(problem).__name__, False
        if delivered:
            self._finish(callback_id, "delivered", status)
            CALLBACKS_SENT.labels("delivered").inc()
            log.info("callback_delivered", extra={"target": callback_id, "attempt": row["attempts"]})
            return
        attempts = int(row["attempts"])
        if attempts >= self.settings.callback_max_attempts:
            self._finish(callback_id, "failed", status)
            CALLBACKS_SENT.labels("failed").inc()
            log.error("callback_given_up", extra={"target": callback_id, "attempt": attempts, "status": status})
            return
        pause = min(self.settings.callback_backoff * (2 ** (attempts - 1)), MAX_BACKOFF)
        with self.db.transaction() as session:
            session.execute(
                update(callbacks)
                .where(callbacks.c.callback_id == callback_id)
                .values(next_attempt_at=datetime.now(UTC) + pause, last_status=status)
            )
        CALLBACKS_SENT.labels("retry").inc()
        log.warning("callback_retry_scheduled", extra={"target": callback_id, "attempt": attempts, "status": status})

    def _finish(self, callback_id: str, state: str, status: str) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(callbacks).where(callbacks.c.callback_id == callback_id).values(state=state, last_status=status)
            )
