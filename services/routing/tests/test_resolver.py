"""Resolution of residences by postcode, place and Berlin address, on the shipped data (checked against the sources)."""

import random
from datetime import date

import pytest

from services.routing.resolver import Ask, Outcome, Residence

IN_2026 = date(2026, 6, 1)
BEZIRK_JOBCENTER = {
    "01": "96204", "02": "96202", "03": "95504", "04": "95502", "05": "95508", "06": "92208",
    "07": "92210", "08": "92202", "09": "92204", "10": "96206", "11": "96208", "12": "95506",
}  # fmt: skip


def numbers_of(answer) -> set[str]:
    if answer.jobcenter is not None:
        return {answer.jobcenter.traeger_nummer}
    return {candidate.jobcenter.traeger_nummer for candidate in answer.candidates}


def test_the_source_files_say_what_their_readme_measured(expected_postcode_jobcenters):
    def berlin_as_one(numbers):
        return {"berlin" if number in BEZIRK_JOBCENTER.values() else number for number in numbers}

    spanning = {plz for plz, numbers in expected_postcode_jobcenters.items() if len(berlin_as_one(numbers)) > 1}
    # The README counted the postcode file alone; the Berlin addresses add three Brandenburg postcodes.
    berlin_addresses_beyond_the_city = {"15537", "15566", "15569"}
    assert len(spanning - berlin_addresses_beyond_the_city) == 151
    assert berlin_addresses_beyond_the_city <= spanning


def test_every_postcode_is_answered_with_exactly_its_jobcenters(resolver, expected_postcode_jobcenters):
    wrong = {}
    for plz, expected in expected_postcode_jobcenters.items():
        answer = resolver.resolve(Residence(plz=plz), IN_2026)
        decided = answer.outcome in (Outcome.ASSIGNED, Outcome.NOT_SERVED)
        if numbers_of(answer) != expected or decided != (len(expected) == 1):
            wrong[plz] = (answer.outcome.value, sorted(numbers_of(answer)), sorted(expected))
    assert wrong == {}


def test_a_postcode_spanning_jobcenters_is_ambiguous_and_asks_for_the_place(resolver):
    answer = resolver.resolve(Residence(plz="22145"), IN_2026)
    assert (answer.outcome, answer.code, answer.ask) == (Outcome.AMBIGUOUS, "POSTCODE_SPANS_JOBCENTERS", Ask.ORT)
    places = {place.ort for candidate in answer.candidates for place in candidate.places}
    assert {"Hamburg"} < places


def test_the_place_name_in_any_spelling_decides_a_postcode_that_spans_jobcenters(resolver):
    for ort in ("Hamburg", " hamburg", "HAMBURG"):
        answer = resolver.resolve(Residence(plz="22145", ort=ort), IN_2026)
        assert (answer.outcome, answer.code, answer.jobcenter.traeger_nummer) == (
            Outcome.ASSIGNED,
            "MATCHED_POSTCODE_ORT",
            "12302",
        )


def test_a_place_not_in_the_postcode_is_not_guessed(resolver):
    answer = resolver.resolve(Residence(plz="22145", ort="München"), IN_2026)
    assert (answer.outcome, answer.code, answer.ask) == (Outcome.AMBIGUOUS, "ORT_NOT_IN_POSTCODE", Ask.ORT)


@pytest.mark.parametrize(("plz", "ort"), [("12555", "Hamburg"), ("01067", "Leipzig"), ("63450", "Gelnhausen")])
def test_a_town_not_of_a_postcode_with_one_place_is_an_error_too(resolver, plz, ort):
    """Found from outside: "12555 Hamburg, Bahnhofstraße 1" was assigned to Treptow-Köpenick."""
    answer = resolver.resolve(Residence(plz=plz, ort=ort, strasse="Bahnhofstraße", hausnummer="1"), IN_2026)
    assert (answer.outcome, answer.code, answer.ask) == (Outcome.AMBIGUOUS, "ORT_NOT_IN_POSTCODE", Ask.ORT)


