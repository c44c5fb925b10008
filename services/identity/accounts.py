"""Accounts, their roles and Jobcenter, and their passwords (argon2id, NIST 800-63B rules)."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from services.identity.schema import accounts
from services.identity.settings import IdentitySettings
from shared.auth import ADMIN, CASEWORKER, CITIZEN, TEAM_LEAD
from shared.errors import Conflict, InvalidInput, NotFound

MINIMUM_PASSWORD_LENGTH = 12
MAXIMUM_PASSWORD_LENGTH = 256
# zxcvbn's score 3 means "safely unguessable" (≥ 10^8 guesses) against its shipped lists of common
# and breached passwords, names and words; below that a password is refused. No composition rules.
MINIMUM_PASSWORD_SCORE = 3
# zxcvbn's time grows with length; beyond this many characters a password is strong by length alone.
_STRENGTH_CHECKED_CHARACTERS = 64


class Role(StrEnum):
    CITIZEN = CITIZEN
    CASEWORKER = CASEWORKER
    TEAM_LEAD = TEAM_LEAD
    ADMIN = ADMIN


STAFF_ROLES = (Role.CASEWORKER, Role.TEAM_LEAD)


class Status(StrEnum):
    # Registered, e-mail address not yet confirmed through the link.
    PENDING_CONFIRMATION = "pending_confirmation"
    ACTIVE = "active"
    DISABLED = "disabled"


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or len(value) > 254 or any(c.isspace() for c in value):
        raise InvalidInput("EMAIL_INVALID", "Bitte geben Sie eine gültige E-Mail-Adresse ein.")
    return value


def check_password_policy(password: str, context: list[str] | None = None) -> None:
    """Raises InvalidInput unless ``password`` is long enough and not common, breached or guessable."""
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        raise InvalidInput(
            "PASSWORD_TOO_SHORT", f"Das Passwort muss mindestens {MINIMUM_PASSWORD_LENGTH} Zeichen lang sein."
        )
    if len(password) > MAXIMUM_PASSWORD_LENGTH:
        raise InvalidInput("PASSWORD_TOO_LONG", f"Das Passwort darf höchstens {MAXIMUM_PASSWORD_LENGTH} Zeichen haben.")
    strength = zxcvbn(password[:_STRENGTH_CHECKED_CHARACTERS], user_inputs=context or [])
    if strength["score"] < MINIMUM_PASSWORD_SCORE:
        raise InvalidInput(
            "PASSWORD_TOO_COMMON",
            "Dieses Passwort ist zu leicht zu erraten oder schon in Datenlecks aufgetaucht. "
            "Wählen Sie bitte ein anderes, zum Beispiel mehrere zufällige Wörter.",
        )


def create_account(
    session: Session,
    settings: IdentitySettings,
    email: str,
    password: str | None,
    role: str,
    institution_id: str | None = None,
    customer_number: str | None = None,
    status: Status = Status.ACTIVE,
    display_name: str | None = None,
    name: PersonName | None = None,
) -> str:
    """Create an account; returns its random id. Raises InvalidInput or Conflict ``EMAIL_TAKEN``.

    Staff belong to exactly one Jobcenter; a citizen's Jobcenter comes with the activation code, their
    ``name`` (checked with ``checked_name``) with the registration.
    """
    address = normalise_email(email)
    try:
        account_role = Role(role)
    except ValueError:
        raise InvalidInput("ROLE_UNKNOWN", "Diese Rolle gibt es nicht.") from None
    check_scope(account_role, institution_id, customer_number)
    if password is not None:
        check_password_policy(password, [address])
    account_id = str(uuid.uuid4())
    try:
        with session.begin_nested():
            session.execute(
                accounts.insert().values(
                    account_id=account_id,
                    email=address,
                    password_hash=settings.hasher.hash(password) if password is not None else None,
                    role=account_role.value,
                    institution_id=institution_id,
                    customer_number=customer_number,
                    display_name=checked_display_name(display_name) if role != Role.CITIZEN.value else None,
                    **name_columns(name if account_role is Role.CITIZEN else None),
                    status=status.value,
                    created_at=datetime.now(UTC),
                    email_confirmed_at=None if status is Status.PENDING_CONFIRMATION else datetime.now(UTC),
                )
            )
    except IntegrityError:
        raise Conflict("EMAIL_TAKEN", "Für diese E-Mail-Adresse gibt es schon ein Konto.") from None
    return account_id


DISPLAY_NAME_MAX_LENGTH = 100


def checked_display_name(name: str | None) -> str | None:
    """A staff member's name for colleagues: one line of printable text, or None; InvalidInput otherwise."""
    if name is None or not str(name).strip():
        return None
    text = " ".join(str(name).split())
    if len(text) > DISPLAY_NAME_MAX_LENGTH or not text.isprintable():
        raise InvalidInput("DISPLAY_NAME_INVALID", "Bitte geben Sie einen Namen mit höchstens 100 Zeichen an.",
                           {"field": "display_name"})  # fmt: skip
    return text


