"""Health of a service: each dependency provider that can check itself is asked, with a timeout."""

from __future__ import annotations

import logging
import time
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 3.0


class HealthReporter:
    """Checks the dependencies of one running service container."""

    def __init__(self, service: str, providers: list[Any]) -> None:
        self.service = service
        self.providers = providers

    def report(self) -> dict[str, Any]:
        """``{"service", "status": "ok"|"failing", "dependencies": {name: {...}}}``; never raises."""
        dependencies: dict[str, dict[str, Any]] = {}
        for provider in self.providers:
            started = time.monotonic()
            try:
                with eventlet.Timeout(CHECK_TIMEOUT_SECONDS):
                    provider.check_health()
                outcome: dict[str, Any] = {"status": "ok"}
            except eventlet.Timeout:
                outcome = {"status": "failing", "error": "timeout"}
            except Exception as problem:  # a health check reports every failure; it never raises
                outcome = {"status": "failing", "error": type(problem).__name__}
            outcome["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
            if outcome["status"] != "ok":
                log.warning("dependency_failing", extra={"dependency": provider.health_name, "code": outcome["error"]})
            dependencies[provider.health_name] = outcome
        failing = any(item["status"] != "ok" for item in dependencies.values())
        return {"service": self.service, "status": "failing" if failing else "ok", "dependencies": dependencies}


class HealthChecks(DependencyProvider):
    """Collects the service's dependency providers that define ``check_health`` and ``health_name``."""

    def get_dependency(self, worker_ctx: Any) -> HealthReporter:
        providers = sorted(
            (
                provider
                for provider in self.container.dependencies
                if hasattr(provider, "check_health") and hasattr(provider, "health_name")
            ),
            key=lambda provider: str(provider.health_name),
        )
        return HealthReporter(self.container.service_name, providers)
