"""Next year's list, made up with a renumbering and a merger, imported with its diff before it is applied."""

from datetime import date

import pytest

from services.routing import register_import
from services.routing.register import Register, RegisterError
from services.routing.resolver import Outcome, Residence, Resolver

from .conftest import CROSSWALK, JOBCENTER_LIST

NEXT_YEAR = date(2027, 1, 1)
RENUMBERED = {"03510": "03599"}  # Dahme-Spreewald
MERGED = {"03202": "03299", "03208": "03299"}  # Rostock (city) and Landkreis Rostock
# The importer reads the published list's format: these tests give it the published 2026 list.
pytestmark = pytest.mark.usefixtures("sources")


@pytest.fixture
def next_year_files(tmp_path):
    """The 2026 list and crosswalk, with Dahme-Spreewald renumbered and the two Rostock Jobcenters merged."""

    def rewrite(source, target, keep_duplicates):
        lines, seen = [], set()
        for line in source.read_text(encoding="utf-8").splitlines():
            fields = line.split(";")
            number = fields[0]
            fields[0] = RENUMBERED.get(number, MERGED.get(number, number))
            if number in MERGED:
                fields[2] = "Rostock"
            key = ";".join(fields) if keep_duplicates else fields[0]
            if key not in seen:
                seen.add(key)
                lines.append(";".join(fields))
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return target

    return (
        rewrite(JOBCENTER_LIST, tmp_path / "list_2027.csv", keep_duplicates=False),
        rewrite(CROSSWALK, tmp_path / "crosswalk_2027.csv", keep_duplicates=True),
    )


def test_the_diff_names_the_renumbering_and_the_merger_and_nothing_else(register, next_year_files):
    listed = register_import.read_new_list(*next_year_files)
    diff = register_import.compare(register, listed, NEXT_YEAR)
    today = register.at(date(2026, 12, 31))
    dahme = today.by_kreis["12061"][0]
    rostock_city, rostock_land = today.by_kreis["13003"][0], today.by_kreis["13072"][0]
    assert diff.renumbered == [(dahme, "03510", "03599")]
    assert diff.merged == [((rostock_city, rostock_land), "03299")]
    assert (diff.new, diff.ended, diff.changed_form, diff.changed_area, diff.renamed) == ([], [], [], [], [])


def test_the_same_list_again_changes_nothing(register):
    listed = register_import.read_new_list(JOBCENTER_LIST, CROSSWALK)
    assert register_import.compare(register, listed, NEXT_YEAR).empty


def test_the_applied_register_routes_by_the_old_list_until_and_by_the_new_from_its_first_day(
    register, next_year_files, tmp_path, capsys
):
    output = tmp_path / "register"
    exit_code = register_import.main(
        ["--apply", *map(str, next_year_files), "--valid-from", "2027-01-01", "--output", str(output)]
    )
    printed = capsys.readouterr().out
    updated = Resolver(Register.load(output))

    def answer(kreis, day):
        return updated.resolve(Residence(kreis=kreis), day)

    assert exit_code == 0
    assert "renumbered:" in printed and "merged:" in printed and "written to" in printed
    before, after = answer("12061", date(2026, 12, 31)), answer("12061", NEXT_YEAR)
    assert (before.jobcenter.traeger_nummer, after.jobcenter.traeger_nummer) == ("03510", "03599")
    assert before.jobcenter.jobcenter_id == after.jobcenter.jobcenter_id
    merged_city, merged_land = answer("13003", NEXT_YEAR), answer("13072", NEXT_YEAR)
    assert merged_city.jobcenter == merged_land.jobcenter
    assert (merged_city.outcome, merged_city.jobcenter.traeger_nummer, merged_city.jobcenter.name) == (
        Outcome.ASSIGNED,
        "03299",
        "Rostock",
    )
    assert merged_city.jobcenter.jobcenter_id not in register.at(date(2026, 12, 31)).jobcenters
    assert answer("13003", date(2026, 12, 31)).jobcenter.traeger_nummer == "03202"
    assert len(Register.load(output).at(NEXT_YEAR).jobcenters) == 403


def test_the_diff_alone_writes_nothing(next_year_files, tmp_path, capsys):
    output = tmp_path / "register"
    register_import.main(["--diff", *map(str, next_year_files), "--valid-from", "2027-01-01", "--output", str(output)])
    assert "renumbered:" in capsys.readouterr().out
    assert not output.exists()


def test_a_crosswalk_naming_a_jobcenter_not_in_the_list_is_refused(tmp_path):
    (tmp_path / "list.csv").write_text("traeger_nr;traeger_form;jobcenter\n11111;gE;A\n", encoding="utf-8")
    (tmp_path / "crosswalk.csv").write_text(
        "traeger_nr;traeger_form;jobcenter;ags_kreis;kreis_name\n22222;gE;B;01001;Flensburg\n", encoding="utf-8"
    )
    with pytest.raises(RegisterError, match="22222"):
        register_import.read_new_list(tmp_path / "list.csv", tmp_path / "crosswalk.csv")
