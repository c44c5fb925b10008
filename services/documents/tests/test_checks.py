"""What a file is, judged by its bytes: no servers needed."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pypdf import PdfReader

from services.documents import checks
from services.documents.domainmodel import Refused
from services.documents.tests import samples

PIXELS = 50_000_000


def refusal(call, *args):
    with pytest.raises(Refused) as refused:
        call(*args)
    return refused.value.reason.value


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (samples.pdf(), "application/pdf"),
        (samples.jpeg(), "image/jpeg"),
        (samples.png(), "image/png"),
        (samples.heic(), "image/heic"),
        (samples.executable(), None),
        (samples.eicar(), None),
        (b"<html><script>alert(1)</script></html>", None),
        (b"<html><script>alert(1)</script>%PDF-1.7\n</html>", None),  # a polyglot: not a PDF for us
    ],
)
def test_the_type_is_decided_by_the_first_bytes(data, expected):
    assert checks.sniff(data[: checks.SNIFF_BYTES]) == expected


def test_a_plain_pdf_passes_with_its_page_count():
    assert checks.check_pdf(io.BytesIO(samples.pdf(3)), max_pages=100) == 3


def test_a_pdf_with_more_pages_than_allowed_is_refused():
    assert refusal(checks.check_pdf, io.BytesIO(samples.pdf(4)), 3) == "PDF_TOO_MANY_PAGES"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (samples.pdf_with_javascript(), "PDF_ACTIVE_CONTENT"),
        (samples.encrypted_pdf(), "PDF_ENCRYPTED"),
        (samples.damaged_pdf(), "PDF_DAMAGED"),
        (b"%PDF-1.7\n", "PDF_DAMAGED"),
    ],
)
def test_a_hostile_or_broken_pdf_is_refused(data, reason):
    assert refusal(checks.check_pdf, io.BytesIO(data), 100) == reason


def test_a_launch_action_on_a_link_counts_as_active_content():
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    launch = DictionaryObject({NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")})
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(launch)
    out = io.BytesIO()
    writer.write(out)
    assert refusal(checks.check_pdf, io.BytesIO(out.getvalue()), 100) == "PDF_ACTIVE_CONTENT"


def test_a_photo_loses_its_exif_location_and_camera():
    cleaned = checks.clean_image(io.BytesIO(samples.jpeg(exif=samples.gps_exif())), checks.JPEG, PIXELS)
    kept = Image.open(io.BytesIO(cleaned.data))
    assert (cleaned.content_type, kept.format) == ("image/jpeg", "JPEG")
    assert dict(kept.getexif()) == {} and kept.getexif().get_ifd(0x8825) == {}


def test_a_photo_taken_sideways_is_turned_upright_before_its_exif_goes():
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    cleaned = checks.clean_image(
        io.BytesIO(samples.jpeg(samples.document_photo(1600, 1200), exif)), checks.JPEG, PIXELS
    )
    assert (cleaned.width, cleaned.height) == (1200, 1600)


def test_a_heic_photo_becomes_a_jpeg_and_a_png_stays_a_png():
    assert checks.clean_image(io.BytesIO(samples.heic()), checks.HEIC, PIXELS).content_type == "image/jpeg"
    assert checks.clean_image(io.BytesIO(samples.png()), checks.PNG, PIXELS).content_type == "image/png"


def test_a_photo_with_too_many_pixels_is_refused_before_it_is_decoded():
    assert refusal(checks.clean_image, io.BytesIO(samples.jpeg()), checks.JPEG, 1000) == "IMAGE_TOO_LARGE"


def test_a_jpeg_cut_in_half_is_refused_as_damaged():
    data = samples.jpeg()
    assert refusal(checks.clean_image, io.BytesIO(data[:200]), checks.JPEG, PIXELS) == "IMAGE_DAMAGED"


@pytest.mark.parametrize(
    ("image", "hints"),
    [
        (samples.document_photo(), []),
        (samples.blurred(), ["PHOTO_BLURRED"]),
        (samples.dark(), ["PHOTO_TOO_DARK"]),
        (samples.document_photo(640, 480), ["PHOTO_TOO_SMALL"]),
    ],
)
def test_quality_hints_name_what_makes_a_photo_hard_to_read(image, hints):
    assert checks.quality_hints(image) == hints


def test_photos_become_one_pdf_page_each_in_order():
    photos = [samples.jpeg(samples.document_photo(w, h)) for w, h in [(1200, 1600), (1600, 1200), (1200, 1600)]]
    pages = PdfReader(io.BytesIO(checks.photos_to_pdf(photos))).pages
    assert ["P" if page.mediabox.height > page.mediabox.width else "L" for page in pages] == ["P", "L", "P"]
