"""The demo back-office client of ``make run``: one client of Jobcenter Berlin Treptow-Köpenick (jc-0394).

Development only. Made once per run folder; its credentials are kept in ``$RUN_DIR/secrets`` so that every
``make run`` prints the same ones (a later run rotates nothing).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

from services.backoffice.cli import open_clients  # noqa: E402
from shared.config import load_config  # noqa: E402

DEMO_JOBCENTER = "jc-0394"


def main() -> None:
    config = load_config("backoffice")
    path = Path(os.environ.get("RUN_DIR", "run")) / "secrets" / "backoffice-demo-client.json"
    if path.exists():
        credentials = json.loads(path.read_text())
    else:
        with open_clients(config) as clients:
            credentials = clients.create(DEMO_JOBCENTER)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(credentials))
        path.chmod(0o600)
    print(f"Back-office client of Jobcenter {DEMO_JOBCENTER} (API /backoffice/v1, token: POST /backoffice/v1/token):")
    print(f"  client_id     {credentials['client_id']}")
    print(f"  client_secret {credentials['client_secret']}")


if __name__ == "__main__":
    main()