# -- a citizen's name -------------------------------------------------------------------------------

NAME_MAX_LENGTH = 80
# Besides letters of any script (and their combining marks): space, hyphen, apostrophes and the dot of "Jr.".
_NAME_PUNCTUATION = frozenset(" -'.\u2019\u02bc")
_NAME_FIELDS = {"given_name": "Vornamen", "family_name": "Nachnamen"}


@dataclass(frozen=True)
class PersonName:
    """A citizen's name as they gave it: given name(s) and family name, each checked by ``checked_name_part``."""

    given_name: str
    family_name: str

    @property
    def search_key(self) -> str:
        return search_key(f"{self.given_name} {self.family_name}")


def checked_name_part(value: object, field: str) -> str:
    """One part of a name (``field``: ``given_name`` or ``family_name``), NFC and on one line with single spaces.

    1 to 80 characters: letters of any language with their accents, spaces, hyphen, apostrophe and dot,
    at least one letter; no digits, no control characters. InvalidInput ``NAME_INVALID`` naming the field.
    """
    text = one_line(value)
    if not is_name_text(text):
        what = _NAME_FIELDS.get(field, "Namen")
        raise InvalidInput(
            "NAME_INVALID",
            f"Bitte geben Sie Ihren {what} mit 1 bis {NAME_MAX_LENGTH} Zeichen an: Buchstaben, auch mit Akzenten, "
            "und wenn nötig Leerzeichen, Bindestrich, Apostroph oder Punkt. Ziffern gehören nicht dazu.",
            {"field": field},
        )
    return text


def one_line(value: object) -> str:
    """Text as NFC on one line with single spaces; "" for what is no text."""
    return " ".join(unicodedata.normalize("NFC", value).split()) if isinstance(value, str) else ""


def is_name_text(text: str) -> bool:
    """Whether ``text`` (``one_line``) can be a name or part of one: 1 to 80 characters, letters with their
    accents, spaces, hyphen, apostrophe and dot, and at least one letter."""
    allowed = all(c.isalpha() or unicodedata.category(c).startswith("M") or c in _NAME_PUNCTUATION for c in text)
    return 0 < len(text) <= NAME_MAX_LENGTH and allowed and any(c.isalpha() for c in text)


def checked_name(given_name: object, family_name: object) -> PersonName:
    """Both parts of a name, checked; InvalidInput ``NAME_INVALID`` naming the first wrong field."""
    return PersonName(checked_name_part(given_name, "given_name"), checked_name_part(family_name, "family_name"))


def search_key(text: str) -> str:
    """What a name is found by: lower case without accents ("Müller" and "muller" read "muller"), words split at
    spaces, hyphens and dots, apostrophes dropped ("O'Brien" reads "obrien")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    plain = "".join("" if c in "'\u2019\u02bc" else " " if c in "-." else c for c in plain)
    return " ".join(unicodedata.normalize("NFC", plain).split())


def name_columns(name: PersonName | None) -> dict[str, str | None]:
    """The account's name columns for ``name``; all None for none (staff, older accounts, a deleted account)."""
    if name is None:
        return {"given_name": None, "family_name": None, "name_key": None}
    return {"given_name": name.given_name, "family_name": name.family_name, "name_key": name.search_key}


