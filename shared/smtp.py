"""The SMTP relay a service sends e-mail through, from the ``SMTP`` section of its config."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from nameko.extensions import DependencyProvider


class SmtpRelay(DependencyProvider):
    """Opens a connection per call; a relay that is down raises, and the caller decides to retry."""

    health_name = "smtp"

    def setup(self) -> None:
        settings = self.container.config["SMTP"]
        self.host = str(settings["HOST"])
        self.port = int(settings["PORT"])
        self.starttls = bool(settings["STARTTLS"])
        self.username = str(settings.get("USERNAME") or "")
        self.password = str(settings.get("PASSWORD") or "")
        self.sender = str(settings["SENDER"])

    def get_dependency(self, worker_ctx: Any) -> SmtpRelay:
        return self

    def _connect(self) -> smtplib.SMTP:
        connection = smtplib.SMTP(self.host, self.port, timeout=10)
        if self.starttls:
            connection.starttls()
        if self.username:
            connection.login(self.username, self.password)
        return connection

    def send(self, message: EmailMessage) -> None:
        """Send one message from the configured sender."""
        if "From" not in message:
            message["From"] = self.sender
        with self._connect() as connection:
            connection.send_message(message)

    def check_health(self) -> None:
        with self._connect() as connection:
            code, _ = connection.noop()
            if code != 250:
                raise smtplib.SMTPResponseException(code, b"NOOP refused")
