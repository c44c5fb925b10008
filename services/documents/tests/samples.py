"""Files for the tests, made on the fly (no binaries in the repository)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter
from PIL.ExifTags import IFD
from pypdf import PdfWriter

from shared.servers import EICAR


def pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    return _written(writer)


def large_pdf(size: int) -> bytes:
    """A valid PDF of about ``size`` bytes: one page and an attached file of random bytes."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("anlage.bin", random.Random(size).randbytes(size))
    return _written(writer)


def pdf_with_javascript() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_js("app.alert('Hallo');")
    return _written(writer)


def encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="geheim", owner_password="geheim", algorithm="AES-128")
    return _written(writer)


def damaged_pdf() -> bytes:
    """A PDF header and the start of its objects, then noise: what an interrupted download leaves."""
    whole = pdf(3)
    return whole[:60] + bytes(random.Random(5).randrange(256) for _ in range(400))


def executable() -> bytes:
    """The first bytes of a Windows executable (MZ header and DOS stub)."""
    return (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"This program cannot be run in DOS mode." * 20
    )


def eicar() -> bytes:
    return EICAR


def document_photo(width: int = 1600, height: int = 1200, seed: int = 1) -> Image.Image:
    """Something like a photographed payslip: lines of dark marks on light paper."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), (235, 232, 225))
    draw = ImageDraw.Draw(image)
    for top in range(60, height - 60, 36):
        left = 80
        while left < width - 120:
            word = rng.randrange(30, 110)
            draw.rectangle((left, top, left + word, top + 14), fill=(30, 30, 40))
            left += word + rng.randrange(12, 30)
    return image


def jpeg(image: Image.Image | None = None, exif: Image.Exif | None = None, quality: int = 88) -> bytes:
    out = io.BytesIO()
    (image or document_photo()).save(out, "JPEG", quality=quality, exif=exif or Image.Exif())
    return out.getvalue()


def png(image: Image.Image | None = None) -> bytes:
    out = io.BytesIO()
    (image or document_photo()).save(out, "PNG")
    return out.getvalue()


def heic(image: Image.Image | None = None) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    (image or document_photo()).save(out, "HEIF", quality=80)
    return out.getvalue()


def gps_exif() -> Image.Exif:
    """EXIF saying where the photo was taken (Berlin Treptow-Köpenick) and with which phone."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    exif[IFD.GPSInfo] = {1: "N", 2: (52.0, 27.0, 3.5), 3: "E", 4: (13.0, 34.0, 29.9)}
    return exif


def blurred(image: Image.Image | None = None) -> Image.Image:
    return (image or document_photo()).filter(ImageFilter.GaussianBlur(6))


def dark(image: Image.Image | None = None) -> Image.Image:
    return (image or document_photo()).point(lambda value: value // 6)


def _written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