def set_name(session: Session, account_id: str, name: PersonName) -> None:
    """Give a citizen's account a new name; Conflict ``STAFF_ACCOUNT`` for staff (they have a display name)."""
    if get(session, account_id)["role"] != Role.CITIZEN.value:
        raise Conflict("STAFF_ACCOUNT", "Mitarbeitende ändern ihren angezeigten Namen über die Administration.")
    session.execute(accounts.update().where(accounts.c.account_id == account_id).values(**name_columns(name)))


def name_of(row: dict[str, Any]) -> dict[str, str | None]:
    return {"given_name": row.get("given_name"), "family_name": row.get("family_name")}


MAX_FOUND_BY_NAME = 200


def citizens_named(session: Session, words: str, institution_id: str) -> list[str]:
    """Up to 200 ids of citizens one of whose given or family names starts with each of the ``words``
    (case and accents ignored), those whose activation code came from ``institution_id`` first.

    A citizen of another Jobcenter's code may still have cases here (moved), so they are not left out.
    """
    wanted = search_key(words).split()
    if not wanted:
        return []
    key = accounts.c.name_key
    conditions = [or_(key.startswith(word, autoescape=True), key.contains(" " + word, autoescape=True))
                  for word in wanted]  # fmt: skip
    own_first = case((accounts.c.institution_id == institution_id, 0), else_=1)
    query = (
        select(accounts.c.account_id)
        .where(accounts.c.role == Role.CITIZEN.value, key.is_not(None), *conditions)
        .order_by(own_first, key, accounts.c.account_id)
        .limit(MAX_FOUND_BY_NAME)
    )
    return [str(found) for found in session.execute(query).scalars()]


def check_scope(role: Role, institution_id: str | None, customer_number: str | None) -> None:
    if role in STAFF_ROLES and not institution_id:
        raise InvalidInput("INSTITUTION_REQUIRED", "Mitarbeitende gehören zu genau einem Jobcenter.")
    if role is Role.ADMIN and institution_id:
        raise InvalidInput("INSTITUTION_NOT_ALLOWED", "Betriebskonten gehören zu keinem Jobcenter.")
    if role is not Role.CITIZEN and customer_number:
        raise InvalidInput("CUSTOMER_NUMBER_NOT_ALLOWED", "Nur Kundinnen und Kunden haben eine Kundennummer.")


def find_by_email(session: Session, email: str) -> dict[str, Any] | None:
    try:
        address = normalise_email(email)
    except InvalidInput:
        return None
    row = session.execute(select(accounts).where(accounts.c.email == address)).mappings().first()
    return dict(row) if row else None


def find_citizen_by_customer_number(session: Session, customer_number: str) -> str | None:
    """The account id of the citizen with this (normalised) Kundennummer, or None."""
    query = select(accounts.c.account_id).where(
        accounts.c.customer_number == customer_number, accounts.c.role == Role.CITIZEN.value
    )
    found = session.execute(query.limit(1)).scalar_one_or_none()
    return str(found) if found else None


def described_for_staff(
    session: Session, account_ids: list[str], institution_id: str
) -> dict[str, dict[str, str | None]]:
    """What a caseworker of ``institution_id`` reads beside a case: a citizen's Kundennummer and name (None
    where not given), a colleague's display name (the address where none was given). Other accounts, and
    citizens with neither number nor name, are left out."""
    query = select(
        accounts.c.account_id, accounts.c.role, accounts.c.institution_id, accounts.c.customer_number,
        accounts.c.display_name, accounts.c.email, accounts.c.given_name, accounts.c.family_name,
    ).where(accounts.c.account_id.in_(account_ids))  # fmt: skip
    described: dict[str, dict[str, str | None]] = {}
    for row in session.execute(query):
        if row.role == Role.CITIZEN.value and (row.customer_number or row.family_name):
            described[str(row.account_id)] = {
                "customer_number": row.customer_number, "given_name": row.given_name, "family_name": row.family_name,
            }  # fmt: skip
        elif row.role in {role.value for role in STAFF_ROLES} and row.institution_id == institution_id:
            described[str(row.account_id)] = {"display_name": str(row.display_name or row.email)}
    return described


