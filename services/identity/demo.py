"""Create the demo accounts of ``make run`` in identity's database; prints them.

Development only: the passwords and TOTP secrets are printed and the passwords are the same on
every machine. Runs after the identity service is up, with the same environment (database, key).
"""

from __future__ import annotations

import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

from services.identity.operations import Identity, current_totp  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.errors import Conflict  # noqa: E402

DEMO_PASSWORD = "Demo-Passwort-2026"  # noqa: S105 - printed on purpose, for the local demo only
# The Jobcenter of the first acceptance scenario: Berlin Treptow-Köpenick, Träger-Nummer 92204,
# whose stable id in the routing register (services/routing/data/jobcenters.csv) is jc-0394.
DEMO_INSTITUTION = "jc-0394"
DEMO_CUSTOMER_NUMBER = "922D123456"
DEMO_NEW_CUSTOMER_NUMBER = "922D654321"
# (e-mail, role, Jobcenter, customer number, the citizen's name, TOTP switched on)
DEMO_ACCOUNTS = (
    ("erika.mustermann@example.org", "citizen", DEMO_INSTITUTION, DEMO_CUSTOMER_NUMBER, ("Erika", "Mustermann"), True),
    ("sachbearbeitung@jc-treptow-koepenick.example", "caseworker", DEMO_INSTITUTION, None, None, True),
    ("teamleitung@jc-treptow-koepenick.example", "team_lead", DEMO_INSTITUTION, None, None, True),
    ("betrieb@portal.example", "admin", None, None, None, True),
)


def main() -> None:
    identity = Identity.open(load_config("identity"))
    rows = []
    try:
        for email, role, institution, customer_number, name, with_totp in DEMO_ACCOUNTS:
            try:
                identity.create_account(email, role, institution, DEMO_PASSWORD, customer_number, with_totp, name)
                state = "created"
            except Conflict:
                state = "exists"
            jobcenter = f"Jobcenter {institution}" if institution else ""
            rows.append(f"  {role:<11} {email:<46} {jobcenter:<16} ({state})")
            second_factor = identity.totp_of(email)
            if second_factor is not None:
                rows.append(
                    f"  {'':<11} TOTP secret {second_factor['secret']}  (code now: "
                    f"{current_totp(second_factor['secret'])})"
                )
                rows.append(f"  {'':<11} {second_factor['otpauth_uri']}")
        code, _letter = identity.issue_activation_code(DEMO_NEW_CUSTOMER_NUMBER, DEMO_INSTITUTION)
    finally:
        identity.close()
    print(f"Demo accounts (password for all: {DEMO_PASSWORD}; scan an otpauth URI or type its secret into an")
    print("authenticator app such as FreeOTP, Aegis or Google Authenticator):")
    print("\n".join(rows))
    print("Passkeys need a host name: open the portal as http://localhost:<port> to add one.")
    print(
        f"Activation code to register a new citizen (Kundennummer {DEMO_NEW_CUSTOMER_NUMBER}, Jobcenter "
        f"{DEMO_INSTITUTION}): {code['code']}, valid until {code['expires_at'][:10]}"
    )


if __name__ == "__main__":
    main()
