"""The documents service: owns the object store and its metadata (uploads arrive with issue 5)."""

from __future__ import annotations

from sqlalchemy import MetaData

from shared.clamd import Clamd
from shared.s3 import ObjectStore
from shared.service import PortalService
from shared.sql import Database, ServiceDatabase

metadata = MetaData()


class DocumentsService(PortalService):
    name = "documents"

    db: ServiceDatabase = Database(metadata)
    store: ObjectStore = ObjectStore()
    scanner: Clamd = Clamd()
