"""Derive the postcode and Berlin address files the project ships from the published sources.

    python -m services.routing.derive_places SOURCE_DIR [--output services/routing/data]

``SOURCE_DIR`` holds the published files in their own formats (the ones :mod:`services.routing.places`
imports): ``zuordnung_plz_ort_osm_2022.csv`` (OpenStreetMap, as published by suche-postleitzahl.org; ODbL
1.0) and ``berlin_adressen_2023.csv.gz`` (Geoportal Berlin "Adressen Berlin"; dl-de/by-2.0). It writes
two compact files of the project's own format (``;``-separated, UTF-8, sorted, so a new source gives a
readable diff):

- ``postcodes.csv`` — ``plz;ags;ort``: every Gemeinde (8-digit key and name) a postcode reaches.
- ``berlin_streets.csv`` — ``plz;strasse;bezirk;hausnummern``: the Bezirk of every street under each
  Berlin postcode. ``hausnummern`` is empty where the whole street lies in one Bezirk; where it crosses
  a Bezirk border, one row per Bezirk lists its house numbers (``1-15`` is every number from 1 to 15,
  ``12a`` one with its letter), and a row with an empty ``bezirk`` lists the numbers whose letters lie
  in different Bezirke.

Reading the shipped files gives exactly the index that importing the sources gives (tested), in a
fraction of the size and of the start-up time.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from services.routing.places import (
    BERLIN_ADDRESS_SOURCE,
    BERLIN_STREETS_FILE,
    POSTCODE_SOURCE,
    POSTCODES_FILE,
    SHIPPED_PLACES,
    UNDECIDED,
    BerlinAddressIndex,
    PostcodeIndex,
    load_berlin_address_file,
    load_postcode_file,
)

_PLAIN_NUMBER = re.compile(r"\d+")


def write_postcodes(index: PostcodeIndex, path: Path) -> int:
    rows = [(plz, place.ags, place.ort) for plz in sorted(index.places) for place in index.places[plz]]
    write_rows(path, ("plz", "ags", "ort"), rows)
    return len(rows)


def write_berlin_streets(index: BerlinAddressIndex, path: Path) -> int:
    rows: list[tuple[str, str, str, str]] = []
    for (plz, street), found in sorted(index.streets.items()):
        name = index.street_names[(plz, street)]
        if isinstance(found, str):
            rows.append((plz, name, found, ""))
            continue
        by_bezirk: dict[str, list[str]] = defaultdict(list)
        for number, bezirk in found.items():
            by_bezirk[bezirk].append(number)
        for bezirk in sorted(by_bezirk):
            rows.append((plz, name, bezirk or UNDECIDED, " ".join(compress_house_numbers(by_bezirk[bezirk]))))
    write_rows(path, ("plz", "strasse", "bezirk", "hausnummern"), rows)
    return len(rows)


def compress_house_numbers(numbers: Iterable[str]) -> list[str]:
    """``1 2 3 5 7a`` as ``1-3 5 7a``: runs of plain numbers as ranges, numbers with letters as they are."""
    plain = sorted(int(number) for number in numbers if _PLAIN_NUMBER.fullmatch(number))
    others = sorted(number for number in numbers if not _PLAIN_NUMBER.fullmatch(number))
    tokens: list[str] = []
    start = previous = None
    for number in [*plain, None]:
        if previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            tokens.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = number
    return tokens + others


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def derive(source: Path, output: Path) -> dict[str, int]:
    """Write both shipped files into ``output``; answers the number of rows of each."""
    output.mkdir(parents=True, exist_ok=True)
    return {
        POSTCODES_FILE: write_postcodes(load_postcode_file(source / POSTCODE_SOURCE), output / POSTCODES_FILE),
        BERLIN_STREETS_FILE: write_berlin_streets(
            load_berlin_address_file(source / BERLIN_ADDRESS_SOURCE), output / BERLIN_STREETS_FILE
        ),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="folder with the published source files")
    parser.add_argument("--output", type=Path, default=SHIPPED_PLACES, help="default: %(default)s")
    arguments = parser.parse_args(argv)
    for name, count in derive(arguments.source, arguments.output).items():
        print(f"{arguments.output / name}: {count} rows")


if __name__ == "__main__":
    main()
