"""The register of Jobcenters as data with validity dates, and the view of it in force on a day.

Two `;`-separated files make the register (``data/`` holds the one the project ships):

- ``jobcenters.csv``: ``jobcenter_id;traeger_nr;traeger_form;name;valid_from;valid_to`` — one row per
  period of a Jobcenter's attributes; a renumbering ends one row and starts the next under the same id.
- ``jobcenter_areas.csv``: ``jobcenter_id;area_kind;area_key;area_name;valid_from;valid_to`` — the areas a
  Jobcenter serves: a ``kreis`` (5-digit key), a ``gemeinde`` (8-digit key, wins over its Kreis) or a
  ``berlin_bezirk`` (``01``..``12``, within Kreis 11000).

An empty ``valid_from`` means "in force since before the register's history starts", an empty
``valid_to`` "until further notice"; both dates are inclusive.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

SHIPPED_REGISTER = Path(__file__).resolve().parent / "data"
JOBCENTERS_FILE = "jobcenters.csv"
AREAS_FILE = "jobcenter_areas.csv"
BERLIN_KREIS = "11000"
JOBCENTER_COLUMNS = ("jobcenter_id", "traeger_nr", "traeger_form", "name", "valid_from", "valid_to")
AREA_COLUMNS = ("jobcenter_id", "area_kind", "area_key", "area_name", "valid_from", "valid_to")


class RegisterError(ValueError):
    """A register file is malformed or contradicts itself."""


class Form(StrEnum):
    """gemeinsame Einrichtung (served by the portal) or zugelassener kommunaler Träger (not served)."""

    GE = "gE"
    ZKT = "zkT"


class AreaKind(StrEnum):
    KREIS = "kreis"
    GEMEINDE = "gemeinde"
    BERLIN_BEZIRK = "berlin_bezirk"


@dataclass(frozen=True)
class Jobcenter:
    """One Jobcenter as it stands on a given day."""

    jobcenter_id: str
    traeger_nummer: str
    form: Form
    name: str
    # As the citizen reads it ("Jobcenter Berlin Mitte", "Jobcenter Dresden, Stadt"); set by the view.
    display_name: str = ""

    @property
    def served(self) -> bool:
        return self.form is Form.GE

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "form": self.form.value}


@dataclass(frozen=True)
class Validity:
    valid_from: date | None = None
    valid_to: date | None = None

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    def boundaries(self) -> Iterable[date]:
        """Days on which something starts (the day after a period ends starts the next)."""
        if self.valid_from is not None:
            yield self.valid_from
        if self.valid_to is not None:
            yield self.valid_to + timedelta(days=1)


@dataclass(frozen=True)
class JobcenterPeriod:
    jobcenter: Jobcenter
    validity: Validity


@dataclass(frozen=True)
class AreaPeriod:
    jobcenter_id: str
    kind: AreaKind
    key: str
    name: str
    validity: Validity


@dataclass
class RegisterView:
    """The register in force on one day: who serves which area."""

    version: str
    jobcenters: dict[str, Jobcenter] = field(default_factory=dict)
    by_kreis: dict[str, tuple[str, ...]] = field(default_factory=dict)
    by_gemeinde: dict[str, str] = field(default_factory=dict)
    by_berlin_bezirk: dict[str, str] = field(default_factory=dict)
    kreis_names: dict[str, str] = field(default_factory=dict)
    gemeinde_names: dict[str, str] = field(default_factory=dict)
    areas_of: dict[str, tuple[AreaPeriod, ...]] = field(default_factory=dict)

    def knows_kreis(self, kreis: str) -> bool:
        return kreis in self.by_kreis or (kreis == BERLIN_KREIS and bool(self.by_berlin_bezirk))

    def for_kreis(self, kreis: str) -> tuple[Jobcenter, ...]:
        """Every Jobcenter serving (part of) the Kreis ``kreis``; Berlin's twelve for 11000."""
        if kreis == BERLIN_KREIS:
            return tuple(self.jobcenters[i] for _, i in sorted(self.by_berlin_bezirk.items()))
        return tuple(self.jobcenters[i] for i in self.by_kreis.get(kreis, ()))

    def for_gemeinde(self, ags: str) -> tuple[tuple[Jobcenter, ...], str]:
        """The Jobcenter(s) of the Gemeinde ``ags`` and the area key that decided it."""
        exception = self.by_gemeinde.get(ags)
        if exception is not None:
            return (self.jobcenters[exception],), f"gemeinde:{ags}"
        return self.for_kreis(ags[:5]), f"kreis:{ags[:5]}"

    def for_berlin_bezirk(self, bezirk: str) -> Jobcenter | None:
        jobcenter_id = self.by_berlin_bezirk.get(bezirk)
        return None if jobcenter_id is None else self.jobcenters[jobcenter_id]


