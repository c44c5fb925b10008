"""Operator CLI of the identity service: ``python -m services.identity.cli --help``.

Runs against the database of ``services/identity/config.yaml`` (the same variables as the service,
e.g. ``IDENTITY_DATABASE_URL`` and ``IDENTITY_SECRETS_KEY``). Whatever it prints is meant for the
operator's screen only: links and codes are shown once and stored only as hashes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.identity.operations import Identity
from shared.config import load_config
from shared.errors import PortalError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.identity.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    staff = commands.add_parser("create-staff", help="create a caseworker, team lead or admin account")
    staff.add_argument("email")
    staff.add_argument("--role", choices=("caseworker", "team_lead", "admin"), default="caseworker")
    staff.add_argument("--institution", help="the Jobcenter's routing register id, e.g. jc-0394 (not for admins)")

    code = commands.add_parser("issue-code", help="issue an activation code and write its letter (PDF)")
    code.add_argument("customer_number")
    code.add_argument("--institution", required=True)
    code.add_argument("--letter", type=Path, help="where to write the PDF (default: freischaltcode-<id>.pdf)")

    disable = commands.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("email")

    commands.add_parser("rotate-keys", help="make a new signing key; the old one verifies until its tokens expire")
    commands.add_parser("migrate", help="bring the database schema to the newest revision (before a rollout)")

    args = parser.parse_args(argv)
    identity = Identity.open(load_config("identity"))
    try:
        return run(identity, args)
    except PortalError as problem:
        print(f"refused: {problem}", file=sys.stderr)
        return 1
    finally:
        identity.close()


def run(identity: Identity, args: argparse.Namespace) -> int:
    if args.command == "create-staff":
        created = identity.create_account(args.email, args.role, args.institution)
        print(f"account {created['account_id']} created ({args.role}, Jobcenter {args.institution or '-'})")
        print(f"hand over this link to set the password (valid 1 h, once): {created['set_password_link']}")
        print("a second factor (authenticator app or passkey) is set up at the first login")
    elif args.command == "issue-code":
        issued, pdf = identity.issue_activation_code(args.customer_number, args.institution)
        path = args.letter or Path(f"freischaltcode-{issued['code_id']}.pdf")
        path.write_bytes(pdf)
        print(f"activation code {issued['code']} for {issued['customer_number']}, valid until {issued['expires_at']}")
        print(f"letter: {path}")
    elif args.command == "disable":
        if not identity.disable_account(args.email):
            print("no such account", file=sys.stderr)
            return 1
        print("account disabled, its sessions ended")
    elif args.command == "migrate":
        # Opening the store already ran the Alembic migrations (one instance at a time on PostgreSQL).
        print("identity schema at the newest revision")
    elif args.command == "rotate-keys":
        print(f"new signing key {identity.rotate_signing_keys()}; the previous one verifies until its tokens expire")
    return 0


if __name__ == "__main__":
    sys.exit(main())
