"""Routing on the citizen's pages, without JavaScript: the public page "Welches Jobcenter ist für mich
zuständig?" and the form's address step, which shows the Jobcenter and why before the citizen goes on and
keeps an address that does not belong to one Jobcenter of this portal from going further."""

import html

import pytest

from services.gateway.tests.conftest import Browser
from services.gateway.tests.test_pages import found, log_in_fresh, post_form


def text_of(page: str) -> str:
    return html.unescape(page)


def find(portal, **query):
    return Browser(portal).request("GET", "/zustaendiges-jobcenter", params=query)


def test_the_finder_page_is_linked_from_every_page_and_the_start_page_asks_for_the_postcode_first(portal):
    start = Browser(portal).request("GET", "/").text
    assert 'href="/zustaendiges-jobcenter"' in start
    assert 'action="/zustaendiges-jobcenter"' in start and "Nutzt Ihr Jobcenter dieses Portal?" in start
    empty = find(portal)
    assert empty.status_code == 200 and "<h1>Welches Jobcenter ist für mich zuständig?</h1>" in empty.text


def test_the_finder_page_names_the_jobcenter_and_why(portal):
    page = text_of(find(portal, plz="12555", strasse="Bahnhofstraße", hausnummer="1").text)
    assert "Für diese Anschrift ist zuständig: <strong>Jobcenter Berlin Treptow-Köpenick</strong>" in page
    assert "Ihre Anschrift liegt im Berliner Bezirk Treptow-Köpenick." in page
    assert "Dieses Jobcenter nutzt das Portal" in page and 'name="jobcenter_shown"' not in page


def test_the_finder_page_tells_a_zkt_resident_before_anything_is_filled_in(portal):
    page = text_of(find(portal, plz="61130").text)
    assert "das kommunale Jobcenter <strong>Jobcenter Main-Kinzig-Kreis</strong> zuständig" in page
    assert "Kreis- oder Stadtverwaltung" in page


def test_the_finder_page_asks_for_the_place_and_the_street_where_the_postcode_does_not_decide(portal):
    places = text_of(find(portal, plz="07554").text)
    assert "Wo wohnen Sie?" in places and 'name="ags"' in places and "Brahmenau" in places
    gera = found(r'id="ags-(\d{8})" name="ags" value="\d{8}"[^>]*>\s*<label for="ags-\d{8}">Gera ', places)
    chosen = text_of(find(portal, plz="07554", ags=gera).text)
    assert "Für diese Anschrift ist zuständig: <strong>Jobcenter Gera, Stadt</strong>" in chosen
    berlin = text_of(find(portal, plz="10119").text)
    assert "Jobcenter Berlin Mitte" in berlin and "Jobcenter Berlin Pankow" in berlin


@pytest.mark.parametrize("plz", ["1234", "abcde", "12345678901"])
def test_the_finder_page_explains_a_wrong_postcode(portal, plz):
    page = find(portal, plz=plz)
    assert page.status_code == 400
    assert "Die Postleitzahl hat 5 Ziffern." in page.text and 'href="#plz"' in page.text


def address_step(portal):
    citizen = log_in_fresh(portal)
    dashboard = citizen.request("GET", "/uebersicht").text
    step = post_form(citizen, "/antraege", dashboard, kind="veraenderungsmitteilung")
    step = post_form(citizen, step.url.split(portal.base)[1], step.text, aenderungen="arbeitsaufnahme")
    assert step.url.endswith("/abschnitt/wohnsitz")
    return citizen, step.url.split(portal.base)[1], step.text


def test_an_incomplete_berlin_address_does_not_go_further_and_says_what_is_missing(portal):
    citizen, path, page = address_step(portal)
    answer = post_form(citizen, path, page, plz="10119", ort="Berlin", strasse="Gibtsnichtweg", hausnummer="1")
    assert answer.status_code == 400 and answer.url.endswith("/abschnitt/wohnsitz")
    text = text_of(answer.text)
    assert 'href="#feld-berlin_bezirk"' in text or 'href="#feld-strasse"' in text
    assert "Jobcenter Berlin Mitte" in text and "Jobcenter Berlin Pankow" in text
    assert 'name="jobcenter_shown"' not in text


def test_a_zkt_address_in_the_form_is_told_and_does_not_go_further(portal):
    citizen, path, page = address_step(portal)
    answer = post_form(citizen, path, page, plz="61130", ort="Nidderau", strasse="Hauptstraße", hausnummer="1")
    assert answer.status_code == 400
    assert "Main-Kinzig-Kreis" in text_of(answer.text) and "nutzt dieses Portal nicht" in text_of(answer.text)


def test_a_postcode_of_several_places_is_decided_by_choosing_the_place_by_name(portal):
    citizen, path, page = address_step(portal)
    address = {"plz": "07554", "ort": "Gera", "strasse": "Hauptstraße", "hausnummer": "1"}
    asked = post_form(citizen, path, page, **{**address, "ort": "Irgendwo"})
    assert asked.status_code == 400 and "Wo wohnen Sie?" in text_of(asked.text)
    gera = found(r'value="(\d{8})"[^>]*>\s*<label for="ags-\d{8}">Gera ', asked.text)
    shown = post_form(citizen, path, asked.text, **address, ags=gera)
    assert "<strong>Jobcenter Gera, Stadt</strong>" in text_of(shown.text)
    jobcenter_shown = found(r'name="jobcenter_shown" value="([^"]+)"', shown.text)
    went_on = post_form(citizen, path, shown.text, **address, ags=gera, jobcenter_shown=jobcenter_shown)
    assert went_on.url.endswith("/abschnitt/arbeitsaufnahme"), went_on.text


def test_a_changed_address_shows_the_new_jobcenter_before_going_on(portal):
    citizen, path, page = address_step(portal)
    berlin = {"plz": "12555", "ort": "Berlin", "strasse": "Bahnhofstraße", "hausnummer": "1"}
    shown = post_form(citizen, path, page, **berlin)
    jobcenter_shown = found(r'name="jobcenter_shown" value="([^"]+)"', shown.text)
    dresden = {"plz": "01067", "ort": "Dresden", "strasse": "Ostra-Allee", "hausnummer": "1"}
    again = post_form(citizen, path, shown.text, **dresden, jobcenter_shown=jobcenter_shown)
    assert again.url.endswith("/abschnitt/wohnsitz")
    assert "<strong>Jobcenter Dresden, Stadt</strong>" in text_of(again.text)
