"""The postcode index and the Berlin address index: the compact files the project ships, and importers of
the published sources (for ``derive_places`` and for an operator who loads newer ones).

The shipped files (``data/postcodes.csv``, ``data/berlin_streets.csv``; format in
:mod:`services.routing.derive_places`, licences in ``data/LICENSES.md``) are derived from:

- Postcode file (OpenStreetMap, as published by suche-postleitzahl.org): ``osm_id,ags,ort,plz,landkreis,
  bundesland``; AGS and postcode lost their leading zeros (Länder 01–09, postcodes 0xxxx).
- Berlin address file (Geoportal Berlin "Adressen Berlin", optionally gzip-compressed):
  ``hnr,hnr_zusatz,str_name,plz,ort_name,PLR_NAME,PLR_ID``; the first two digits of ``PLR_ID`` are the Bezirk.
"""

from __future__ import annotations

import csv
import gzip
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

SHIPPED_PLACES = Path(__file__).resolve().parent / "data"
POSTCODES_FILE = "postcodes.csv"
BERLIN_STREETS_FILE = "berlin_streets.csv"
POSTCODE_SOURCE = "zuordnung_plz_ort_osm_2022.csv"
BERLIN_ADDRESS_SOURCE = "berlin_adressen_2023.csv.gz"
BERLIN_GEMEINDE = "11000000"
# A house number whose Bezirk depends on the letter after it.
UNDECIDED = ""

_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_STREET_SUFFIX = re.compile(r"(strasse|str)$")
_FOLDS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
_RANGE = re.compile(r"(\d+)-(\d+)")


class PlacesFileError(ValueError):
    """An importer file lacks a column it needs."""


def place_key(text: str) -> str:
    """A spelling-tolerant key of a place or street name: case, umlauts, ß, spaces and dots do not matter."""
    folded = unicodedata.normalize("NFC", text).casefold().translate(_FOLDS)
    return _NOT_ALNUM.sub("", folded)


def street_key(text: str) -> str:
    """Like :func:`place_key`; ``Straße``, ``Strasse`` and ``Str.`` at the end are one."""
    return _STREET_SUFFIX.sub("str", place_key(text))


def house_number_key(number: str, addition: str = "") -> str:
    """``12``, ``12 a`` and ``12A`` as ``12``/``12a``; anything but digits and letters dropped."""
    return place_key(f"{number}{addition}")


@dataclass(frozen=True)
class Place:
    """A Gemeinde (by its 8-digit key) that a postcode reaches."""

    ags: str
    ort: str

    @property
    def key(self) -> str:
        return place_key(self.ort)