class Register:
    """Every Jobcenter and area with its validity; :meth:`at` gives the view of one day."""

    def __init__(self, jobcenters: list[JobcenterPeriod], areas: list[AreaPeriod], version: str) -> None:
        self.jobcenter_periods = jobcenters
        self.area_periods = areas
        self.version = version
        self._check()
        starts = {day for period in jobcenters for day in period.validity.boundaries()}
        starts |= {day for area in areas for day in area.validity.boundaries()}
        self._starts = sorted(starts)
        # One view per stretch of days between two boundaries; index 0 is "before the first boundary".
        self._views: dict[int, RegisterView] = {}

    @classmethod
    def load(cls, directory: Path = SHIPPED_REGISTER) -> Register:
        """Read the two register files of ``directory``; raises RegisterError when they are malformed."""
        jobcenter_rows = read_rows(directory / JOBCENTERS_FILE, JOBCENTER_COLUMNS)
        area_rows = read_rows(directory / AREAS_FILE, AREA_COLUMNS)
        digest = hashlib.sha256()
        for name in (JOBCENTERS_FILE, AREAS_FILE):
            digest.update((directory / name).read_bytes())
        try:
            jobcenters = [
                JobcenterPeriod(
                    Jobcenter(row["jobcenter_id"], row["traeger_nr"], Form(row["traeger_form"]), row["name"]),
                    validity_of(row),
                )
                for row in jobcenter_rows
            ]
            areas = [
                AreaPeriod(
                    row["jobcenter_id"], AreaKind(row["area_kind"]), row["area_key"], row["area_name"], validity_of(row)
                )
                for row in area_rows
            ]
        except ValueError as problem:
            raise RegisterError(f"{directory}: {problem}") from None
        return cls(jobcenters, areas, version=digest.hexdigest()[:12])

    def at(self, day: date) -> RegisterView:
        """The register in force on ``day``."""
        stretch = bisect.bisect_right(self._starts, day)
        view = self._views.get(stretch)
        if view is None:
            view = self._views[stretch] = self._build_view(day)
        return view

    def history_of(self, jobcenter_id: str) -> list[JobcenterPeriod]:
        return [period for period in self.jobcenter_periods if period.jobcenter.jobcenter_id == jobcenter_id]

    def _build_view(self, day: date) -> RegisterView:
        view = RegisterView(version=self.version)
        for period in self.jobcenter_periods:
            if period.validity.covers(day):
                view.jobcenters[period.jobcenter.jobcenter_id] = period.jobcenter
        by_kreis: dict[str, list[str]] = defaultdict(list)
        areas_of: dict[str, list[AreaPeriod]] = defaultdict(list)
        for area in self.area_periods:
            if not area.validity.covers(day) or area.jobcenter_id not in view.jobcenters:
                continue
            areas_of[area.jobcenter_id].append(area)
            if area.kind is AreaKind.KREIS:
                by_kreis[area.key].append(area.jobcenter_id)
                view.kreis_names[area.key] = area.name
            elif area.kind is AreaKind.GEMEINDE:
                view.by_gemeinde[area.key] = area.jobcenter_id
                view.gemeinde_names[area.key] = area.name.split(" (")[0]
            else:
                view.by_berlin_bezirk[area.key] = area.jobcenter_id
        view.by_kreis = {kreis: tuple(sorted(ids)) for kreis, ids in by_kreis.items()}
        view.areas_of = {jobcenter_id: tuple(areas) for jobcenter_id, areas in areas_of.items()}
        for jobcenter_id, jobcenter in view.jobcenters.items():
            in_berlin = any(area.kind is AreaKind.BERLIN_BEZIRK for area in view.areas_of.get(jobcenter_id, ()))
            view.jobcenters[jobcenter_id] = replace(jobcenter, display_name=display_name(jobcenter.name, in_berlin))
        return view

    def _check(self) -> None:
        seen: dict[str, list[Validity]] = defaultdict(list)
        for period in self.jobcenter_periods:
            for other in seen[period.jobcenter.jobcenter_id]:
                if overlaps(other, period.validity):
                    raise RegisterError(f"{period.jobcenter.jobcenter_id}: two periods overlap")
            seen[period.jobcenter.jobcenter_id].append(period.validity)
        for area in self.area_periods:
            if area.jobcenter_id not in seen:
                raise RegisterError(f"area {area.kind}:{area.key} names the unknown Jobcenter {area.jobcenter_id}")
            if area.kind is AreaKind.KREIS and not (len(area.key) == 5 and area.key.isdigit()):
                raise RegisterError(f"{area.jobcenter_id}: {area.key!r} is not a 5-digit Kreis key")
            if area.kind is AreaKind.GEMEINDE and not (len(area.key) == 8 and area.key.isdigit()):
                raise RegisterError(f"{area.jobcenter_id}: {area.key!r} is not an 8-digit Gemeinde key")


