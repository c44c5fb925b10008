"""Import next year's list of Jobcenters into the register, showing what changes before it is applied.

``python -m services.routing.register_import --diff NEWLIST CROSSWALK`` prints the changes;
``--apply`` prints them and writes the register with the new period (``--output``, default the
register read). NEWLIST has the format of Annex 1 of the Eingliederungsmittel-Verordnung
(``traeger_nr;traeger_form;jobcenter``), CROSSWALK that of the Jobcenter → Kreis table
(``traeger_nr;traeger_form;jobcenter;ags_kreis;kreis_name``).

Each Jobcenter of the new list keeps the project's id of the Jobcenter it continues: the same
Träger-Nummer, else the same area (a renumbering). A new number whose area is the union of the
areas of two or more ending Jobcenters is a merger and gets a new id, as does a new Jobcenter.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from services.routing.places import place_key
from services.routing.register import (
    BERLIN_KREIS,
    SHIPPED_REGISTER,
    AreaKind,
    AreaPeriod,
    Form,
    Jobcenter,
    JobcenterPeriod,
    Register,
    RegisterError,
    RegisterView,
    Validity,
    write_register,
)


@dataclass(frozen=True)
class ListedJobcenter:
    """One Jobcenter of the new list with the Kreise the crosswalk gives it."""

    traeger_nummer: str
    form: Form
    name: str
    kreise: dict[str, str]  # Kreis key → Kreis name

    @property
    def area(self) -> frozenset[str]:
        return frozenset(self.kreise)


@dataclass
class RegisterDiff:
    """What the new list changes, Jobcenter by Jobcenter (ids are the project's own)."""

    valid_from: date
    matched: dict[str, str] = field(default_factory=dict)  # Träger-Nummer → id it continues
    new: list[str] = field(default_factory=list)  # Träger-Nummern
    merged: list[tuple[tuple[str, ...], str]] = field(default_factory=list)  # (ids ending, Träger-Nummer or id)
    renumbered: list[tuple[str, str, str]] = field(default_factory=list)  # (id, old, new)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)
    changed_form: list[tuple[str, str, str]] = field(default_factory=list)
    changed_area: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)  # id, +, -
    ended: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        changes = (self.new, self.merged, self.renumbered, self.renamed, self.changed_form, self.changed_area)
        return not any(changes) and not self.ended

    def lines(self, listed: dict[str, ListedJobcenter], view: RegisterView) -> list[str]:
        def old(jobcenter_id: str) -> str:
            jobcenter = view.jobcenters[jobcenter_id]
            return f"{jobcenter_id} {jobcenter.traeger_nummer} {jobcenter.name}"

        out = [f"Register changes from {self.valid_from.isoformat()}:"]
        out += [
            f"  new:          {nr} {listed[nr].name} ({listed[nr].form}) Kreise {sorted(listed[nr].area)}"
            for nr in self.new
        ]
        for sources, target in self.merged:
            into = f"{target} {listed[target].name}" if target in listed else old(target)
            out.append(f"  merged:       {', '.join(old(s) for s in sources)} -> {into}")
        out += [f"  renumbered:   {i} {view.jobcenters[i].name}: {a} -> {b}" for i, a, b in self.renumbered]
        out += [f"  renamed:      {i}: {a} -> {b}" for i, a, b in self.renamed]
        out += [f"  changed form: {old(i)}: {a} -> {b}" for i, a, b in self.changed_form]
        out += [f"  changed area: {old(i)}: +{list(a)} -{list(r)}" for i, a, r in self.changed_area]
        out += [f"  ended:        {old(i)}" for i in self.ended]
        out += [f"  warning:      {text}" for text in self.warnings]
        if self.empty:
            out.append("  no changes")
        return out


