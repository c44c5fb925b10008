"""The portal's languages: German (the source text of every template) and English, chosen by the ``lang`` cookie.

Templates mark text with ``{{ _("…") }}`` or ``{% trans %}…{% endtrans %}`` (Jinja2's i18n extension,
new-style gettext). The German text is the message id; ``translations/en.po`` (gettext's PO format)
holds the English. Catalogs are read from the PO files on first use, so nothing compiled is committed.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

from babel.messages import pofile
from werkzeug.wrappers import Request

LANGUAGES = {"de": "Deutsch", "en": "English"}
DEFAULT_LANGUAGE = "de"
COOKIE = "lang"
CATALOGS = Path(__file__).parent / "translations"


def language_of(request: Request) -> str:
    """The language the visitor chose (cookie ``lang``), else German."""
    chosen = request.cookies.get(COOKIE, DEFAULT_LANGUAGE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


class Catalog(gettext.NullTranslations):
    """A gettext catalog read from a PO file; untranslated messages stay German."""

    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__()
        self.messages = messages

    def gettext(self, message: str) -> str:
        return self.messages.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


def read_catalog(path: Path) -> dict[str, str]:
    """``msgid`` → ``msgstr`` of a PO file (Babel's reader); fuzzy and untranslated entries left out."""
    with path.open("rb") as po:
        catalog = pofile.read_po(po)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of ``language``; German is the source text and needs none."""
    path = CATALOGS / f"{language}.po"
    if language == DEFAULT_LANGUAGE or not path.exists():
        return gettext.NullTranslations()
    return Catalog(read_catalog(path))
