"""The object store (any S3-compatible server through the ``minio`` client) of a service."""

from __future__ import annotations

from typing import Any

from minio import Minio
from nameko.extensions import DependencyProvider


class ObjectStore(DependencyProvider):
    """A minio client and bucket from the ``S3`` section of the config.

    The bucket is made when first needed (``ensure_bucket``) rather than at start, so that a
    service starts, and reports S3 as failing, while the store is unavailable.
    """

    health_name = "s3"

    def setup(self) -> None:
        settings = self.container.config["S3"]
        self.bucket = str(settings["BUCKET"])
        self.client = Minio(
            str(settings["ENDPOINT"]),
            access_key=str(settings["ACCESS_KEY"]),
            secret_key=str(settings["SECRET_KEY"]),
            secure=bool(settings["SECURE"]),
            region=str(settings["REGION"]),
        )
        self._bucket_ready = False

    def ensure_bucket(self) -> None:
        if not self._bucket_ready:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
            self._bucket_ready = True

    def get_dependency(self, worker_ctx: Any) -> ObjectStore:
        return self

    def check_health(self) -> None:
        self._bucket_ready = False
        self.ensure_bucket()
