"""Several photos of one Nachweis become one PDF document: through the upload page and through the API."""

import re

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.documents.tests import samples
from services.gateway.tests.conftest import API, Browser
from services.submissions.tests.scenarios import ARBEITSAUFNAHME


def small_jpeg(seed: int) -> bytes:
    """A photographed page, small enough to keep the test quick."""
    return samples.jpeg(samples.document_photo(900, 1200, seed=seed))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@pytest.fixture
def draft(portal):
    """A logged-in citizen with a filled Arbeitsaufnahme draft whose Nachweise are still missing."""
    portal.gateway_state().limiter.hits.clear()  # every client here is 127.0.0.1: earlier uploads count
    browser = Browser(portal)
    browser.log_in(portal.account())
    case_id = browser.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"]
    for section_id, data in ARBEITSAUFNAHME.items():
        saved = browser.request("PUT", f"{API}/cases/{case_id}/sections/{section_id}", json=data)
        assert saved.status_code == 200, saved.text
    return browser, case_id


def documents_of(browser: Browser, case_id: str) -> list[dict]:
    answer = browser.request("GET", f"{API}/cases/{case_id}")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["documents"])


def upload_photos(browser: Browser, case_id: str, seeds: tuple[int, ...]) -> list[str]:
    """One photo per seed through the API as the contract's Nachweis; their document ids."""
    photo_ids = []
    for seed in seeds:
        uploaded = browser.request(
            "POST", f"{API}/cases/{case_id}/documents",
            params={"nachweis": "arbeitsvertrag", "filename": f"{seed}.jpg"},
            data=small_jpeg(seed), headers={"Content-Type": "application/octet-stream"},
        )  # fmt: skip
        assert uploaded.status_code == 201, uploaded.text
        photo_ids.append(uploaded.json()["document_id"])
    return photo_ids


def attached_events(browser: Browser, case_id: str) -> list[str]:
    events = browser.request("GET", f"{API}/cases/{case_id}/timeline").json()["events"]
    return [event["event"] for event in events if event["event"] in {"DocumentAttached", "DocumentDetached"}]