@pytest.mark.parametrize(
    ("plz", "ort"), [("12555", "Berlin-Köpenick"), ("01067", "dresden"), ("01067", "Dresden Neustadt")]
)
def test_the_town_with_its_part_or_in_another_spelling_is_the_postcode_s(resolver, plz, ort):
    answer = resolver.resolve(Residence(plz=plz, ort=ort, strasse="Bahnhofstraße", hausnummer="1"), IN_2026)
    assert answer.outcome == Outcome.ASSIGNED


def test_a_postcode_mixing_ge_and_zkt_is_ambiguous_until_the_place_is_known(resolver):
    # 15537 is Erkner & co. (Oder-Spree, a zkT) and a few Berlin addresses in Treptow-Köpenick.
    mixed = resolver.resolve(Residence(plz="15537"), IN_2026)
    in_erkner = resolver.resolve(Residence(plz="15537", ort="Erkner"), IN_2026)
    assert (mixed.outcome, mixed.ask) == (Outcome.AMBIGUOUS, Ask.ORT)
    assert {candidate.jobcenter.form.value for candidate in mixed.candidates} == {"gE", "zkT"}
    assert (in_erkner.outcome, in_erkner.jobcenter.form.value) == (Outcome.NOT_SERVED, "zkT")


def test_an_address_in_treptow_koepenick_goes_to_jobcenter_treptow_koepenick(resolver):
    answer = resolver.resolve(Residence(plz="12555", strasse="Alt-Köpenick", hausnummer="21"), IN_2026)
    assert (answer.outcome, answer.jobcenter.name, answer.jobcenter.traeger_nummer) == (
        Outcome.ASSIGNED,
        "Treptow-Köpenick",
        "92204",
    )
    assert answer.matched_key == "berlin_bezirk:09"


def test_berlin_addresses_go_to_their_bezirks_jobcenter(resolver, berlin_addresses):
    sample = random.Random(20260101).sample(berlin_addresses, 3000)
    wrong = []
    for row in sample:
        residence = Residence(plz=row["plz"], strasse=row["str_name"], hausnummer=row["hnr"] + row["hnr_zusatz"])
        answer = resolver.resolve(residence, IN_2026)
        if answer.jobcenter is None or answer.jobcenter.traeger_nummer != BEZIRK_JOBCENTER[row["PLR_ID"].zfill(8)[:2]]:
            wrong.append((row["plz"], row["PLR_ID"], answer.code))
    assert wrong == []


def test_street_spellings_do_not_matter(resolver):
    for strasse in ("Choriner Straße", "Choriner Strasse", "choriner str.", "Choriner Str"):
        answer = resolver.resolve(Residence(plz="10119", strasse=strasse, hausnummer="12"), IN_2026)
        assert answer.jobcenter.name == "Pankow", strasse


def test_a_berlin_postcode_spanning_bezirke_asks_for_street_and_house_number(resolver):
    answer = resolver.resolve(Residence(plz="10119"), IN_2026)
    assert (answer.outcome, answer.code, answer.ask) == (
        Outcome.AMBIGUOUS,
        "BERLIN_POSTCODE_SPANS_BEZIRKE",
        Ask.STRASSE_HAUSNUMMER,
    )
    assert {candidate.berlin_bezirk for candidate in answer.candidates} == {"01", "03"}


def test_a_berlin_postcode_within_one_bezirk_decides_whatever_the_street(resolver):
    answer = resolver.resolve(Residence(plz="12524", strasse="Gibtsnichtweg", hausnummer="1"), IN_2026)
    assert (answer.outcome, answer.code, answer.jobcenter.name) == (
        Outcome.ASSIGNED,
        "MATCHED_POSTCODE",
        "Treptow-Köpenick",
    )


def test_a_berlin_street_of_unknown_name_is_not_guessed(resolver):
    answer = resolver.resolve(Residence(plz="10119", strasse="Gibtsnichtweg", hausnummer="1"), IN_2026)
    assert (answer.outcome, answer.code) == (Outcome.AMBIGUOUS, "BERLIN_ADDRESS_NOT_FOUND")


