"""The public Jobcenter finder, ``GET /api/v1/responsible-jobcenter``, on the data the project ships."""

from urllib.parse import urlencode

import pytest

from shared.testing.http import get_json
from shared.testing.services import IN_PROCESS_RPC_TIMEOUTS
from shared.testing.tokens import FakeIdentity


def finder_url(gateway, query: str) -> str:
    return f"http://{gateway.config['WEB_SERVER_ADDRESS']}/api/v1/responsible-jobcenter?{query}"


@pytest.fixture
def find(start_services):
    gateway = start_services(
        FakeIdentity, "routing", "gateway", GATEWAY_FINDER_RATE_PER_MINUTE="1000", **IN_PROCESS_RPC_TIMEOUTS
    )["gateway"]

    def ask(**query):
        status, headers, body = get_json(finder_url(gateway, urlencode(query)))
        assert status == 200, body
        assert "max-age" in headers["Cache-Control"]
        return body

    return ask


def test_a_postcode_with_one_ge_names_it_and_why(find):
    answer = find(plz="01067")
    assert (answer["outcome"], answer["jobcenter"]["display_name"], answer["jobcenter"]["form"]) == (
        "assigned", "Jobcenter Dresden, Stadt", "gE"
    )  # fmt: skip
    assert answer["matched_key"] == "kreis:14612"
    assert "Dresden" in answer["reason"] and answer["jobcenter"]["traeger_nummer"]


def test_a_postcode_in_a_zkt_area_names_the_zkt_and_how_to_reach_it(find):
    answer = find(plz="61130")
    assert (answer["outcome"], answer["code"], answer["jobcenter"]["name"]) == (
        "not_served", "AREA_OF_ZKT", "Main-Kinzig-Kreis"
    )  # fmt: skip
    assert "Kreis- oder Stadtverwaltung" in answer["how_to_reach"]


def test_a_postcode_shared_by_jobcenters_asks_for_the_place_and_the_place_decides(find):
    asked = find(plz="07554")
    assert (asked["outcome"], asked["ask"]) == ("ambiguous", "ort")
    places = {c["jobcenter"]["name"]: [p["ort"] for p in c["places"]] for c in asked["candidates"]}
    assert places["Gera, Stadt"] == ["Gera"] and "Brahmenau" in places["Greiz"]
    assert find(plz="07554", ort="Gera")["jobcenter"]["name"] == "Gera, Stadt"
    assert find(plz="07554", ort="brahmenau")["outcome"] == "not_served"
    assert find(plz="07554", ort="Leipzig")["code"] == "ORT_NOT_IN_POSTCODE"


def test_a_berlin_postcode_spanning_bezirke_asks_for_the_street(find):
    answer = find(plz="10119")
    assert (answer["outcome"], answer["ask"], answer["code"]) == (
        "ambiguous", "strasse_hausnummer", "BERLIN_POSTCODE_SPANS_BEZIRKE"
    )  # fmt: skip
    assert {c["jobcenter"]["display_name"] for c in answer["candidates"]} == {
        "Jobcenter Berlin Mitte", "Jobcenter Berlin Pankow"
    }  # fmt: skip


def test_a_berlin_street_address_names_the_bezirk_s_jobcenter_and_why(find):
    answer = find(plz="12555", strasse="Alt-Köpenick", hausnummer="21")
    assert answer["jobcenter"]["display_name"] == "Jobcenter Berlin Treptow-Köpenick"
    assert answer["reason"] == "Ihre Anschrift liegt im Berliner Bezirk Treptow-Köpenick."


def test_a_street_crossing_a_bezirk_border_is_decided_by_the_house_number(find):
    asked = find(plz="10119", strasse="Fehrbelliner Straße")
    assert (asked["code"], asked["ask"]) == ("BERLIN_STREET_SPANS_BEZIRKE", "strasse_hausnummer")
    assert find(plz="10119", strasse="Fehrbelliner Straße", hausnummer="5")["jobcenter"]["name"] == "Pankow"
    assert find(plz="10119", strasse="Fehrbelliner Straße", hausnummer="47c")["jobcenter"]["name"] == "Mitte"


def test_hanau_is_its_own_ge_and_ludwigshafen_shares_one_jobcenter_with_its_kreise(find):
    hanau = find(plz="63450")
    assert (hanau["outcome"], hanau["jobcenter"]["name"], hanau["jobcenter"]["traeger_nummer"]) == (
        "assigned", "Hanau", "43106"
    )  # fmt: skip
    assert find(plz="63450", date="2025-06-01")["outcome"] == "not_served"  # the Main-Kinzig-Kreis until 2025
    ludwigshafen = find(plz="67059")
    assert (ludwigshafen["jobcenter"]["name"], ludwigshafen["jobcenter"]["traeger_nummer"]) == (
        "Vorderpfalz-Ludwigshafen", "52302"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"plz": "20095", "berlin_bezirk": "09"}, "BERLIN_BEZIRK_NOT_IN_POSTCODE"),
        ({"plz": "12555", "berlin_bezirk": "01"}, "BERLIN_BEZIRK_NOT_IN_POSTCODE"),
        ({"plz": "12555", "berlin_bezirk": "10", "strasse": "Alt-Köpenick", "hausnummer": "21"},
         "BERLIN_BEZIRK_NOT_AT_ADDRESS"),
        ({"plz": "01067", "ags": "06435014"}, "GEMEINDE_NOT_IN_POSTCODE"),
        ({"plz": "99999"}, "POSTCODE_UNKNOWN"),
    ],
)  # fmt: skip
def test_an_inconsistent_or_unknown_address_is_said_not_guessed(find, query, code):
    answer = find(**query)
    assert (answer["outcome"], answer["code"], answer["jobcenter"]) == ("unknown_input", code, None)
    assert answer["message"]


@pytest.mark.parametrize(
    ("query", "code"),
    [("", "POSTCODE_MISSING"), ("plz=1234", "POSTCODE_INVALID"), ("plz=12555&strasse=%00", "QUERY_INVALID"),
     ("plz=12555&ort=" + "x" * 101, "QUERY_INVALID"), ("plz=12555&date=morgen", "DATE_INVALID")],
)  # fmt: skip
def test_bad_questions_are_refused_with_a_stable_code(start_services, query, code):
    gateway = start_services(FakeIdentity, "routing", "gateway")["gateway"]
    status, _, body = get_json(finder_url(gateway, query))
    assert (status, body["error"]["code"]) == (400, code)


def test_the_finder_is_rate_limited_per_client(start_services):
    gateway = start_services("gateway", GATEWAY_FINDER_RATE_PER_MINUTE="2")["gateway"]
    answers = [get_json(finder_url(gateway, "plz=1"))[0] for _ in range(3)]
    assert answers == [400, 400, 429]
