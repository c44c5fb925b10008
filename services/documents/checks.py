"""What a file is, judged by its bytes: type sniffing, PDF checks, photo re-encoding, quality hints.

Every function here takes file-like objects or bytes and raises :class:`Refused` with a reason; none
does I/O of its own, so they are tested without servers.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

import pillow_heif
from fpdf import FPDF
from PIL import Image, ImageFilter, ImageOps, ImageStat, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from services.documents.domainmodel import Refused, Rejection

pillow_heif.register_heif_opener()

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
HEIC = "image/heic"
IMAGE_TYPES = (JPEG, PNG, HEIC)
SNIFF_BYTES = 1024
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
# Dictionary keys and action types that make a PDF run something when opened or clicked.
_ACTIVE_KEYS = {"/JS", "/JavaScript", "/XFA", "/RichMedia"}
_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/RichMediaExecute"}
# A PDF whose object graph is larger than this is refused rather than walked for minutes.
MAX_PDF_OBJECTS = 500_000

# Quality hints: thresholds on a grayscale copy at most HINT_SIDE pixels wide or high.
HINT_SIDE = 1024
MIN_SHORT_SIDE = 800
MIN_MEAN_BRIGHTNESS = 60.0
MIN_SHARPNESS = 200.0
JPEG_QUALITY = 90


@dataclass(frozen=True)
class Hint:
    code: str
    message: str


HINTS = {
    "PHOTO_BLURRED": Hint("PHOTO_BLURRED", "Das Foto ist unscharf. Bitte fotografieren Sie das Dokument noch einmal."),
    "PHOTO_TOO_DARK": Hint("PHOTO_TOO_DARK", "Das Foto ist zu dunkel. Bitte fotografieren Sie bei mehr Licht."),
    "PHOTO_TOO_SMALL": Hint("PHOTO_TOO_SMALL", "Das Foto ist sehr klein. Bitte fotografieren Sie das Dokument näher."),
}


@dataclass(frozen=True)
class CleanImage:
    """A photo re-encoded without metadata, and what a person should know about it."""

    data: bytes
    content_type: str
    width: int
    height: int
    hints: list[str] = field(default_factory=list)


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file show, or None when it is none we take."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return HEIC
    # Readers accept the header anywhere in the first 1024 bytes, which lets an HTML page or another
    # format pass as PDF (a polyglot); what scanners and office programs write starts with it.
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def check_pdf(file: IO[bytes], max_pages: int) -> int:
    """Refuse a PDF that is encrypted, damaged, active or too long; returns its page count."""
    try:
        reader = PdfReader(file, strict=False)
        if reader.is_encrypted:
            raise Refused(Rejection.PDF_ENCRYPTED)
        pages = len(reader.pages)
        if pages == 0:
            raise Refused(Rejection.PDF_DAMAGED)
        if pages > max_pages:
            raise Refused(Rejection.PDF_TOO_MANY_PAGES)
        if _has_active_content(reader.trailer):
            raise Refused(Rejection.PDF_ACTIVE_CONTENT)
        for page in reader.pages:
            page.get_contents()
            _ = page.mediabox
    except Refused:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, RecursionError):
        raise Refused(Rejection.PDF_DAMAGED) from None
    return pages


def _has_active_content(root: Any) -> bool:
    """Walk every object reachable from the trailer (streams' data is not decoded)."""
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            reference = (item.idnum, item.generation)
            if reference in seen:
                continue
            seen.add(reference)
            if len(seen) > MAX_PDF_OBJECTS:
                raise Refused(Rejection.PDF_DAMAGED)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            if any(key in _ACTIVE_KEYS for key in item):
                return True
            action = item.get("/S")
            if isinstance(action, NameObject) and action in _ACTIVE_ACTIONS:
                return True
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return False


def clean_image(file: IO[bytes], content_type: str, max_pixels: int) -> CleanImage:
    """Decode a photo, turn it upright, and encode it again without EXIF, XMP or comments.

    JPEG and HEIC become JPEG; PNG stays PNG. Raises Refused when it cannot be decoded or has more
    than ``max_pixels`` pixels (checked before decoding, against decompression bombs).
    """
    try:
        with Image.open(file, formats=["JPEG", "PNG", "HEIF"]) as opened:
            if opened.width * opened.height > max_pixels:
                raise Refused(Rejection.IMAGE_TOO_LARGE)
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except Refused:
        raise
    except Image.DecompressionBombError:
        raise Refused(Rejection.IMAGE_TOO_LARGE) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise Refused(Rejection.IMAGE_DAMAGED) from None
    icc_profile = image.info.get("icc_profile")
    image.info = {}
    out = io.BytesIO()
    if content_type == PNG:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(out, "PNG", icc_profile=icc_profile)
        target = PNG
    else:
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=JPEG_QUALITY, icc_profile=icc_profile)
        target = JPEG
    return CleanImage(out.getvalue(), target, image.width, image.height, quality_hints(image))


def quality_hints(image: Image.Image) -> list[str]:
    """Codes of what makes a photo hard to read: small, dark, blurred. Never blocks an upload."""
    hints = []
    if min(image.size) < MIN_SHORT_SIDE:
        hints.append("PHOTO_TOO_SMALL")
    gray = ImageOps.grayscale(image.convert("RGB") if image.mode not in ("L", "RGB") else image)
    gray.thumbnail((HINT_SIDE, HINT_SIDE))
    if ImageStat.Stat(gray).mean[0] < MIN_MEAN_BRIGHTNESS:
        hints.append("PHOTO_TOO_DARK")
    # Stretched first, so that a dark but sharp photo is not also taken for a blurred one.
    if sharpness(ImageOps.autocontrast(gray, cutoff=1)) < MIN_SHARPNESS:
        hints.append("PHOTO_BLURRED")
    return hints


def sharpness(gray: Image.Image) -> float:
    """Variance of the Laplacian: edges make it large, blur makes it small."""
    laplacian = gray.filter(ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), scale=1, offset=128))
    return float(ImageStat.Stat(laplacian).var[0])


def hint_details(codes: Iterable[str]) -> list[dict[str, str]]:
    return [{"code": HINTS[code].code, "message": HINTS[code].message} for code in codes if code in HINTS]


def photos_to_pdf(photos: list[bytes]) -> bytes:
    """One PDF with one A4 page per photo, in the order given; JPEG data is embedded as it is."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creator("Jobcenter-Portal")
    margin = 10.0
    for data in photos:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
        orientation = "L" if width > height else "P"
        pdf.add_page(orientation=orientation)
        room_w, room_h = pdf.w - 2 * margin, pdf.h - 2 * margin
        scale = min(room_w / width, room_h / height)
        w, h = width * scale, height * scale
        pdf.image(io.BytesIO(data), x=(pdf.w - w) / 2, y=(pdf.h - h) / 2, w=w, h=h)
    return bytes(pdf.output())
