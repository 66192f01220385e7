"""Stream chains: check_hashed_chain, given each entry's hash, finds exactly what check_chain finds."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.bundle_world import organisation
from verification.entries import GENESIS, check_chain, check_hashed_chain, entry_hash

STREAM = organisation().entries


@st.composite
def _altered_stream(draw: st.DrawFn) -> list[dict[str, Any]]:
    """The organisation's stream with entries dropped, repeated, reordered or their fields changed."""
    entries = copy.deepcopy(draw(st.lists(st.sampled_from(STREAM), max_size=5)))
    for entry in entries:
        field = draw(st.sampled_from(["seq", "prev", "organisation", "kind", None]))
        if field is not None:
            entry[field] = draw(st.sampled_from([1, 2, 3, GENESIS, entry_hash(STREAM[0]), "other", None]))
    return entries


@given(_altered_stream())
def test_a_hashed_chain_breaks_where_the_chain_breaks(entries: list[dict[str, Any]]) -> None:
    hashes = [entry_hash(entry) for entry in entries]
    assert check_hashed_chain(entries, hashes, "organisation") == check_chain(entries, "organisation")


def test_the_untouched_stream_has_no_breaks() -> None:
    assert check_hashed_chain(STREAM, [entry_hash(entry) for entry in STREAM], "organisation") == []
    assert check_chain(iter(STREAM), "organisation") == []
