"""Create the demo accounts of ``make run`` through the identity service; prints them.

Development only: the passwords are printed and the same on every machine.
"""

from __future__ import annotations

import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import eventlet  # noqa: E402

eventlet.monkey_patch()

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from shared.errors import Conflict  # noqa: E402

DEMO_PASSWORD = "Demo-Passwort-2026"  # noqa: S105 - printed on purpose, for the local demo only
# The Jobcenter of the first acceptance scenario (Träger-Nummer 92204, Berlin Treptow-Köpenick).
DEMO_INSTITUTION = "92204"
DEMO_ACCOUNTS = (
    ("erika.mustermann@example.org", "citizen", None),
    ("sachbearbeitung@jc-treptow-koepenick.example", "caseworker", DEMO_INSTITUTION),
    ("teamleitung@jc-treptow-koepenick.example", "team_lead", DEMO_INSTITUTION),
    ("betrieb@portal.example", "admin", None),
)


def main() -> None:
    with ClusterRpcProxy({"AMQP_URI": os.environ["AMQP_URI"]}, timeout=30) as cluster:
        rows = []
        for email, role, institution in DEMO_ACCOUNTS:
            try:
                cluster.identity.create_account(email, DEMO_PASSWORD, role, institution)
                state = "created"
            except Conflict:
                state = "exists"
            rows.append(f"  {role:<11} {email:<46} {DEMO_PASSWORD}  ({state})")
    print("Demo accounts (password for all):")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
