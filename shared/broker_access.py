"""Who may do what on the broker: the one list that `make run`, the tests and ``deploy/k8s`` all use.

Each process that talks to RabbitMQ is a *principal* with its own broker user: the seven services and
the two outbox relays. A principal may

- serve RPC on its own queue ``rpc-<service>`` (nameko binds it to ``nameko-rpc`` with ``<service>.*``),
- call exactly the RPC methods listed in ``calls`` (its requests are published to ``nameko-rpc`` with the
  routing key ``<service>.<method>``; RabbitMQ's topic permissions refuse any other key),
- receive replies on its own reply queues ``rpc.reply-<principal>-<uuid>``, bound by that uuid,
- consume exactly the events listed in ``consumes`` on its own queues ``evt-<source>-<type>--<principal>.*``,
- publish its own service's events (``<service>.events``), if it is the one that publishes them.

Nothing else: no other queue to declare, bind or read, no other exchange to write to. ``permissions`` and
``topic_permissions`` turn a principal into RabbitMQ's regular expressions; ``definitions`` into the JSON
that ``rabbitmqctl import_definitions`` reads; ``render_manifests`` into the Topology Operator's ``User``,
``Permission`` and ``TopicPermission`` resources (``deploy/k8s/base/servers/broker-access.yaml``, checked
against this module by ``shared/tests/test_broker_access.py``).

No principal may declare (and so delete) an exchange: the setup declares ``EXCHANGES`` and the services
only look them up (``shared.messaging.look_up_exchanges_only``).

Regenerate the manifest after a change here:
``python -m shared.broker_access > deploy/k8s/base/servers/broker-access.yaml``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.service import SERVICES

RPC_EXCHANGE = "nameko-rpc"
# nameko binds a reply queue by a uuid4 and the server publishes the reply with it as routing key.
REPLY_KEY = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
NOTHING = "^$"


def events_exchange(service: str) -> str:
    """nameko's exchange of a service's events (``nameko.events.get_event_exchange``)."""
    return f"{service}.events"


@dataclass(frozen=True)
class Principal:
    """One broker user: what it serves, calls, consumes and publishes (see the module docstring)."""

    name: str
    serves: bool = False
    calls: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    consumes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    publishes: str | None = None

    @property
    def uses_rpc(self) -> bool:
        return self.serves or bool(self.calls)

    def own_queues(self) -> list[str]:
        name = re.escape(self.name)
        queues = []
        if self.serves:
            queues.append(f"rpc-{name}")
        if self.calls:
            queues.append(rf"rpc\.reply-{name}-{REPLY_KEY}")
        for source, _types in sorted(self.consumes.items()):
            queues.append(rf"evt-{re.escape(source)}-[a-z_]+--{name}\.[a-z_]+")
        return queues

    def exchanges_read(self) -> list[str]:
        """Exchanges its queues are bound to."""
        exchanges = [RPC_EXCHANGE] if self.uses_rpc else []
        return exchanges + [events_exchange(source) for source in sorted(self.consumes)]

    def exchanges_written(self) -> list[str]:
        """Exchanges it publishes to: RPC requests and replies, its own events."""
        exchanges = [RPC_EXCHANGE] if self.uses_rpc else []
        return exchanges + ([events_exchange(self.publishes)] if self.publishes else [])

    def permissions(self) -> dict[str, str]:
        """RabbitMQ's configure/write/read patterns of this principal on the vhost."""
        queues = self.own_queues()
        return {
            # Its own queues only: the exchanges are the setup's (EXCHANGES), looked up by the services.
            "configure": _any_of(queues),
            # Exchanges it publishes to; queues it binds (binding needs write on the queue).
            "write": _any_of([*queues, *map(re.escape, self.exchanges_written())]),
            # Queues it consumes; exchanges it binds its queues to.
            "read": _any_of([*queues, *map(re.escape, self.exchanges_read())]),
        }

    def topic_permissions(self) -> dict[str, dict[str, str]]:
        """Per topic exchange: which routing keys it may publish (write) and bind its queues by (read)."""
        topics: dict[str, dict[str, str]] = {}
        if self.uses_rpc:
            requests = [
                f"{re.escape(service)}\\.{_any_of(methods, anchored=False)}"
                for service, methods in sorted(self.calls.items())
            ]
            write = requests + ([REPLY_KEY] if self.serves else [])
            read = ([re.escape(f"{self.name}.*")] if self.serves else []) + ([REPLY_KEY] if self.calls else [])
            topics[RPC_EXCHANGE] = {"write": _any_of(write), "read": _any_of(read)}
        for source, types in sorted(self.consumes.items()):
            topics[events_exchange(source)] = {"write": NOTHING, "read": _any_of(types)}
        if self.publishes:
            # Its own events: any type it stores (the service decides which are integration events).
            own = topics.setdefault(events_exchange(self.publishes), {"read": NOTHING})
            own["write"] = "^[a-z_]+$"
        return topics


