"""The documentation in docs/ says what the code does, and the repository stands on its own."""

from __future__ import annotations

import re

import pytest

from services.routing.application import Assignments
from services.submissions.application import Cases
from shared.config import REPOSITORY_ROOT

DOCS = REPOSITORY_ROOT / "docs"
SERVICES = REPOSITORY_ROOT / "services"


def catalogue() -> dict[tuple[str, str], dict[str, str]]:
    """docs/events.md's rows by (publisher, event): the Data and Consumed-by cells."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    publisher = ""
    for line in (DOCS / "events.md").read_text(encoding="utf-8").splitlines():
        if heading := re.match(r"## Published by (\w+)", line):
            publisher = heading.group(1)
        elif publisher and (row := re.match(r"\| `(\w+)` \| (.*?) \| (.*?) \| (.*?) \|$", line)):
            rows[(publisher, row.group(1))] = {"data": row.group(2), "consumers": row.group(4)}
    return rows


def published_fields() -> dict[tuple[str, str], tuple[str, ...] | None]:
    """Every integration event the code publishes; its data fields where a declaration names them."""
    found: dict[tuple[str, str], tuple[str, ...] | None] = {}
    for application in (Cases, Assignments):
        for publishes in application.integration_events.values():
            found[(application.name, publishes.type)] = publishes.fields
    for path in (SERVICES / "documents").glob("*.py"):
        for event in re.findall(r'record_event\(\s*session,\s*"(\w+)"', path.read_text(encoding="utf-8")):
            found[("documents", event)] = None
    return found


def consumers_in_code() -> dict[tuple[str, str], set[str]]:
    consumers: dict[tuple[str, str], set[str]] = {}
    for service in SERVICES.iterdir():
        path = service / "service.py"
        if path.exists():
            text = path.read_text(encoding="utf-8")
            for source, event in re.findall(r'@integration_event_handler\(\s*"(\w+)",\s*"(\w+)"\s*\)', text):
                consumers.setdefault((source, event), set()).add(service.name)
    return consumers


def test_the_event_catalogue_names_every_published_event_and_no_other():
    assert set(catalogue()) == set(published_fields())


def test_the_event_catalogue_names_each_event_s_data_fields():
    rows = catalogue()
    for key, fields in published_fields().items():
        cell = rows[key]["data"]
        if like := re.match(r"as `(\w+)`", cell):  # "as `case_assigned`, plus ..."
            cell += " " + rows[(key[0], like.group(1))]["data"]
        named = set(re.findall(r"`(\w+)`", cell))
        assert set(fields or ()) <= named, f"{key}: {sorted(set(fields or ()) - named)} missing in docs/events.md"


def test_the_event_catalogue_names_every_consumer():
    consumers = consumers_in_code()
    for key, row in catalogue().items():
        names = [name.strip() for name in re.sub(r"\([^)]*\)", "", row["consumers"]).split(",")]
        listed = {name for name in names if name and name != "—"}
        assert listed == consumers.get(key, set()), f"{key}: docs/events.md says {sorted(listed)}"
    assert set(consumers) <= set(catalogue()), "a service consumes an event nobody publishes"


@pytest.mark.parametrize(
    "page",
    ["README.md", *sorted(str(path.relative_to(REPOSITORY_ROOT)) for path in DOCS.glob("*.md"))]
    + sorted(str(path.relative_to(REPOSITORY_ROOT)) for path in SERVICES.glob("*/README.md")),
)
def test_no_page_sends_a_reader_to_the_folder_beside_the_repository(page: str):
    """A clone from a public host has no ../shared: nothing a reader follows may point there."""
    assert "../shared" not in (REPOSITORY_ROOT / page).read_text(encoding="utf-8")


def test_every_page_of_docs_is_in_its_index_and_every_link_of_the_index_exists():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([^)#]+)\)", index))
    assert {path.name for path in DOCS.glob("*.md")} - {"README.md"} <= linked
    for target in linked:  # relative to docs/, or to the repository's root when it starts with /
        assert (REPOSITORY_ROOT / target[1:] if target.startswith("/") else DOCS / target).exists(), target


def test_the_readme_links_the_documentation():
    assert "](docs/README.md)" in (REPOSITORY_ROOT / "README.md").read_text(encoding="utf-8")