@dataclass
class PostcodeIndex:
    """Postcode → the Gemeinden it reaches."""

    places: dict[str, tuple[Place, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.places)

    def get(self, plz: str) -> tuple[Place, ...]:
        return self.places.get(plz, ())


@dataclass
class BerlinAddressIndex:
    """Berlin postcode, street and house number → Bezirk (``01``..``12``)."""

    # postcode → the Bezirke its addresses lie in
    postcodes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # (postcode, street key) → the Bezirk, or house number key → Bezirk where the street crosses Bezirke
    streets: dict[tuple[str, str], str | dict[str, str]] = field(default_factory=dict)
    # (postcode, street key) → the street's name as written
    street_names: dict[tuple[str, str], str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.streets)

    def bezirke_of_postcode(self, plz: str) -> tuple[str, ...]:
        return self.postcodes.get(plz, ())

    def bezirke_of_street(self, plz: str, street: str) -> tuple[str, ...]:
        """Every Bezirk the street has addresses in under this postcode (none when unknown)."""
        found = self.streets.get((plz, street_key(street)))
        if found is None:
            return ()
        if isinstance(found, str):
            return (found,)
        return tuple(sorted({bezirk for bezirk in found.values() if bezirk}))

    def bezirk_of_address(self, plz: str, street: str, house_number: str) -> str | None:
        """The Bezirk of one address, or None when street and house number do not decide it."""
        found = self.streets.get((plz, street_key(street)))
        if found is None or isinstance(found, str):
            return found
        number = house_number_key(house_number)
        bezirk = found.get(number)
        if bezirk is None:
            # "12c" when only 12, 12a and 12b are known: the number alone decides if its addresses agree.
            bezirk = found.get(number.rstrip("abcdefghijklmnopqrstuvwxyz"))
        return bezirk or None


def load_postcode_file(path: Path) -> PostcodeIndex:
    """Read the postcode → Gemeinde file; raises PlacesFileError when a column is missing."""
    collected: dict[str, dict[str, Place]] = defaultdict(dict)
    with open_text(path) as handle:
        reader = csv.DictReader(handle)
        require_columns(path, reader.fieldnames, ("ags", "ort", "plz"))
        for row in reader:
            plz, ags = row["plz"].strip().zfill(5), row["ags"].strip().zfill(8)
            if len(plz) == 5 and plz.isdigit() and ags.isdigit():
                collected[plz].setdefault(ags, Place(ags, row["ort"].strip()))
    return PostcodeIndex(
        {plz: tuple(sorted(places.values(), key=lambda p: (p.ort, p.ags))) for plz, places in collected.items()}
    )


def load_berlin_address_file(path: Path) -> BerlinAddressIndex:
    """Read the Berlin address file; raises PlacesFileError when a column is missing."""
    postcodes: dict[str, Counter[str]] = defaultdict(Counter)
    numbers: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    street_keys: dict[str, str] = {}  # 400,000 addresses lie in about 10,000 streets
    street_names: dict[tuple[str, str], str] = {}
    with open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        require_columns(path, header, ("hnr", "hnr_zusatz", "str_name", "plz", "PLR_ID"))
        hnr, zusatz, name, postcode, plr = (header.index(c) for c in ("hnr", "hnr_zusatz", "str_name", "plz", "PLR_ID"))
        for row in reader:
            plz, bezirk = row[postcode].strip().zfill(5), row[plr].strip().zfill(8)[:2]
            postcodes[plz][bezirk] += 1
            street = street_keys.get(row[name])
            if street is None:
                street = street_keys[row[name]] = street_key(row[name])
            if (plz, street) not in street_names or row[name] < street_names[(plz, street)]:
                street_names[(plz, street)] = row[name]
            by_number = numbers[(plz, street)]
            number = row[hnr].strip().lower()
            by_number[number].add(bezirk)
            if row[zusatz]:
                by_number[house_number_key(number, row[zusatz])].add(bezirk)
    streets: dict[tuple[str, str], str | dict[str, str]] = {}
    for plz_and_street, by_number in numbers.items():
        bezirke = set().union(*by_number.values())
        if len(bezirke) == 1:
            streets[plz_and_street] = bezirke.pop()
        else:
            streets[plz_and_street] = {
                number: next(iter(b)) if len(b) == 1 else UNDECIDED for number, b in by_number.items()
            }
    return BerlinAddressIndex({plz: tuple(sorted(counts)) for plz, counts in postcodes.items()}, streets, street_names)


def load_places(directory: Path = SHIPPED_PLACES) -> tuple[PostcodeIndex, BerlinAddressIndex]:
    """Read the shipped files (``derive_places`` writes them); raises PlacesFileError when one is malformed."""
    return load_postcodes(directory / POSTCODES_FILE), load_berlin_streets(directory / BERLIN_STREETS_FILE)


def load_postcodes(path: Path) -> PostcodeIndex:
    collected: dict[str, list[Place]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        require_columns(path, next(reader, []), ("plz", "ags", "ort"))
        for plz, ags, ort in reader:
            collected[plz].append(Place(ags, ort))
    return PostcodeIndex({plz: tuple(places) for plz, places in collected.items()})


def load_berlin_streets(path: Path) -> BerlinAddressIndex:
    postcodes: dict[str, set[str]] = defaultdict(set)
    streets: dict[tuple[str, str], str | dict[str, str]] = {}
    street_names: dict[tuple[str, str], str] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        require_columns(path, next(reader, []), ("plz", "strasse", "bezirk", "hausnummern"))
        for plz, name, bezirk, numbers in reader:
            pair = (plz, street_key(name))
            street_names[pair] = name
            if bezirk:
                postcodes[plz].add(bezirk)
            if not numbers:
                streets[pair] = bezirk
                continue
            by_number = streets.setdefault(pair, {})
            if not isinstance(by_number, dict):
                raise PlacesFileError(f"{path.name}: {name} ({plz}) is listed as a whole street and by numbers")
            by_number.update(dict.fromkeys(expand_house_numbers(numbers), bezirk))
    return BerlinAddressIndex({plz: tuple(sorted(b)) for plz, b in postcodes.items()}, streets, street_names)


def expand_house_numbers(tokens: str) -> list[str]:
    """``1-3 5 7a`` as ``1 2 3 5 7a`` (see ``derive_places.compress_house_numbers``)."""
    numbers: list[str] = []
    for token in tokens.split():
        run = _RANGE.fullmatch(token)
        if run:
            numbers.extend(str(number) for number in range(int(run[1]), int(run[2]) + 1))
        else:
            numbers.append(token)
    return numbers


def open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def require_columns(path: Path, present: Sequence[str] | None, needed: tuple[str, ...]) -> None:
    missing = set(needed) - set(present or ())
    if missing:
        raise PlacesFileError(f"{path.name}: columns {sorted(missing)} are missing")