def _any_of(patterns: Iterable[str], anchored: bool = True) -> str:
    """One regular expression matching exactly one of ``patterns`` (each already a regex)."""
    listed = sorted(set(patterns))
    if not listed:
        return NOTHING
    body = listed[0] if len(listed) == 1 and not anchored else f"({'|'.join(listed)})"
    return f"^{body}$" if anchored else body


# Every exchange of the portal, declared by the setup (durable topic exchanges, as nameko would declare them).
EXCHANGES = (RPC_EXCHANGE, *(events_exchange(service) for service in SERVICES))

HEALTH = ("health",)

PRINCIPALS: tuple[Principal, ...] = (
    Principal(
        "gateway",
        serves=True,  # its own health, for operators' probes
        calls={
            "identity": (
                *HEALTH, "change_password", "complete_login_with_recovery_code", "complete_login_with_totp",
                "complete_login_with_totp_enrolment", "complete_passkey_login", "complete_passkey_registration",
                "confirm_email", "confirm_email_change", "confirm_totp_replacement", "create_staff_account",
                "change_my_name", "delete_my_account", "describe_accounts", "disable_account", "export_my_account",
                "find_customer", "find_customers_by_name", "get_jwks", "get_my_name",
                "get_security_overview", "issue_activation_code", "list_activation_codes", "list_jobcenter_staff",
                "list_passkeys", "login_with_password", "logout", "refresh_access_token", "register_citizen",
                "remove_passkey", "renew_recovery_codes", "request_email_change", "request_password_reset",
                "reset_password", "revoke_activation_code", "start_passkey_login", "start_passkey_registration",
                "start_totp_enrolment_at_login", "start_totp_replacement", "verify_access_token",
            ),
            "submissions": (
                *HEALTH, "add_document", "assign_caseworker", "audited_case_documents", "close_case", "decide_case",
                "detach_document", "discard_draft", "find_by_receipt_number", "get_answers", "get_form", "get_receipt",
                "get_receipt_keys", "get_timeline", "list_inbox", "list_messages", "list_my_cases",
                "list_staff_accesses", "post_message", "receive_case", "request_documents", "save_section",
                "start_draft", "start_processing", "submit_case", "view_case", "waive_nachweis",
                "withdraw_case",
            ),
            "documents": (
                *HEALTH, "abort_upload", "complete_upload", "download_url", "get_access_record", "get_document",
                "list_documents", "merge_photos", "start_upload",
            ),
            "routing": (
                *HEALTH, "explain_area", "get_jobcenter", "list_jobcenters", "lookup_postcode", "override_assignment",
                "resolve_residence", "set_jobcenter_contact",
            ),
            "notify": (
                *HEALTH, "forget_deleted_account", "get_consents", "list_accessibility_feedback", "list_case_messages",
                "list_consent_changes",
                "list_postfach", "list_staff_alerts", "mark_read",
                "record_accessibility_feedback", "record_notice_denied", "retrieve_attachment", "set_consent",
            ),
            "backoffice": (
                *HEALTH, "accept_case", "case_events", "document_download", "get_case", "get_keys", "issue_token",
                "list_documents", "list_new_cases", "reject_case",
            ),
        },
    ),
    Principal("identity", serves=True),
    Principal(
        "submissions",
        serves=True,
        calls={
            "identity": ("get_account", "get_jwks"), "documents": ("get_document", "list_documents"),
            "routing": ("get_jobcenter", "resolve_residence"),
        },
        consumes={"routing": ("case_assigned", "case_assignment_pending", "case_handed_over", "case_reassigned")},
    ),
    Principal(
        "documents",
        serves=True,
        calls={"identity": ("get_jwks",), "submissions": ("get_case_parties",)},
        consumes={"submissions": ("case_draft_discarded", "case_draft_expired", "case_erased", "case_withdrawn")},
        publishes="documents",  # from its own outbox, in the service's process
    ),
    Principal(
        "routing",
        serves=True,
        # get_case: only for case_submitted / case_move_reported stored before they carried routing's answer;
        # case_move_reported only for the moves of the release before (docs/moves.md)
        calls={"identity": ("get_jwks",), "submissions": ("get_case",)},
        consumes={"submissions": ("case_erased", "case_move_reported", "case_move_took_effect", "case_submitted")},
    ),
    Principal(
        "notify",
        serves=True,
        calls={
            "identity": ("get_contact", "get_jwks"), "routing": ("get_jobcenter",),
            "submissions": ("get_case_parties",),
        },
        consumes={
            "documents": ("document_rejected",),
            "submissions": (
                "case_assigned", "case_decided", "case_erased", "case_move_reported", "case_move_took_effect",
                "case_overdue", "case_reassigned", "case_submitted", "case_withdrawn", "document_supplied",
                "documents_requested", "message_posted",
            ),
        },
    ),
    Principal(
        "backoffice",
        serves=True,
        calls={
            "documents": ("handover_download_url",),
            "submissions": ("confirm_handover", "export_case", "export_case_events", "refuse_handover"),
        },
        consumes={
            "documents": ("document_accepted", "document_deleted"),
            "submissions": (
                "case_assigned", "case_erased", "case_handed_over", "case_handover_confirmed",
                "case_handover_refused", "case_reassigned", "case_withdrawn",
            ),
        },
    ),
    Principal("submissions-outbox", publishes="submissions"),
    Principal("routing-outbox", publishes="routing"),
)  # fmt: skip

