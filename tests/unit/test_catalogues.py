"""Every message the pages can show has a Welsh translation, with the same placeholders.

The messages are extracted from the code and templates the way `scripts/messages` does, so a new
English string without a Welsh one fails here, not in front of a Welsh-speaking reader.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from api.pages import i18n

PAGES = Path(i18n.__file__).parent
WELSH = PAGES / "locale/cy/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted() -> set[str]:
    """Every msgid the pages' Python and templates use."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    return {message for _, _, message, _, _ in extract_from_dir(PAGES, method_map, keywords=keywords)}


def welsh() -> dict[str, str]:
    """The Welsh catalogue: msgid → msgstr ('' when untranslated or fuzzy)."""
    with WELSH.open("rb") as source:
        catalog = read_po(source)
    return {
        str(message.id): "" if message.fuzzy else str(message.string) for message in catalog if message.id
    }


def test_the_extraction_finds_the_pages_messages() -> None:
    found = extracted()
    assert "Verify a credential" in found  # a template string
    assert "This credential is genuine" in found  # a Python N_ string
    assert len(found) > 150


def test_every_message_has_a_welsh_translation() -> None:
    catalogue = welsh()
    missing = sorted(message for message in extracted() if not catalogue.get(message))
    assert missing == [], f"run scripts/messages and translate: {missing}"


def test_the_catalogue_holds_no_stale_messages() -> None:
    stale = sorted(set(welsh()) - extracted())
    assert stale == [], f"run scripts/messages to drop messages the pages no longer use: {stale}"


@pytest.mark.parametrize("message", sorted(extracted()))
def test_welsh_keeps_the_placeholders(message: str) -> None:
    translation = welsh().get(message, "")
    assert sorted(PLACEHOLDER.findall(translation)) == sorted(PLACEHOLDER.findall(message))


def test_the_welsh_catalogue_loads_and_translates() -> None:
    cymraeg = i18n.language("cy")
    assert cymraeg.gettext("Verify a credential") != "Verify a credential"
    assert cymraeg.date("2024-07-01") == "1 Gorffennaf 2024"
    assert i18n.language("en").date("2024-07-01") == "1 July 2024"
