"""Sending e-mail through an SMTP relay, from the ``SMTP`` section of a service's config."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from nameko.extensions import DependencyProvider


class SmtpMailer:
    """Opens a connection per call; a relay that is down raises, and the caller decides to retry."""

    def __init__(
        self, host: str, port: int, sender: str, starttls: bool = False, username: str = "", password: str = ""
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.starttls = starttls
        self.username = username
        self.password = password

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


class SmtpRelay(DependencyProvider):
    """Gives a service its ``SmtpMailer``."""

    health_name = "smtp"

    def setup(self) -> None:
        settings = self.container.config["SMTP"]
        self.mailer = SmtpMailer(
            host=str(settings["HOST"]),
            port=int(settings["PORT"]),
            sender=str(settings["SENDER"]),
            starttls=bool(settings["STARTTLS"]),
            username=str(settings.get("USERNAME") or ""),
            password=str(settings.get("PASSWORD") or ""),
        )

    def get_dependency(self, worker_ctx: Any) -> SmtpMailer:
        return self.mailer

    def check_health(self) -> None:
        self.mailer.check_health()