BY_NAME = {principal.name: principal for principal in PRINCIPALS}


def principal(name: str) -> Principal:
    """The principal of a service (``submissions``) or relay (``submissions-outbox``)."""
    return BY_NAME[name]


def environ_variable(name: str) -> str:
    """The variable that gives a principal its AMQP URI (``SUBMISSIONS_OUTBOX_AMQP_URI``); see the config files."""
    return f"{name.upper().replace('-', '_')}_AMQP_URI"


def password_hash(password: str) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + sha256(salt + password))."""
    salt = os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(vhost: str, users: Mapping[str, str], passwords: Mapping[str, str]) -> dict[str, Any]:
    """What ``rabbitmqctl import_definitions`` needs for every principal on ``vhost``.

    ``users`` maps a principal to its broker user name, ``passwords`` a principal to its password.
    """
    return {
        "vhosts": [{"name": vhost}],
        "exchanges": [
            {
                "name": name,
                "vhost": vhost,
                "type": "topic",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
            for name in EXCHANGES
        ],
        "users": [
            {
                "name": users[p.name],
                "password_hash": password_hash(passwords[p.name]),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": [],
            }
            for p in PRINCIPALS
        ],
        "permissions": [{"user": users[p.name], "vhost": vhost, **p.permissions()} for p in PRINCIPALS],
        "topic_permissions": [
            {"user": users[p.name], "vhost": vhost, "exchange": exchange, **patterns}
            for p in PRINCIPALS
            for exchange, patterns in sorted(p.topic_permissions().items())
        ],
    }


K8S_HEADER = """\
# Generated by `python -m shared.broker_access` from shared/broker_access.py: edit that list, not this file
# (tests/deploy checks that they agree). The exchanges, declared here and only looked up by the services; one
# RabbitMQ user per service and outbox relay, allowed only its own queues, the RPC methods it needs and its
# own events; its password is in Secret portal-broker-<name>.
"""


def render_manifests(vhost: str = "portal", cluster: str = "portal-broker") -> str:
    """The Topology Operator's User, Permission and TopicPermission resources of every principal."""
    import yaml

    documents: list[dict[str, Any]] = []
    reference = {"name": cluster}
    for exchange in EXCHANGES:
        documents.append({
            "apiVersion": "rabbitmq.com/v1beta1", "kind": "Exchange", "metadata": {"name": exchange.replace(".", "-")},
            "spec": {"name": exchange, "vhost": vhost, "type": "topic", "durable": True, "autoDelete": False,
                     "rabbitmqClusterReference": reference},
        })  # fmt: skip
    for p in PRINCIPALS:
        user = f"portal-{p.name}"
        documents.append({
            "apiVersion": "rabbitmq.com/v1beta1", "kind": "User", "metadata": {"name": user},
            "spec": {"importCredentialsSecret": {"name": f"portal-broker-{p.name}"},
                     "rabbitmqClusterReference": reference},
        })  # fmt: skip
        documents.append({
            "apiVersion": "rabbitmq.com/v1beta1", "kind": "Permission", "metadata": {"name": user},
            "spec": {"vhost": vhost, "userReference": {"name": user}, "permissions": p.permissions(),
                     "rabbitmqClusterReference": reference},
        })  # fmt: skip
        for exchange, patterns in sorted(p.topic_permissions().items()):
            documents.append({
                "apiVersion": "rabbitmq.com/v1beta1", "kind": "TopicPermission",
                "metadata": {"name": f"{user}-{exchange.replace('.', '-')}"},
                "spec": {"vhost": vhost, "userReference": {"name": user},
                         "permissions": {"exchange": exchange, **patterns}, "rabbitmqClusterReference": reference},
            })  # fmt: skip
    return K8S_HEADER + yaml.safe_dump_all(documents, sort_keys=False, width=200)


if __name__ == "__main__":
    print(render_manifests(), end="")
