"""What every portal service has: a correlation id per worker, and a ``health`` RPC."""

from __future__ import annotations

import importlib
from typing import Any

from nameko.rpc import rpc

from shared.correlation import CorrelationScope
from shared.health import HealthChecks, HealthReporter
from shared.metrics import EntrypointMetrics

SERVICES = ("identity", "submissions", "documents", "routing", "notify", "backoffice", "gateway")


def service_class(service: str) -> type[Any]:
    """The nameko service class of ``services/<service>/service.py``."""
    module = importlib.import_module(f"services.{service}.service")
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "name", None) == service and value.__module__ == module.__name__:
            return value
    raise LookupError(f"services/{service}/service.py defines no class with name = {service!r}")


class PortalService:
    """Base class of the six services; subclasses set ``name`` and add their own dependencies."""

    name: str
    correlation: str = CorrelationScope()
    health_checks: HealthReporter = HealthChecks()
    metrics = EntrypointMetrics()

    @rpc
    def health(self) -> dict[str, Any]:
        """This service's own dependencies and whether each answers; never raises."""
        return self.health_checks.report()
