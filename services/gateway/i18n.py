"""The portal's languages: German (the source text of every template) and English, chosen by the ``lang`` cookie.

Templates mark text with ``{{ _("…") }}`` or ``{% trans %}…{% endtrans %}`` (Jinja2's i18n extension,
new-style gettext). The German text is the message id; ``translations/en.po`` (gettext's PO format)
holds the English. Catalogs are read from the PO files on first use, so nothing compiled is committed.

Text not written in a template (the forms' questions and options, the services' messages, Postfach texts,
names) exists in German first. On an English page it is shown in English where the catalog has it, else
in German marked ``lang="de"`` (WCAG 3.1.2, language of parts): ``in_page_language`` for text in the body,
``german_attribute`` for elements that cannot hold a ``<span>`` (``<option>``).
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages import pofile
from markupsafe import Markup, escape
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


def in_page_language(language: str) -> Callable[[Any], Markup]:
    """``text`` in ``language`` where the catalog has it (its entry is markup, as the templates' ``_()``: it
    may mark a German term in it); else ``text`` escaped (it may quote what someone typed), marked
    ``lang="de"`` on a page in another language."""
    catalog = translations(language)

    def shown(text: Any) -> Markup:
        german = "" if text is None else str(text)
        given = catalog.gettext(german) if german else german
        if given != german:
            return Markup(given)  # noqa: S704 - the catalog is a file of this repository, as for _()
        if language == DEFAULT_LANGUAGE or not german.strip():
            return escape(german)
        return Markup('<span lang="de">{}</span>').format(german)

    return shown


def german_attribute(language: str) -> Callable[[Any], Markup]:
    """`` lang="de"`` for an element whose ``text`` stays German on a page in another language, else nothing."""
    catalog = translations(language)

    def attribute(text: Any) -> Markup:
        german = "" if text is None else str(text)
        if language == DEFAULT_LANGUAGE or not german.strip() or catalog.gettext(german) != german:
            return Markup("")
        return Markup(' lang="de"')

    return attribute
