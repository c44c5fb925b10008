"""The e-mails identity sends: links only, no social data (no customer number, no Jobcenter, no case)."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import quote

SIGNATURE = "\n\nIhr Jobcenter-Portal\n(Diese E-Mail wurde automatisch erstellt. Bitte antworten Sie nicht darauf.)\n"


def _message(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body + SIGNATURE)
    return message


def confirmation(to: str, public_url: str, token: str) -> EmailMessage:
    link = f"{public_url}/konto/bestaetigen?token={quote(token)}"
    return _message(
        to,
        "Bitte bestätigen Sie Ihre E-Mail-Adresse",
        "Guten Tag,\n\nSie haben ein Konto im Jobcenter-Portal angelegt. Bitte bestätigen Sie Ihre "
        f"E-Mail-Adresse mit diesem Link (gültig 48 Stunden):\n\n{link}\n\n"
        "Haben Sie kein Konto angelegt, können Sie diese E-Mail einfach löschen.",
    )


def already_registered(to: str, public_url: str) -> EmailMessage:
    return _message(
        to,
        "Sie haben schon ein Konto im Jobcenter-Portal",
        "Guten Tag,\n\njemand wollte mit dieser E-Mail-Adresse ein Konto anlegen. Es gibt aber schon eines. "
        f"Melden Sie sich an unter {public_url}/anmelden oder setzen Sie dort Ihr Passwort zurück.\n\n"
        "Waren Sie das nicht, müssen Sie nichts tun.",
    )


def password_reset(to: str, public_url: str, token: str) -> EmailMessage:
    link = f"{public_url}/konto/passwort-neu?token={quote(token)}"
    return _message(
        to,
        "Neues Passwort für das Jobcenter-Portal",
        "Guten Tag,\n\nmit diesem Link vergeben Sie ein neues Passwort. Er gilt eine Stunde und nur einmal:"
        f"\n\n{link}\n\nHaben Sie das nicht angefordert, können Sie diese E-Mail löschen; Ihr Passwort bleibt.",
    )


def staff_invitation(to: str, public_url: str, token: str) -> EmailMessage:
    link = f"{public_url}/konto/passwort-neu?token={quote(token)}"
    return _message(
        to,
        "Ihr Zugang zum Jobcenter-Portal",
        "Guten Tag,\n\nfür Sie wurde ein Zugang zum Jobcenter-Portal eingerichtet. Vergeben Sie mit diesem Link "
        f"Ihr Passwort (gültig eine Stunde):\n\n{link}\n\nBei der ersten Anmeldung richten Sie eine "
        "Authenticator-App oder einen Passkey als zweiten Faktor ein.",
    )


def email_change(to: str, public_url: str, token: str) -> EmailMessage:
    link = f"{public_url}/e-mail-aendern/bestaetigen?token={quote(token)}"
    return _message(
        to,
        "Bitte bestätigen Sie Ihre neue E-Mail-Adresse",
        "Guten Tag,\n\nSie möchten im Jobcenter-Portal diese E-Mail-Adresse benutzen. Bitte bestätigen Sie das "
        f"mit diesem Link (gültig 24 Stunden):\n\n{link}\n\n"
        "Waren Sie das nicht, können Sie diese E-Mail einfach löschen.",
    )


def email_change_requested(to: str, public_url: str) -> EmailMessage:
    return _message(
        to,
        "Ihre E-Mail-Adresse im Jobcenter-Portal soll geändert werden",
        "Guten Tag,\n\nfür Ihr Konto im Jobcenter-Portal wurde eine neue E-Mail-Adresse angegeben. Sie gilt erst, "
        "wenn der Link in der E-Mail an die neue Adresse bestätigt wird.\n\n"
        f"Waren Sie das nicht, ändern Sie bitte sofort Ihr Passwort: {public_url}/passwort-vergessen",
    )