def get(session: Session, account_id: str) -> dict[str, Any]:
    """The account row; raises NotFound ``ACCOUNT_NOT_FOUND``."""
    row = session.execute(select(accounts).where(accounts.c.account_id == account_id)).mappings().first()
    if row is None:
        raise NotFound("ACCOUNT_NOT_FOUND", "Dieses Konto gibt es nicht.")
    return dict(row)


def staff_of(session: Session, institution_id: str) -> list[dict[str, str]]:
    """The active caseworkers and team leads of one Jobcenter, by address: id, role, work address and the name
    colleagues see (the address where none was given)."""
    query = (
        select(accounts.c.account_id, accounts.c.email, accounts.c.role, accounts.c.display_name)
        .where(
            accounts.c.institution_id == institution_id,
            accounts.c.role.in_([role.value for role in STAFF_ROLES]),
            accounts.c.status == Status.ACTIVE.value,
        )
        .order_by(accounts.c.email)
    )
    return [
        {
            "account_id": str(row.account_id),
            "email": str(row.email),
            "role": str(row.role),
            "display_name": row.display_name or str(row.email),
        }
        for row in session.execute(query)
    ]


def public_view(row: dict[str, Any]) -> dict[str, Any]:
    """What other services may learn of an account: no address, no password hash."""
    return {
        "account_id": row["account_id"],
        "role": row["role"],
        "institution_id": row["institution_id"],
        "customer_number": row["customer_number"],
        "status": row["status"],
    }


def check_password(
    session: Session, settings: IdentitySettings, email: str, password: str
) -> tuple[dict[str, Any] | None, bool]:
    """The account of ``email`` (None when unknown) and whether ``password`` is its password.

    As slow for unknown addresses as for known ones; rehashes on success when the configured
    argon2 parameters changed since the hash was made.
    """
    row = find_by_email(session, email)
    stored = row["password_hash"] if row and row["password_hash"] else settings.dummy_hash
    try:
        settings.hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return row, False
    if row is None or not row["password_hash"]:
        return row, False
    if settings.hasher.check_needs_rehash(stored):
        session.execute(
            accounts.update()
            .where(accounts.c.account_id == row["account_id"])
            .values(password_hash=settings.hasher.hash(password))
        )
    return row, True


def set_password(session: Session, settings: IdentitySettings, account_id: str, password: str) -> None:
    row = get(session, account_id)
    check_password_policy(password, [row["email"]])
    session.execute(
        accounts.update()
        .where(accounts.c.account_id == account_id)
        .values(password_hash=settings.hasher.hash(password))
    )


def set_status(session: Session, account_id: str, status: Status) -> None:
    values: dict[str, Any] = {"status": status.value}
    if status is Status.DISABLED:
        values["disabled_at"] = datetime.now(UTC)
    if status is Status.ACTIVE:
        values["disabled_at"] = None
    session.execute(accounts.update().where(accounts.c.account_id == account_id).values(**values))


def confirm_email(session: Session, account_id: str) -> None:
    session.execute(
        accounts.update()
        .where(accounts.c.account_id == account_id, accounts.c.status == Status.PENDING_CONFIRMATION.value)
        .values(status=Status.ACTIVE.value, email_confirmed_at=datetime.now(UTC))
    )


def change_role(session: Session, account_id: str, role: str, institution_id: str | None) -> None:
    """Give an account another role and Jobcenter; raises InvalidInput for an impossible pair."""
    try:
        new_role = Role(role)
    except ValueError:
        raise InvalidInput("ROLE_UNKNOWN", "Diese Rolle gibt es nicht.") from None
    current = get(session, account_id)
    if (current["role"] == Role.CITIZEN) != (new_role is Role.CITIZEN):
        raise InvalidInput("ROLE_CHANGE_NOT_ALLOWED", "Aus einem Kundenkonto wird kein Mitarbeitendenkonto.")
    check_scope(new_role, institution_id, None)
    session.execute(
        accounts.update()
        .where(accounts.c.account_id == account_id)
        .values(role=new_role.value, institution_id=institution_id)
    )