def display_name(name: str, in_berlin: bool) -> str:
    """``Jobcenter Berlin Treptow-Köpenick``: the register's name, with Berlin for a Jobcenter of a Bezirk."""
    if in_berlin and not name.startswith("Berlin"):
        name = f"Berlin {name}"
    return name if name.startswith("Jobcenter") else f"Jobcenter {name}"


def overlaps(first: Validity, second: Validity) -> bool:
    starts_before_second_ends = (
        first.valid_from is None or second.valid_to is None or first.valid_from <= second.valid_to
    )
    ends_after_second_starts = (
        first.valid_to is None or second.valid_from is None or second.valid_from <= first.valid_to
    )
    return starts_before_second_ends and ends_after_second_starts


def validity_of(row: dict[str, str]) -> Validity:
    return Validity(parse_day(row["valid_from"]), parse_day(row["valid_to"]))


def parse_day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def format_day(day: date | None) -> str:
    return day.isoformat() if day is not None else ""


def read_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a `;`-separated register file; raises RegisterError when a column is missing."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        missing = set(columns) - set(reader.fieldnames or ())
        if missing:
            raise RegisterError(f"{path.name}: columns {sorted(missing)} are missing")
        return [{key: (row[key] or "").strip() for key in columns} for row in reader]


def write_register(directory: Path, jobcenters: list[JobcenterPeriod], areas: list[AreaPeriod]) -> None:
    """Write the two register files into ``directory`` (sorted, so a diff of the files reads well)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / JOBCENTERS_FILE).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(JOBCENTER_COLUMNS)
        for period in sorted(jobcenters, key=lambda p: (p.jobcenter.jobcenter_id, format_day(p.validity.valid_from))):
            jobcenter = period.jobcenter
            writer.writerow(
                [jobcenter.jobcenter_id, jobcenter.traeger_nummer, jobcenter.form.value, jobcenter.name]
                + [format_day(period.validity.valid_from), format_day(period.validity.valid_to)]
            )
    with (directory / AREAS_FILE).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(AREA_COLUMNS)
        for area in sorted(
            areas, key=lambda a: (a.jobcenter_id, a.kind.value, a.key, format_day(a.validity.valid_from))
        ):
            writer.writerow(
                [area.jobcenter_id, area.kind.value, area.key, area.name]
                + [format_day(area.validity.valid_from), format_day(area.validity.valid_to)]
            )
