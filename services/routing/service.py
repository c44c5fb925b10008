"""The routing service: owns the Jobcenter register (the register and assignment arrive with issue 6)."""

from __future__ import annotations

from sqlalchemy import MetaData

from shared.service import PortalService
from shared.sql import Database, ServiceDatabase

metadata = MetaData()


class RoutingService(PortalService):
    name = "routing"

    db: ServiceDatabase = Database(metadata)
