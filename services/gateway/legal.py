"""The three pages the law asks of the portal, and the operator's particulars they need.

- Impressum: § 5 DDG (Digitale-Dienste-Gesetz), who offers the portal and how to reach them.
- Datenschutzerklärung: Art. 13 DSGVO, what is processed, why, how long, who receives it, the rights.
- Erklärung zur Barrierefreiheit: § 12b BGG with § 7 BITV 2.0, the state of compatibility, known
  barriers, how it was assessed, the feedback form and the Schlichtungsstelle (§ 16 BGG).

What only the operator knows (name, address, representatives, data protection officer, when and how
accessibility was assessed) comes from the gateway's config (``OPERATOR_*``; docs/operations.md).
While a value is empty the page shows a marked gap, "[Vom Betreiber einzutragen: ...]", so a missing
particular is visible rather than silently absent; ``missing()`` lists them for the readiness report.
The storage periods are the ones the retention jobs use, read from their modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# config key -> what the operator fills in (shown in the marked gap while empty)
PARTICULARS = {
    "OPERATOR_NAME": "Name der verantwortlichen Stelle (das Jobcenter oder der Träger, der das Portal betreibt)",
    "OPERATOR_ADDRESS": "Postanschrift",
    "OPERATOR_REPRESENTATIVE": "vertretungsberechtigte Person (zum Beispiel die Geschäftsführung)",
    "OPERATOR_EMAIL": "E-Mail-Adresse für Anfragen",
    "OPERATOR_PHONE": "Telefonnummer",
    "OPERATOR_DATA_PROTECTION_OFFICER": "Kontakt der oder des Datenschutzbeauftragten",
    "ACCESSIBILITY_ASSESSED_ON": "Datum der letzten Prüfung der Barrierefreiheit (TT.MM.JJJJ)",
    "ACCESSIBILITY_METHOD": "wie die Barrierefreiheit geprüft wurde (zum Beispiel Selbstbewertung, Prüfung durch …)",
    "ACCESSIBILITY_STATEMENT_DATE": "Datum dieser Erklärung (TT.MM.JJJJ)",
}


@dataclass(frozen=True)
class Operator:
    """The operator's particulars as configured; empty strings where nothing is configured."""

    values: dict[str, str]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Operator:
        return cls({key: str(config.get(key) or "").strip() for key in PARTICULARS})

    def missing(self) -> list[str]:
        """The config keys still to be filled in."""
        return [key for key in PARTICULARS if not self.values[key]]

    def lines(self, key: str) -> list[str]:
        """A value written on several lines (an address): lines are separated by ``|`` in the config."""
        return [line.strip() for line in self.values[key].split("|") if line.strip()]


def storage_periods() -> dict[str, int]:
    """The storage periods the pages state, as the retention jobs apply them."""
    from services.identity.retention import AUDIT_ADDRESS_DAYS, AUDIT_RECORD_YEARS, ENDED_SESSION_DAYS
    from services.submissions.retention import ACCESS_RECORD_YEARS, CASE_RETENTION_YEARS, DRAFT_LIFETIME_DAYS

    return {
        "draft_days": DRAFT_LIFETIME_DAYS,
        "case_years": CASE_RETENTION_YEARS,
        "access_years": ACCESS_RECORD_YEARS,
        "audit_years": AUDIT_RECORD_YEARS,
        "audit_address_days": AUDIT_ADDRESS_DAYS,
        "session_days": ENDED_SESSION_DAYS,
    }
