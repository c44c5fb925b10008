"""The shipped register against the 2026 sources: every Jobcenter, every Kreis, Hanau and the renumberings."""

from collections import defaultdict
from datetime import date

import pytest

from services.routing.register import Form, Register, RegisterError, write_register
from services.routing.resolver import Outcome, Residence

IN_2026 = date(2026, 6, 1)
IN_2025 = date(2025, 6, 1)


def kreise_of(crosswalk_rows) -> dict[str, list[str]]:
    kreise = defaultdict(list)
    for row in crosswalk_rows:
        kreise[row["traeger_nr"]].append(row["ags_kreis"])
    return kreise


def test_the_register_of_2026_holds_300_ge_and_104_zkt(register):
    forms = [jobcenter.form for jobcenter in register.at(IN_2026).jobcenters.values()]
    assert (forms.count(Form.GE), forms.count(Form.ZKT)) == (300, 104)


def test_the_register_matches_the_2026_list_number_form_and_name(register, jobcenter_list_rows):
    listed = {(row["traeger_nr"], row["traeger_form"], row["jobcenter"]) for row in jobcenter_list_rows}
    registered = {(j.traeger_nummer, j.form.value, j.name) for j in register.at(IN_2026).jobcenters.values()}
    assert registered == listed


def test_every_ge_is_reachable_from_one_of_its_kreise(resolver_without_files, jobcenter_list_rows, crosswalk_rows):
    kreise = kreise_of(crosswalk_rows)
    reached = set()
    for row in jobcenter_list_rows:
        if row["traeger_form"] != "gE":
            continue
        for kreis in kreise[row["traeger_nr"]]:
            answer = resolver_without_files.resolve(Residence(kreis=kreis), IN_2026)
            if answer.outcome is Outcome.ASSIGNED and answer.jobcenter.traeger_nummer == row["traeger_nr"]:
                reached.add(row["traeger_nr"])
        if kreise[row["traeger_nr"]] == ["11000"]:
            # Berlin's twelve share the Kreis; each is reached from its Bezirk.
            for bezirk in [f"{n:02d}" for n in range(1, 13)]:
                answer = resolver_without_files.resolve(Residence(kreis="11000", berlin_bezirk=bezirk), IN_2026)
                if answer.jobcenter.traeger_nummer == row["traeger_nr"]:
                    reached.add(row["traeger_nr"])
    assert len(reached) == 300


def test_every_zkt_kreis_is_answered_not_served_with_its_zkt(resolver_without_files, crosswalk_rows):
    zkt_rows = [row for row in crosswalk_rows if row["traeger_form"] == "zkT"]
    assert len({row["traeger_nr"] for row in zkt_rows}) == 104
    for row in zkt_rows:
        answer = resolver_without_files.resolve(Residence(kreis=row["ags_kreis"]), IN_2026)
        assert answer.outcome is Outcome.NOT_SERVED, row
        assert (answer.code, answer.jobcenter.traeger_nummer, answer.jobcenter.name) == (
            "AREA_OF_ZKT",
            row["traeger_nr"],
            row["jobcenter"],
        )


@pytest.mark.parametrize(
    ("traeger_nummer", "kreise"),
    [
        ("52302", ["07311", "07314", "07318", "07338"]),  # Vorderpfalz-Ludwigshafen
        ("54308", ["07313", "07337"]),
        ("54312", ["07316", "07332"]),
        ("74302", ["09361", "09371"]),
        ("75102", ["09363", "09374"]),
        ("81512", ["09263", "09278"]),
    ],
)
def test_a_jobcenter_of_several_kreise_is_assigned_from_each(resolver_without_files, traeger_nummer, kreise):
    for kreis in kreise:
        answer = resolver_without_files.resolve(Residence(kreis=kreis), IN_2026)
        assert (answer.outcome, answer.jobcenter.traeger_nummer, answer.matched_key) == (
            Outcome.ASSIGNED,
            traeger_nummer,
            f"kreis:{kreis}",
        )


def test_hanau_is_its_own_ge_from_2026_by_its_new_kreis_and_its_old_gemeinde_key(resolver_without_files):
    by_kreis = resolver_without_files.resolve(Residence(kreis="06415"), IN_2026)
    by_old_gemeinde = resolver_without_files.resolve(Residence(ags="06435014"), IN_2026)
    assert (by_kreis.outcome, by_kreis.jobcenter.traeger_nummer, by_kreis.jobcenter.name) == (
        Outcome.ASSIGNED,
        "43106",
        "Hanau",
    )
    assert (by_old_gemeinde.jobcenter, by_old_gemeinde.matched_key) == (by_kreis.jobcenter, "gemeinde:06435014")


def test_before_2026_hanau_belonged_to_the_main_kinzig_kreis_zkt(resolver_without_files):
    by_gemeinde = resolver_without_files.resolve(Residence(ags="06435014"), IN_2025)
    by_new_kreis = resolver_without_files.resolve(Residence(kreis="06415"), IN_2025)
    assert (by_gemeinde.outcome, by_gemeinde.jobcenter.traeger_nummer) == (Outcome.NOT_SERVED, "43102")
    assert (by_new_kreis.outcome, by_new_kreis.code) == (Outcome.UNKNOWN_INPUT, "KREIS_UNKNOWN")


def test_the_main_kinzig_kreis_minus_hanau_is_not_served(resolver):
    gelnhausen_plz = "63571"
    for residence in (Residence(kreis="06435"), Residence(ags="06435010"), Residence(plz=gelnhausen_plz)):
        answer = resolver.resolve(residence, IN_2026)
        assert (answer.outcome, answer.jobcenter.name, answer.jobcenter.form) == (
            Outcome.NOT_SERVED,
            "Main-Kinzig-Kreis",
            Form.ZKT,
        ), residence


def test_celle_keeps_its_id_through_its_renumbering(register):
    before = register.at(date(2025, 12, 31))
    after = register.at(date(2026, 1, 1))
    (celle_id,) = before.by_kreis["03351"]
    assert after.by_kreis["03351"] == (celle_id,)
    assert (before.jobcenters[celle_id].traeger_nummer, after.jobcenters[celle_id].traeger_nummer) == ("22102", "25114")


def test_the_shipped_register_is_written_back_byte_for_byte(register, tmp_path):
    from services.routing.register import AREAS_FILE, JOBCENTERS_FILE, SHIPPED_REGISTER

    write_register(tmp_path, register.jobcenter_periods, register.area_periods)
    for name in (JOBCENTERS_FILE, AREAS_FILE):
        assert (tmp_path / name).read_bytes() == (SHIPPED_REGISTER / name).read_bytes()


def test_a_register_with_overlapping_periods_of_one_jobcenter_is_refused(tmp_path):
    (tmp_path / "jobcenters.csv").write_text(
        "jobcenter_id;traeger_nr;traeger_form;name;valid_from;valid_to\n"
        "jc-0001;11111;gE;A;;2026-12-31\n"
        "jc-0001;22222;gE;A;2026-06-01;\n"
    )
    (tmp_path / "jobcenter_areas.csv").write_text("jobcenter_id;area_kind;area_key;area_name;valid_from;valid_to\n")
    with pytest.raises(RegisterError, match="overlap"):
        Register.load(tmp_path)
