"""English and Welsh: message catalogues (gettext, kept as Babel `.po` files), the visitor's language,
and dates and numbers formatted per language.

English is the source language (the `msgid`s); Welsh comes from `locale/cy/LC_MESSAGES/messages.po`,
read once at start. `N_` marks a message in Python code for extraction without translating it yet.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from starlette.requests import Request

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"en": "English", "cy": "Cymraeg"}
"""Each language the pages speak, named in itself (as a language switch shows it)."""
DEFAULT = "en"
COOKIE = "lang"
_BABEL_LOCALE = {"en": "en_GB", "cy": "cy_GB"}


def N_(message: str) -> str:  # noqa: N802 (the gettext convention Babel extracts)
    """Mark `message` for the catalogue; translate it later, where the language is known."""
    return message


@dataclass(frozen=True)
class Language:
    """One visitor's language: its code, its translations and its formats."""

    code: str
    translations: gettext.NullTranslations

    def gettext(self, message: str) -> str:
        """The message in this language (the English itself when there is no translation)."""
        return self.translations.gettext(message)

    def date(self, value: date | datetime | str | None) -> str:
        """A date written out in this language (1 July 2024, 1 Gorffennaf 2024); '' for None."""
        moment = _parse(value)
        return "" if moment is None else format_date(moment, format="long", locale=_BABEL_LOCALE[self.code])

    def datetime(self, value: datetime | str | None) -> str:
        """A date and time (UTC) in this language; '' for None."""
        moment = _parse(value)
        if not isinstance(moment, datetime):
            return self.date(moment)
        written = format_datetime(
            moment, format="d MMMM y, HH:mm", tzinfo=UTC, locale=_BABEL_LOCALE[self.code]
        )
        return f"{written} UTC"

    def number(self, value: int) -> str:
        """A whole number with this language's grouping (12,345)."""
        return format_decimal(value, locale=_BABEL_LOCALE[self.code])


@cache
def language(code: str) -> Language:
    """The Language for `code` (one of LANGUAGES), its catalogue read once."""
    if code == DEFAULT:
        return Language(code, gettext.NullTranslations())
    with (LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=_BABEL_LOCALE[code])
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Language(code, gettext.GNUTranslations(compiled))


def chosen(request: Request) -> Language:
    """The visitor's language: `?lang=`, then the `lang` cookie, then Accept-Language, then English."""
    for code in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if code in LANGUAGES:
            return language(code)
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return language(code)
    return language(DEFAULT)


def _parse(value: date | datetime | str | None) -> date | datetime | None:
    """A date or datetime from an RFC 3339 text (or a date), None when it is not one."""
    if value is None or isinstance(value, date):
        return value
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
