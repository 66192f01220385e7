"""C2SP checkpoints: the spec example, round trips, signature-first opening, strict parsing."""

from __future__ import annotations

import base64

import nacl.signing
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from verification.checkpoint import (
    Checkpoint,
    format_checkpoint,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from verification.errors import (
    InvalidNoteSignature,
    MalformedCheckpoint,
    OriginMismatch,
    UnverifiedNote,
)
from verification.merkle import EMPTY_ROOT
from verification.note import Verifier, sign_note

# The example of c2sp.org/tlog-checkpoint, byte for byte.
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_NOTE = (
    SPEC_BODY + "\n\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOo"
    "RDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)

ORIGIN = "ledger.example/log"
SEED = bytes(range(32))
VERIFIER = Verifier(ORIGIN, bytes(nacl.signing.SigningKey(SEED).verify_key))
ROOT = bytes(range(32, 64))
ROOT_B64 = base64.b64encode(ROOT).decode()


def test_spec_example_parses_and_formats_back() -> None:
    checkpoint = parse_checkpoint(SPEC_BODY)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert format_checkpoint(checkpoint) == SPEC_BODY


def test_spec_example_is_refused_without_its_log_key() -> None:
    impostor = Verifier("example.com/behind-the-sofa", VERIFIER.public_key)
    with pytest.raises(UnverifiedNote):
        open_checkpoint(SPEC_NOTE, impostor)


@pytest.mark.parametrize("extensions", [(), ("one extension",), ("first", "second line")])
def test_format_parse_round_trip(extensions: tuple[str, ...]) -> None:
    checkpoint = Checkpoint(ORIGIN, 1234, ROOT, extensions)
    text = format_checkpoint(checkpoint)
    assert text == f"{ORIGIN}\n1234\n{ROOT_B64}\n" + "".join(f"{e}\n" for e in extensions)
    assert parse_checkpoint(text) == checkpoint


def test_empty_tree_checkpoint() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    assert parse_checkpoint(format_checkpoint(checkpoint)) == checkpoint


def test_sign_open_round_trip_checks_origin() -> None:
    checkpoint = Checkpoint(ORIGIN, 42, ROOT, ("ext",))
    note = sign_checkpoint(checkpoint, ORIGIN, SEED)
    assert note.startswith(format_checkpoint(checkpoint) + "\n\u2014 " + ORIGIN + " ")
    assert open_checkpoint(note, VERIFIER) == checkpoint
    assert open_checkpoint(note, VERIFIER, origin=ORIGIN) == checkpoint
    with pytest.raises(OriginMismatch) as mismatch:
        open_checkpoint(note, VERIFIER, origin="other.example/log")
    assert (mismatch.value.expected, mismatch.value.got) == ("other.example/log", ORIGIN)


def test_signature_is_checked_before_the_body_is_parsed() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, SEED)
    # A tampered body that would not even parse is refused for its signature.
    with pytest.raises(InvalidNoteSignature):
        open_checkpoint(note.replace("\n7\n", "\n07\n"), VERIFIER)
    with pytest.raises(UnverifiedNote):
        open_checkpoint(sign_note(f"{ORIGIN}\n07\n{ROOT_B64}\n", "stranger", SEED), VERIFIER)
    # Only a body the log really signed reaches the parser.
    signed_malformed = sign_note(f"{ORIGIN}\n07\n{ROOT_B64}\n", ORIGIN, SEED)
    with pytest.raises(MalformedCheckpoint):
        open_checkpoint(signed_malformed, VERIFIER)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"{ORIGIN}\n01\n{ROOT_B64}\n", id="leading zero"),
        pytest.param(f"{ORIGIN}\n00\n{ROOT_B64}\n", id="zero with leading zero"),
        pytest.param(f"{ORIGIN}\n-1\n{ROOT_B64}\n", id="negative size"),
        pytest.param(f"{ORIGIN}\n+1\n{ROOT_B64}\n", id="plus sign"),
        pytest.param(f"{ORIGIN}\n 1\n{ROOT_B64}\n", id="space before size"),
        pytest.param(f"{ORIGIN}\n1_000\n{ROOT_B64}\n", id="underscore in size"),
        pytest.param(f"{ORIGIN}\n\u0661\n{ROOT_B64}\n", id="non-ASCII digit"),
        pytest.param(f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n", id="size beyond uint64"),
        pytest.param(f"{ORIGIN}\n{'9' * 5000}\n{ROOT_B64}\n", id="huge size"),
        pytest.param(f"{ORIGIN}\n1\n{ROOT_B64[:-1]}\n", id="bad base64 padding"),
        pytest.param(f"{ORIGIN}\n1\n{ROOT_B64.replace('+', '-')}!\n", id="bad base64 alphabet"),
        pytest.param(f"{ORIGIN}\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n", id="non-canonical"),
        pytest.param(f"{ORIGIN}\n1\n{base64.b64encode(ROOT[:31]).decode()}\n", id="31-byte root"),
        pytest.param(f"{ORIGIN}\n1\n{base64.b64encode(ROOT + b'!').decode()}\n", id="33-byte root"),
        pytest.param(f"{ORIGIN}\n1\n", id="missing root line"),
        pytest.param(f"{ORIGIN}\n", id="missing size and root"),
        pytest.param("", id="empty"),
        pytest.param(f"{ORIGIN}\n1\n{ROOT_B64}", id="no final newline"),
        pytest.param(f"\n1\n{ROOT_B64}\n", id="empty origin"),
        pytest.param(f"{ORIGIN}\n1\n{ROOT_B64}\n\n", id="empty extension line"),
        pytest.param(f"{ORIGIN}\n1\n{ROOT_B64}\nbad\textension\n", id="control in extension"),
        pytest.param(f"{ORIGIN}\r\n1\n{ROOT_B64}\n", id="carriage return"),
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(MalformedCheckpoint):
        parse_checkpoint(text)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("two\nlines", 1, ROOT, ()),
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, 2**64, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        (ORIGIN, 1, ROOT, ("",)),
        (ORIGIN, 1, ROOT, ("a\nb",)),
    ],
)
def test_checkpoint_refuses_fields_it_cannot_format(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(MalformedCheckpoint):
        Checkpoint(origin, size, root, extensions)


def _line_refused(origin: str, extension: str) -> bool:
    try:
        Checkpoint(origin, 1, EMPTY_ROOT, (extension,))
    except MalformedCheckpoint:
        return True
    return False


@given(st.text(max_size=6), st.text(max_size=6))
@example("a\x1fb", "ok")
@example("ok", "\x00")
@example("ok", " ")
def test_lines_are_refused_exactly_when_empty_or_holding_a_character_below_space(
    origin: str, extension: str
) -> None:
    def bad(line: str) -> bool:
        return not line or any(character < " " for character in line)

    assert _line_refused(origin, extension) == (bad(origin) or bad(extension))
