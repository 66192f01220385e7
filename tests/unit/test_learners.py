"""The ULN rule (DESIGN §2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidULN
from ledger.learners import check_uln


@pytest.mark.parametrize("uln", ["9276308686", "1000000000", "1000000019", "4817203918"])
def test_valid_ulns(uln: str) -> None:
    check_uln(uln)


@pytest.mark.parametrize(
    ("uln", "words"),
    [
        ("9276308687", "check digit"),
        ("0276308686", "cannot start with 0"),
        ("927630868", "exactly 10 digits"),
        ("92763086861", "exactly 10 digits"),
        ("92763O8686", "exactly 10 digits"),
        ("\uff19\uff12\uff17\uff16\uff13\uff10\uff18\uff16\uff18\uff16", "exactly 10 digits"),  # full-width
        ("", "exactly 10 digits"),
    ],
)
def test_invalid_ulns(uln: str, words: str) -> None:
    with pytest.raises(InvalidULN, match=words):
        check_uln(uln)


@given(st.from_regex(r"[1-9][0-9]{9}", fullmatch=True))
def test_exactly_the_numbers_with_remainder_ten_pass(uln: str) -> None:
    total = sum(int(digit) * weight for digit, weight in zip(uln, range(10, 0, -1), strict=True))
    if total % 11 == 10:
        check_uln(uln)
    else:
        with pytest.raises(InvalidULN):
            check_uln(uln)


@given(st.from_regex(r"[1-9][0-9]{9}", fullmatch=True), st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_change_of_a_valid_uln_is_caught(uln: str, position: int, delta: int) -> None:
    total = sum(int(digit) * weight for digit, weight in zip(uln, range(10, 0, -1), strict=True))
    if total % 11 != 10:
        return
    digits = list(uln)
    digits[position] = str((int(digits[position]) + delta) % 10)
    changed = "".join(digits)
    if changed[0] == "0":
        return
    with pytest.raises(InvalidULN):
        check_uln(changed)