def read_new_list(new_list: Path, crosswalk: Path) -> dict[str, ListedJobcenter]:
    """The new list joined with its crosswalk; raises RegisterError when they disagree."""
    listed: dict[str, tuple[Form, str]] = {}
    for row in _rows(new_list, ("traeger_nr", "traeger_form", "jobcenter")):
        try:
            listed[row["traeger_nr"]] = (Form(row["traeger_form"]), row["jobcenter"])
        except ValueError:
            raise RegisterError(f"{new_list.name}: unknown form {row['traeger_form']!r}") from None
    kreise: dict[str, dict[str, str]] = defaultdict(dict)
    for row in _rows(crosswalk, ("traeger_nr", "ags_kreis", "kreis_name")):
        if row["traeger_nr"] not in listed:
            raise RegisterError(f"{crosswalk.name}: {row['traeger_nr']} is not in {new_list.name}")
        if not (len(row["ags_kreis"]) == 5 and row["ags_kreis"].isdigit()):
            raise RegisterError(f"{crosswalk.name}: {row['ags_kreis']!r} is not a Kreis key")
        kreise[row["traeger_nr"]][row["ags_kreis"]] = row["kreis_name"]
    missing = sorted(set(listed) - set(kreise))
    if missing:
        raise RegisterError(f"{crosswalk.name}: no Kreis for {', '.join(missing)}")
    return {nr: ListedJobcenter(nr, form, name, kreise[nr]) for nr, (form, name) in listed.items()}


def area_of(view: RegisterView, jobcenter_id: str) -> frozenset[str]:
    """The Kreise a Jobcenter serves in the terms of the crosswalk (Berlin's Bezirke are Kreis 11000)."""
    keys = set()
    for area in view.areas_of.get(jobcenter_id, ()):
        if area.kind is AreaKind.KREIS:
            keys.add(area.key)
        elif area.kind is AreaKind.BERLIN_BEZIRK:
            keys.add(BERLIN_KREIS)
    return frozenset(keys)


def compare(register: Register, listed: dict[str, ListedJobcenter], valid_from: date) -> RegisterDiff:
    """What changes when ``listed`` is in force from ``valid_from``."""
    view = register.at(valid_from - timedelta(days=1))
    diff = RegisterDiff(valid_from)
    by_number = {jobcenter.traeger_nummer: i for i, jobcenter in view.jobcenters.items()}
    areas = {i: area_of(view, i) for i in view.jobcenters}
    unmatched_old = set(view.jobcenters)
    for nr in sorted(listed):
        if nr in by_number:
            diff.matched[nr] = by_number[nr]
            unmatched_old.discard(by_number[nr])
    for nr in sorted(set(listed) - set(diff.matched)):
        entry = listed[nr]
        same_area = [i for i in sorted(unmatched_old) if areas[i] == entry.area]
        same_name = [i for i in same_area if place_key(view.jobcenters[i].name) == place_key(entry.name)]
        chosen = same_name if len(same_name) == 1 else same_area if entry.area != {BERLIN_KREIS} else []
        if len(chosen) == 1:
            diff.matched[nr] = chosen[0]
            unmatched_old.discard(chosen[0])
            diff.renumbered.append((chosen[0], view.jobcenters[chosen[0]].traeger_nummer, nr))
    for nr in sorted(set(listed) - set(diff.matched)):
        entry = listed[nr]
        parts = tuple(sorted(i for i in unmatched_old if areas[i] and areas[i] <= entry.area))
        if len(parts) >= 2 and frozenset().union(*(areas[i] for i in parts)) == entry.area:
            diff.merged.append((parts, nr))
            unmatched_old -= set(parts)
        else:
            diff.new.append(nr)
    for nr, jobcenter_id in sorted(diff.matched.items()):
        entry, jobcenter = listed[nr], view.jobcenters[jobcenter_id]
        if entry.name != jobcenter.name:
            diff.renamed.append((jobcenter_id, jobcenter.name, entry.name))
        if entry.form is not jobcenter.form:
            diff.changed_form.append((jobcenter_id, jobcenter.form.value, entry.form.value))
        added, removed = entry.area - areas[jobcenter_id], areas[jobcenter_id] - entry.area
        if added or removed:
            diff.changed_area.append((jobcenter_id, tuple(sorted(added)), tuple(sorted(removed))))
    for jobcenter_id in sorted(unmatched_old):
        absorbing = [
            i for nr, i in diff.matched.items() if areas[jobcenter_id] and areas[jobcenter_id] <= listed[nr].area
        ]
        if len(absorbing) == 1:
            diff.merged.append(((jobcenter_id,), absorbing[0]))
        else:
            diff.ended.append(jobcenter_id)
    for nr in diff.new + [target for _, target in diff.merged if target in listed]:
        if BERLIN_KREIS in listed[nr].area:
            diff.warnings.append(f"{nr} {listed[nr].name} serves Berlin: give it its Bezirk in the areas file")
    return diff


