"""Fixtures of the documents tests (defined in support.py, which the tests import helpers from)."""

from services.documents.tests.support import documents  # noqa: F401
