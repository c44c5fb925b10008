"""Fixtures of submissions' tests: the Cases application and its case-list projection on each database."""

import pytest

from services.submissions.application import Cases
from services.submissions.readmodel import CaseList
from shared.projection import ProjectionRunner
from shared.sql import make_engine


@pytest.fixture
def cases(database_url, cipher_key):
    application = Cases.from_settings(database_url, cipher_key)
    yield application
    application.close()


@pytest.fixture
def runner(cases, database_url):
    engine = make_engine(database_url)
    yield ProjectionRunner(cases, CaseList(), engine, batch_size=7)
    engine.dispose()