def test_two_photos_chosen_on_the_upload_page_become_one_pdf_attached_to_the_nachweis(draft):
    browser, case_id = draft
    page = browser.request("GET", f"/antraege/{case_id}/nachweise")
    assert 'type="file" multiple accept="image/*,application/pdf"' in page.text
    answer = browser.request(
        "POST", f"/antraege/{case_id}/nachweise", csrf=False,
        data={"csrf_token": csrf_of(page.text), "nachweis": "arbeitsvertrag"},
        files=[("datei", ("Seite-1.jpg", small_jpeg(1), "image/jpeg")),
               ("datei", ("Seite-2.jpg", small_jpeg(2), "image/jpeg"))],
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert "Arbeitsvertrag: <strong>hochgeladen</strong>" in answer.text
    documents = documents_of(browser, case_id)
    accepted = [d for d in documents if d["state"] == "accepted"]
    assert len(accepted) == 1
    assert accepted[0]["content_type"] == "application/pdf"
    assert accepted[0]["nachweis"] == "arbeitsvertrag"
    assert accepted[0]["page_count"] == 2
    assert len(documents) == 1  # the merged photos live on inside the PDF and are no longer listed
    assert attached_events(browser, case_id) == ["DocumentAttached"]  # the PDF alone, never the photos


def test_a_pdf_and_a_photo_chosen_together_stay_two_documents(draft):
    browser, case_id = draft
    page = browser.request("GET", f"/antraege/{case_id}/nachweise")
    answer = browser.request(
        "POST", f"/antraege/{case_id}/nachweise", csrf=False,
        data={"csrf_token": csrf_of(page.text), "nachweis": "arbeitsvertrag"},
        files=[("datei", ("Vertrag.pdf", samples.pdf(), "application/pdf")),
               ("datei", ("Unterschrift.jpg", small_jpeg(3), "image/jpeg"))],
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    documents = documents_of(browser, case_id)
    assert sorted(d["content_type"] for d in documents if d["state"] == "accepted") == ["application/pdf", "image/jpeg"]
    assert attached_events(browser, case_id) == ["DocumentAttached", "DocumentAttached"]


def test_a_rejected_file_among_several_is_named_on_the_page_and_nothing_is_attached(draft):
    browser, case_id = draft
    page = browser.request("GET", f"/antraege/{case_id}/nachweise")
    answer = browser.request(
        "POST", f"/antraege/{case_id}/nachweise", csrf=False,
        data={"csrf_token": csrf_of(page.text), "nachweis": "arbeitsvertrag"},
        files=[("datei", ("Seite-1.jpg", small_jpeg(4), "image/jpeg")),
               ("datei", ("Programm.jpg", samples.executable(), "image/jpeg"))],
    )  # fmt: skip
    assert answer.status_code == 400
    assert "„Programm.jpg“:" in answer.text
    assert attached_events(browser, case_id) == []


def test_photos_uploaded_through_the_api_are_merged_into_one_pdf_that_takes_their_place(draft):
    browser, case_id = draft
    photo_ids = upload_photos(browser, case_id, (5, 6, 7))
    merged = browser.request(
        "POST", f"{API}/cases/{case_id}/documents/merge", json={"nachweis": "arbeitsvertrag", "document_ids": photo_ids}
    )
    assert merged.status_code == 201, merged.text
    pdf = merged.json()
    assert pdf["content_type"] == "application/pdf" and pdf["page_count"] == 3
    assert [d["document_id"] for d in documents_of(browser, case_id)] == [pdf["document_id"]]
    assert attached_events(browser, case_id) == ["DocumentAttached"] * 3 + ["DocumentDetached"] * 3 + [
        "DocumentAttached"
    ]


def test_merging_a_single_photo_is_refused_with_a_stable_code(draft):
    browser, case_id = draft
    uploaded = browser.request(
        "POST", f"{API}/cases/{case_id}/documents", params={"nachweis": "arbeitsvertrag", "filename": "1.jpg"},
        data=small_jpeg(8), headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    answer = browser.request(
        "POST", f"{API}/cases/{case_id}/documents/merge",
        json={"nachweis": "arbeitsvertrag", "document_ids": [uploaded.json()["document_id"]]},
    )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "MERGE_INVALID"


def test_a_merge_that_finished_after_the_gateway_gave_up_is_completed_by_the_retry_and_done_once(draft, portal):
    """Found from outside: the gateway gave up waiting (error page) while documents finished the merge
    seconds later; the citizen's page said "hochgeladen", the caseworker's "fehlt", the timeline showed one
    upload. Trying again must end in the one state every view shows alike, without a second PDF."""
    browser, case_id = draft
    photo_ids = upload_photos(browser, case_id, (11, 12))
    # documents finished the merge; its answer never reached the gateway, which gave up and told the citizen
    session = next(cookie.value for cookie in browser.http.cookies if cookie.name.endswith("jc_session"))
    token = portal.gateway_state().tokens.get(session)
    with ClusterRpcProxy({"AMQP_URI": portal.env["AMQP_URI"]}, timeout=60) as cluster:
        finished = cluster.documents.merge_photos(token, case_id, "arbeitsvertrag", photo_ids)

    merge = {"nachweis": "arbeitsvertrag", "document_ids": photo_ids}
    for _ in range(2):  # the citizen tries again, and once more
        retried = browser.request("POST", f"{API}/cases/{case_id}/documents/merge", json=merge)
        assert retried.status_code == 201, retried.text
        assert retried.json()["document_id"] == finished["document_id"]
    assert [d["document_id"] for d in documents_of(browser, case_id)] == [finished["document_id"]]
    assert attached_events(browser, case_id) == ["DocumentAttached"] * 2 + ["DocumentDetached"] * 2 + [
        "DocumentAttached"
    ]
