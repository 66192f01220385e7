"""The NFC refusal of posted credentials: its fast check over the canonical text refuses exactly
what a walk over every key and string refuses."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.credentials import _refuse_unnormalised
from ledger.errors import MalformedCredential
from verification.canonical import canonical_json

# Letters that combining marks compose with (including the `n`, `t`, `u` of JCS escapes), control
# characters that JCS escapes, combining marks in and out of canonical order, a singleton that NFC
# always replaces (the Angstrom sign), Hangul jamo, quotes and backslashes.
ALPHABET = 'ent u\n\t\b\x01\x1f"\\\u0301\u0308\u0327\u0323\u212b\u1100\u1161\u00e9:,'
TEXT = st.text(alphabet=ALPHABET, max_size=6)
VALUES = st.recursive(
    TEXT | st.integers(-5, 5) | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def every_string_is_nfc(value: object) -> bool:
    """The reference: each key and string checked on its own."""
    if isinstance(value, str):
        return unicodedata.is_normalized("NFC", value)
    if isinstance(value, dict):
        return all(every_string_is_nfc(key) and every_string_is_nfc(item) for key, item in value.items())
    if isinstance(value, list):
        return all(every_string_is_nfc(item) for item in value)
    return True


def refused(value: object) -> bool:
    try:
        _refuse_unnormalised(value, canonical_json(value))
    except MalformedCredential:
        return True
    return False


@given(VALUES)
def test_the_fast_check_refuses_exactly_what_the_walk_refuses(value: object) -> None:
    assert refused(value) == (not every_string_is_nfc(value))


@pytest.mark.parametrize(
    ("value", "nfc"),
    [
        ({"a": "caf\u00e9"}, True),
        ({"a": "cafe\u0301"}, False),
        ({"\n\u0301": "x"}, True),  # its canonical text `"\n\u0301"` composes n + acute; the walk decides
        ({"a": ["\t\u0308"]}, True),
        ({"a": "\u212b"}, False),
        ({"a": "x\u0301\u0327"}, False),
    ],
)
def test_examples(value: object, nfc: bool) -> None:
    assert every_string_is_nfc(value) == nfc
    assert refused(value) == (not nfc)