def test_a_berlin_street_crossing_bezirke_needs_the_house_number(resolver):
    answer = resolver.resolve(Residence(plz="10119", strasse="Fehrbelliner Straße"), IN_2026)
    assert (answer.outcome, answer.code, answer.ask) == (
        Outcome.AMBIGUOUS,
        "BERLIN_STREET_SPANS_BEZIRKE",
        Ask.STRASSE_HAUSNUMMER,
    )
    assert {candidate.berlin_bezirk for candidate in answer.candidates} == {"01", "03"}
    numbered = {
        number: resolver.resolve(Residence(plz="10119", strasse="Fehrbelliner Str.", hausnummer=number), IN_2026)
        for number in ("5", "47 c", "90")
    }
    assert {number: answer.jobcenter.name for number, answer in numbered.items()} == {
        "5": "Pankow",
        "47 c": "Mitte",
        "90": "Pankow",
    }


def test_without_the_berlin_file_a_berlin_resident_is_asked_for_the_bezirk(resolver_without_files):
    asked = resolver_without_files.resolve(Residence(kreis="11000"), IN_2026)
    chosen = resolver_without_files.resolve(Residence(kreis="11000", berlin_bezirk="09"), IN_2026)
    assert (asked.outcome, asked.ask, len(asked.candidates)) == (Outcome.AMBIGUOUS, Ask.BERLIN_BEZIRK, 12)
    assert (chosen.outcome, chosen.jobcenter.name) == (Outcome.ASSIGNED, "Treptow-Köpenick")


def test_without_the_postcode_file_a_postcode_is_unknown_but_a_gemeinde_key_works(resolver_without_files):
    by_plz = resolver_without_files.resolve(Residence(plz="12345"), IN_2026)
    by_gemeinde = resolver_without_files.resolve(Residence(ags="12061005"), IN_2026)
    assert (by_plz.outcome, by_plz.code) == (Outcome.UNKNOWN_INPUT, "POSTCODE_UNKNOWN")
    assert (by_gemeinde.outcome, by_gemeinde.jobcenter.name) == (Outcome.ASSIGNED, "Dahme-Spreewald")


@pytest.mark.parametrize(
    ("residence", "code"),
    [
        (Residence(), "RESIDENCE_MISSING"),
        (Residence(ags="1206100"), "GEMEINDE_KEY_INVALID"),
        (Residence(ags="99999999"), "KREIS_UNKNOWN"),
        (Residence(kreis="1206"), "KREIS_KEY_INVALID"),
        (Residence(ags="12061005", kreis="06435"), "RESIDENCE_INCONSISTENT"),
        (Residence(plz="1234"), "POSTCODE_INVALID"),
        (Residence(plz="00000"), "POSTCODE_UNKNOWN"),
        (Residence(berlin_bezirk="13"), "BERLIN_BEZIRK_UNKNOWN"),
    ],
)
def test_input_that_names_no_area_is_answered_as_unknown(resolver, residence, code):
    answer = resolver.resolve(residence, IN_2026)
    assert (answer.outcome, answer.code, answer.jobcenter, answer.candidates) == (Outcome.UNKNOWN_INPUT, code, None, ())


def test_the_type_ahead_lookup_lists_every_place_with_its_jobcenter(resolver):
    answer = resolver.lookup_postcode("22145", IN_2026)
    assert {(place["ort"], place["jobcenter"]["traeger_nummer"]) for place in answer["places"]} >= {
        ("Hamburg", "12302")
    }
    assert len({place["jobcenter"]["traeger_nummer"] for place in answer["places"]}) == 2


def test_a_house_number_the_street_does_not_have_is_said_and_the_bezirk_asked(resolver):
    """Found from outside: 10119 Fehrbelliner Straße 1 was asked for the house number it had given."""
    answer = resolver.resolve(Residence(plz="10119", strasse="Fehrbelliner Straße", hausnummer="1"), IN_2026)
    assert (answer.outcome, answer.code, answer.ask) == (
        Outcome.AMBIGUOUS, "BERLIN_HOUSE_NUMBER_NOT_FOUND", Ask.BERLIN_BEZIRK
    )  # fmt: skip
    assert "Bitte geben Sie die Hausnummer an" not in answer.message
    with_bezirk = resolver.resolve(
        Residence(plz="10119", strasse="Fehrbelliner Straße", hausnummer="1", berlin_bezirk="03"), IN_2026
    )
    assert with_bezirk.outcome == Outcome.ASSIGNED
