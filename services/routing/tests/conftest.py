"""Fixtures of the routing tests: the shipped data, and the published sources it was derived from.

Routing runs on the files shipped in ``services/routing/data``. The tests that compare them with the
published sources (and the importers that read the sources' formats) need those files: they are found in
``ROUTING_SOURCES`` (default: the founders' ``shared/data`` beside the checkout) and skipped, saying so,
where a clone has no such folder.
"""

from __future__ import annotations

import csv
import gzip
import os
from collections import defaultdict
from pathlib import Path

import pytest

from services.routing.index import build_resolver
from services.routing.register import Register
from services.routing.resolver import Resolver
from shared.config import REPOSITORY_ROOT

REFERENCE_DATA = Path(os.environ.get("ROUTING_SOURCES") or REPOSITORY_ROOT.parent / "shared" / "data")
JOBCENTER_LIST = REFERENCE_DATA / "einglmv2026_anlage1_jobcenter.csv"
CROSSWALK = REFERENCE_DATA / "jobcenter_kreis_crosswalk_2026.csv"
POSTCODE_FILE = REFERENCE_DATA / "zuordnung_plz_ort_osm_2022.csv"
BERLIN_ADDRESS_FILE = REFERENCE_DATA / "berlin_adressen_2023.csv.gz"
BERLIN_POSTCODE_BEZIRK_FILE = REFERENCE_DATA / "berlin_plz_bezirk_from_adressen_2023.csv"


def need_sources() -> None:
    if not POSTCODE_FILE.exists():
        pytest.skip(f"the published source files are not in {REFERENCE_DATA} (set ROUTING_SOURCES)")


@pytest.fixture
def sources() -> Path:
    need_sources()
    return REFERENCE_DATA


def read_semicolon_rows(path: Path) -> list[dict[str, str]]:
    need_sources()
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


@pytest.fixture(scope="session")
def register() -> Register:
    return Register.load()


@pytest.fixture(scope="session")
def resolver() -> Resolver:
    """The resolver as the service builds it from the shipped files."""
    return build_resolver()


@pytest.fixture(scope="session")
def resolver_without_files(register: Register) -> Resolver:
    """A resolver with the register alone (no postcode or Berlin address index)."""
    return Resolver(register)


@pytest.fixture(scope="session")
def crosswalk_rows() -> list[dict[str, str]]:
    return read_semicolon_rows(CROSSWALK)


@pytest.fixture(scope="session")
def jobcenter_list_rows() -> list[dict[str, str]]:
    return read_semicolon_rows(JOBCENTER_LIST)


@pytest.fixture(scope="session")
def berlin_addresses() -> list[dict[str, str]]:
    need_sources()
    with gzip.open(BERLIN_ADDRESS_FILE, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def expected_postcode_jobcenters(crosswalk_rows) -> dict[str, set[str]]:
    """Postcode → Träger-Nummern in 2026, worked out from the source files alone (not from the register).

    Berlin counts per Bezirk (from the derived postcode/Bezirk table); Hanau's Gemeinde is Hanau's own gE.
    """
    by_kreis: dict[str, set[str]] = defaultdict(set)
    berlin_by_name: dict[str, str] = {}
    for row in crosswalk_rows:
        by_kreis[row["ags_kreis"]].add(row["traeger_nr"])
        if row["ags_kreis"] == "11000":
            berlin_by_name[row["jobcenter"]] = row["traeger_nr"]
    berlin: dict[str, set[str]] = defaultdict(set)
    for row in read_semicolon_rows(BERLIN_POSTCODE_BEZIRK_FILE):
        berlin[row["plz"]].add(berlin_by_name[row["bezirk"]])
    expected: dict[str, set[str]] = defaultdict(set)
    with POSTCODE_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            ags, plz = row["ags"].zfill(8), row["plz"].zfill(5)
            if ags == "06435014":
                expected[plz].add("43106")
            elif ags[:5] != "11000":
                expected[plz] |= by_kreis[ags[:5]]
    for plz, numbers in berlin.items():
        expected[plz] |= numbers
    return dict(expected)
