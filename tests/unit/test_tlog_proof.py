"""C2SP tlog-proof text: the spec's example layout, round trips, strict refusals."""

from __future__ import annotations

import base64
import binascii
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verification.errors import MalformedTlogProof
from verification.tlog_proof import HEADER, TlogProof, format_tlog_proof, parse_tlog_proof

# The example of c2sp.org/tlog-proof, byte for byte. Its signatures are elided with "[...]", so
# only its structure can be checked: the checkpoint note is carried verbatim, not opened.
SPEC_CHECKPOINT = (
    "example.com/fancylog\n"
    "109482\n"
    "sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n"
    "\n"
    "\u2014 example.com/fancylog hI2DJw[...]1roloI=\n"
    "\u2014 witness1.example mJirIklj[...]qY9v2B/5bg==\n"
    "\u2014 witness2.example TnKKVHLX[...]xwYwrSjgow==\n"
    "\u2014 witness3.example S4X82uH5[...]3oEcROGLFQ==\n"
)
SPEC_HASHES = (
    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=",
    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=",
    "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=",
    "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=",
    "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=",
)
SPEC_PROOF = (
    "c2sp.org/tlog-proof@v1\n"
    "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n"
    "index 73894\n" + "".join(f"{line}\n" for line in SPEC_HASHES) + "\n" + SPEC_CHECKPOINT
)

NOTE = f"ledger.example/log\n3\n{'A' * 43}=\n\n\u2014 ledger.example/log AAAA\n"
HASH = bytes(range(32))
HASH_LINE = base64.b64encode(HASH).decode()


def test_spec_example_parses_and_formats_back() -> None:
    proof = parse_tlog_proof(SPEC_PROOF)
    assert proof.index == 73894
    assert proof.extra is not None
    assert proof.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert proof.hashes == tuple(base64.b64decode(line) for line in SPEC_HASHES)
    assert proof.checkpoint_note == SPEC_CHECKPOINT
    assert format_tlog_proof(proof) == SPEC_PROOF


def test_layout_without_extra() -> None:
    proof = TlogProof(0, (HASH,), NOTE)
    text = format_tlog_proof(proof)
    assert text == f"{HEADER}\nindex 0\n{HASH_LINE}\n\n{NOTE}"
    assert parse_tlog_proof(text) == proof


def test_a_single_leaf_tree_has_no_proof_lines() -> None:
    text = f"{HEADER}\nindex 0\n\n{NOTE}"
    assert parse_tlog_proof(text) == TlogProof(0, (), NOTE)
    assert format_tlog_proof(TlogProof(0, (), NOTE)) == text


@given(
    index=st.integers(0, 2**64 - 2),
    hashes=st.lists(st.binary(min_size=32, max_size=32), max_size=64),
    note=st.text(min_size=1),
    extra=st.none() | st.binary(),
)
def test_round_trip(index: int, hashes: list[bytes], note: str, extra: bytes | None) -> None:
    proof = TlogProof(index, tuple(hashes), note, extra)
    assert parse_tlog_proof(format_tlog_proof(proof)) == proof


@pytest.mark.parametrize(
    "text",
    [
        "",
        f"{HEADER}\nindex 0\n",  # no blank line, no checkpoint
        f"{HEADER}\nindex 0\n\n",  # empty checkpoint
        f"c2sp.org/tlog-proof@v2\nindex 0\n\n{NOTE}",
        f"{HEADER} \nindex 0\n\n{NOTE}",
        f"\n{HEADER}\nindex 0\n\n{NOTE}",
        f"{HEADER}\n\n{NOTE}",  # no index line
        f"{HEADER}\nindex 01\n\n{NOTE}",  # leading zero
        f"{HEADER}\nindex -1\n\n{NOTE}",
        f"{HEADER}\nindex  1\n\n{NOTE}",
        f"{HEADER}\nindex 1 \n\n{NOTE}",
        f"{HEADER}\nindex 18446744073709551615\n\n{NOTE}",  # 2**64 - 1 is not an index
        f"{HEADER}\nindex 123456789012345678901\n\n{NOTE}",
        f"{HEADER}\nIndex 1\n\n{NOTE}",
        f"{HEADER}\nindex 1\r\n\n{NOTE}",
        f"{HEADER}\nextra !!\nindex 1\n\n{NOTE}",
        f"{HEADER}\nextra AB==\nindex 1\n\n{NOTE}",  # not canonical base64
        f"{HEADER}\nindex 1\nextra AAAA\n\n{NOTE}",  # extra after the index
        f"{HEADER}\nextra AAAA\nextra AAAA\nindex 1\n\n{NOTE}",
        f"{HEADER}\nindex 1\n{HASH_LINE[:-1]}\n\n{NOTE}",
        f"{HEADER}\nindex 1\n{base64.b64encode(HASH[:31]).decode()}\n\n{NOTE}",
        f"{HEADER}\nindex 1\n{base64.b64encode(HASH + b'x').decode()}\n\n{NOTE}",
        f"{HEADER}\nindex 1\n {HASH_LINE}\n\n{NOTE}",
        f"{HEADER}\nindex 1\n" + f"{HASH_LINE}\n" * 65 + f"\n{NOTE}",
    ],
)
def test_malformed_proofs_are_refused(text: str) -> None:
    with pytest.raises(MalformedTlogProof):
        parse_tlog_proof(text)