def apply(
    register: Register, listed: dict[str, ListedJobcenter], diff: RegisterDiff
) -> tuple[list[JobcenterPeriod], list[AreaPeriod]]:
    """The register's periods with the new list in force from ``diff.valid_from``."""
    start, day_before = diff.valid_from, diff.valid_from - timedelta(days=1)
    view = register.at(day_before)
    ids = dict(diff.matched)
    next_number = 1 + max(int(p.jobcenter.jobcenter_id.split("-")[1]) for p in register.jobcenter_periods)
    for nr in sorted(diff.new + [target for _, target in diff.merged if target in listed]):
        ids[nr] = f"jc-{next_number:04d}"
        next_number += 1
    continuing = {jobcenter_id: nr for nr, jobcenter_id in ids.items()}

    def ends(validity: Validity) -> bool:
        return validity.covers(day_before) and (validity.valid_to is None or validity.valid_to >= start)

    jobcenters: list[JobcenterPeriod] = []
    for period in register.jobcenter_periods:
        follower = continuing.get(period.jobcenter.jobcenter_id)
        unchanged = follower is not None and same_attributes(listed[follower], period.jobcenter)
        if ends(period.validity) and not unchanged:
            period = replace(period, validity=replace(period.validity, valid_to=day_before))
        jobcenters.append(period)
    for nr, jobcenter_id in sorted(ids.items()):
        entry, current = listed[nr], view.jobcenters.get(jobcenter_id)
        if current is None or not same_attributes(entry, current):
            jobcenter = Jobcenter(jobcenter_id, entry.traeger_nummer, entry.form, entry.name)
            jobcenters.append(JobcenterPeriod(jobcenter, Validity(start)))
    areas: list[AreaPeriod] = []
    for area in register.area_periods:
        follower = continuing.get(area.jobcenter_id)
        keeps = follower is not None and (area.kind is not AreaKind.KREIS or area.key in listed[follower].area)
        if ends(area.validity) and not keeps:
            area = replace(area, validity=replace(area.validity, valid_to=day_before))
        areas.append(area)
    for nr, jobcenter_id in sorted(ids.items()):
        present = area_of(view, jobcenter_id) if jobcenter_id in view.jobcenters else frozenset()
        for kreis, name in sorted(listed[nr].kreise.items()):
            if kreis not in present and kreis != BERLIN_KREIS:
                areas.append(AreaPeriod(jobcenter_id, AreaKind.KREIS, kreis, name, Validity(start)))
    return jobcenters, areas


def same_attributes(entry: ListedJobcenter, jobcenter: Jobcenter) -> bool:
    return (entry.traeger_nummer, entry.form, entry.name) == (jobcenter.traeger_nummer, jobcenter.form, jobcenter.name)


def _rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        missing = set(columns) - set(reader.fieldnames or ())
        if missing:
            raise RegisterError(f"{path.name}: columns {sorted(missing)} are missing")
        return [{key: (value or "").strip() for key, value in row.items() if key} for row in reader]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Import next year's list of Jobcenters into the register.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--diff", action="store_true", help="print what would change")
    action.add_argument("--apply", action="store_true", help="print what changes and write the register")
    parser.add_argument("new_list", type=Path, help="the new list (traeger_nr;traeger_form;jobcenter)")
    parser.add_argument("crosswalk", type=Path, help="its Jobcenter → Kreis table")
    default_register = os.environ.get("ROUTING_REGISTER_DIR") or str(SHIPPED_REGISTER)
    parser.add_argument("--register", type=Path, default=Path(default_register), help="register to read")
    parser.add_argument("--output", type=Path, help="where --apply writes (default: the register read)")
    parser.add_argument(
        "--valid-from", type=date.fromisoformat, help="first day of the new list (default: next 1 January)"
    )
    args = parser.parse_args(argv)

    valid_from = args.valid_from or date(date.today().year + 1, 1, 1)
    try:
        register = Register.load(args.register)
        listed = read_new_list(args.new_list, args.crosswalk)
        diff = compare(register, listed, valid_from)
    except (RegisterError, OSError) as problem:
        print(f"register import failed: {problem}", file=sys.stderr)
        return 2
    print("\n".join(diff.lines(listed, register.at(valid_from - timedelta(days=1)))))
    if args.apply:
        jobcenters, areas = apply(register, listed, diff)
        output = args.output or args.register
        write_register(output, jobcenters, areas)
        written = Register.load(output)  # the new register must load, or nobody should ship it
        print(f"written to {output} (register version {written.version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
