"""The rules of documents that need no server: names, limits, who may read."""

from __future__ import annotations

import pytest

from services.documents.domainmodel import (
    NAME_MAX_LENGTH,
    Actor,
    check_size,
    display_name_for,
    may_read,
    may_see_access_record,
    sanitise_name,
)
from shared.errors import InvalidInput

CASE = {"owner_id": "owner-1", "jobcenter_id": "jc-1", "status": "assigned"}


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\max\\Lohn März.pdf", "Lohn März.pdf"),
        ("a\x00b\x1b[31mc.pdf", "a b [31mc.pdf"),
        ("rechnung\u202efdp.exe", "rechnung fdp.exe"),
        ("Lohn Ma\u0308rz.pdf", "Lohn März.pdf"),  # NFD as macOS sends it, shown as NFC
        ("<script>.pdf", "_script_.pdf"),
        ("...", "Dokument"),
        ("", "Dokument"),
    ],
)
def test_a_file_name_is_made_safe_to_show(given, shown):
    assert sanitise_name(given) == shown


def test_a_long_file_name_is_shortened_and_keeps_its_extension():
    name = sanitise_name("x" * 500 + ".pdf")
    assert len(name) == NAME_MAX_LENGTH and name.endswith("xxx.pdf")


def test_the_download_name_has_the_extension_of_what_the_bytes_are():
    assert display_name_for("foto.heic", "image/jpeg") == "foto.jpg"
    assert display_name_for("vertrag", "application/pdf") == "vertrag.pdf"


def test_an_upload_gets_the_file_limit_or_what_is_left_of_the_case_quota():
    assert check_size(None, max_file_bytes=20, case_bytes=0, max_case_bytes=100) == 20
    assert check_size(5, max_file_bytes=20, case_bytes=90, max_case_bytes=100) == 10


@pytest.mark.parametrize(
    ("declared", "held", "code"),
    [
        (21, 0, "FILE_TOO_LARGE"),
        (15, 90, "CASE_QUOTA_EXCEEDED"),
        (None, 100, "CASE_QUOTA_EXCEEDED"),
        (-1, 0, "SIZE_INVALID"),
    ],
)
def test_an_upload_that_breaks_a_limit_is_refused_at_start(declared, held, code):
    with pytest.raises(InvalidInput) as refused:
        check_size(declared, max_file_bytes=20, case_bytes=held, max_case_bytes=100)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (Actor("owner-1", "citizen"), True),
        (Actor("owner-2", "citizen"), False),
        (Actor("cw-1", "caseworker", "jc-1"), True),
        (Actor("tl-1", "team_lead", "jc-1"), True),
        (Actor("cw-2", "caseworker", "jc-2"), False),
        (Actor("cw-3", "caseworker", None), False),
        (Actor("owner-1", "caseworker", "jc-2"), False),
        (Actor("admin", "admin", "jc-1"), False),
    ],
)
def test_only_the_owner_and_the_assigned_jobcenters_staff_may_read(actor, allowed):
    assert may_read(actor, CASE) is allowed


def test_no_staff_may_read_a_draft_that_has_no_jobcenter_yet():
    assert not may_read(Actor("cw-1", "caseworker", None), {**CASE, "jobcenter_id": None})


def test_the_access_record_is_for_the_owner_and_the_team_leads():
    assert may_see_access_record(Actor("owner-1", "citizen"), CASE)
    assert may_see_access_record(Actor("tl-1", "team_lead", "jc-1"), CASE)
    assert not may_see_access_record(Actor("cw-1", "caseworker", "jc-1"), CASE)