def test_url_safe_base64_is_refused() -> None:
    urlsafe = base64.urlsafe_b64encode(bytes([0xFB] * 32)).decode()
    assert urlsafe != base64.b64encode(bytes([0xFB] * 32)).decode()
    with pytest.raises(MalformedTlogProof):
        parse_tlog_proof(f"{HEADER}\nindex 1\n{urlsafe}\n\n{NOTE}")


def test_the_checkpoint_is_everything_after_the_first_blank_line() -> None:
    proof = parse_tlog_proof(f"{HEADER}\nindex 2\n{HASH_LINE}\n\n{NOTE}\n\nmore")
    assert proof.checkpoint_note == f"{NOTE}\n\nmore"


@pytest.mark.parametrize(
    ("index", "hashes", "note"),
    [
        (-1, (), NOTE),
        (2**64 - 1, (), NOTE),
        (0, (b"short",), NOTE),
        (0, (HASH, bytearray(HASH)), NOTE),
        (0, [HASH, HASH + b"!"], NOTE),
        (0, (), ""),
        (0, (HASH,) * 65, NOTE),
    ],
)
def test_proof_values_are_checked(index: int, hashes: tuple[bytes, ...], note: str) -> None:
    with pytest.raises(MalformedTlogProof):
        TlogProof(index, hashes, note)


def test_proof_hashes_may_be_any_bytes_of_the_right_length() -> None:
    class Node(bytes):
        pass

    assert TlogProof(0, (HASH, Node(HASH)), NOTE).hashes == (HASH, HASH)
    assert TlogProof(0, [HASH], NOTE).hashes == [HASH]  # type: ignore[arg-type]


def test_non_text_is_refused() -> None:
    with pytest.raises(MalformedTlogProof):
        parse_tlog_proof(b"c2sp.org/tlog-proof@v1\nindex 0\n\nx")  # type: ignore[arg-type]


def _reference_hash(line: str) -> bytes:
    """A proof line read as parse_tlog_proof first read each one: strict decode, re-encode, length."""
    try:
        node = base64.b64decode(line, validate=True)
    except binascii.Error:
        raise MalformedTlogProof(f"proof line: not standard base64: {line!r}") from None
    except ValueError as error:  # a str holding a character outside ASCII
        raise MalformedTlogProof(f"proof line: {error}") from None
    if base64.b64encode(node).decode("ascii") != line:
        raise MalformedTlogProof(f"proof line: not canonical base64: {line!r}")
    if len(node) != 32:
        raise MalformedTlogProof(f"proof line {line!r} holds {len(node)} bytes, not 32")
    return node


def _reference_parse(lines: list[str]) -> TlogProof | str:
    try:
        return TlogProof(0, tuple(_reference_hash(line) for line in lines), NOTE)
    except MalformedTlogProof as error:
        return f"refused: {error}"


def _parsed(lines: list[str]) -> TlogProof | str:
    try:
        return parse_tlog_proof(f"{HEADER}\nindex 0\n" + "".join(f"{line}\n" for line in lines) + f"\n{NOTE}")
    except MalformedTlogProof as error:
        return f"refused: {error}"


@st.composite
def _proof_line(draw: st.DrawFn) -> str:
    """A proof line: mostly the canonical base64 of 32 bytes, sometimes altered or of other bytes."""
    line = base64.b64encode(draw(st.binary(min_size=30, max_size=34))).decode("ascii")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(line)))
        piece = draw(st.text(st.sampled_from("AEQw/+_-=8 \té") | st.characters(), max_size=2))
        line = line[:at] + piece + line[at + draw(st.integers(0, 2)) :]
    return line if "\n" not in line else line.replace("\n", "")


@st.composite
def _padding_bits_line(draw: st.DrawFn) -> str:
    """The base64 of 32 bytes whose last character may set the padding bits (not canonical)."""
    line = base64.b64encode(draw(st.binary(min_size=32, max_size=32))).decode("ascii")
    return line[:42] + draw(st.sampled_from(string.ascii_letters + string.digits + "+/")) + "="


@given(
    st.lists(
        st.one_of(
            _proof_line(),
            _padding_bits_line(),
            st.binary(min_size=32, max_size=32).map(lambda node: base64.b64encode(node).decode("ascii")),
        ),
        max_size=6,
    )
)
def test_proof_lines_read_at_once_equal_proof_lines_read_one_by_one(lines: list[str]) -> None:
    # Whole proofs of canonical lines take a fast path; both paths must give the same proof, or
    # refuse with the same message (its first bad line).
    assert _parsed(lines) == _reference_parse(lines)
