"""C2SP signed notes: published known answers, round trips and refusals."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

import nacl.signing
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from verification.errors import (
    InvalidNoteSignature,
    MalformedNote,
    MalformedNoteKey,
    UnverifiedNote,
)
from verification.note import (
    Verifier,
    decode_base64,
    generate_signer_key,
    is_valid_key_name,
    key_id,
    open_note,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
)

EM_DASH = "\u2014"

# The example of c2sp.org/signed-note, "Verifier keys", byte for byte.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n"
    "\n"
    f"{EM_DASH} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYj"
    "OBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

# The example of golang.org/x/mod/sumdb/note (package documentation and note_test.go), the
# reference implementation of the format; EnochRoot's key has the all-zero seed.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
PETER_SIG = (
    f"{EM_DASH} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvq"
    "fqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    f"{EM_DASH} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGw"
    "nWLox33WWd1RvMc+QQ=\n"
)

NAME = "ledger.example/log"
SEED = bytes(range(32))


def verifier_for(name: str, seed: bytes) -> Verifier:
    return Verifier(name, bytes(nacl.signing.SigningKey(seed).verify_key))


# --- known answers ------------------------------------------------------------------------------


def test_spec_example_opens() -> None:
    verifier = parse_verifier_key(SPEC_VKEY)
    assert verifier.name == "example.com/foo"
    assert verifier.key_id.hex() == "530d903a"
    assert str(verifier) == SPEC_VKEY
    assert open_note(SPEC_NOTE, [verifier]) == (
        "This is an example message.\n",
        ["example.com/foo"],
    )


def test_go_reference_example_signs_byte_for_byte() -> None:
    name, seed = parse_signer_key(PETER_SKEY)
    assert name == "PeterNeumann"
    assert sign_note(GO_TEXT, name, seed) == GO_TEXT + "\n" + PETER_SIG
    assert str(verifier_for(name, seed)) == PETER_VKEY
    enoch_note = sign_note(GO_TEXT, "EnochRoot", bytes(32))
    assert enoch_note == GO_TEXT + "\n" + ENOCH_SIG
    assert str(verifier_for("EnochRoot", bytes(32))) == ENOCH_VKEY


def test_doubly_signed_go_example_opens_with_either_or_both_keys() -> None:
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    peter, enoch = parse_verifier_key(PETER_VKEY), parse_verifier_key(ENOCH_VKEY)
    assert open_note(note, [peter, enoch]) == (GO_TEXT, ["PeterNeumann", "EnochRoot"])
    assert open_note(note, [enoch]) == (GO_TEXT, ["EnochRoot"])
    assert open_note(note, [peter]) == (GO_TEXT, ["PeterNeumann"])


# --- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["one line\n", "a\n\nblank line inside\n", "ünïcode ✓\n", "\n"])
def test_sign_open_round_trip(text: str) -> None:
    note = sign_note(text, NAME, SEED)
    assert open_note(note, [verifier_for(NAME, SEED)]) == (text, [NAME])


def test_generated_keys_parse_and_work_together() -> None:
    signer_key, verifier_key = generate_signer_key(NAME)
    name, seed = parse_signer_key(signer_key)
    verifier = parse_verifier_key(verifier_key)
    assert name == verifier.name == NAME
    assert verifier.key_id == key_id(NAME, verifier.public_key)
    assert open_note(sign_note("hello\n", name, seed), [verifier]) == ("hello\n", [NAME])
    assert generate_signer_key(NAME) != (signer_key, verifier_key)


def test_verifier_keys_round_trip_even_when_base64_holds_plus() -> None:
    keys = [str(verifier_for(NAME, bytes([i]) * 32)) for i in range(20)]
    assert any("+" in key.split("+", 2)[2] for key in keys)
    for key in keys:
        assert str(parse_verifier_key(key)) == key


# --- refusals -----------------------------------------------------------------------------------


def test_tampered_text_is_refused() -> None:
    note = sign_note("size 10\n", NAME, SEED)
    with pytest.raises(InvalidNoteSignature):
        open_note(note.replace("10", "11"), [verifier_for(NAME, SEED)])


def test_tampered_signature_is_refused() -> None:
    line = sign_note("text\n", NAME, SEED).split("\n")[2]
    signature = bytearray(base64.b64decode(line.split(" ")[2]))
    signature[-1] ^= 1
    forged = f"text\n\n{EM_DASH} {NAME} {base64.b64encode(signature).decode()}\n"
    with pytest.raises(InvalidNoteSignature):
        open_note(forged, [verifier_for(NAME, SEED)])


def test_known_key_signature_of_wrong_length_is_refused() -> None:
    identifier = key_id(NAME, verifier_for(NAME, SEED).public_key)
    short = base64.b64encode(identifier + bytes(63)).decode()
    with pytest.raises(InvalidNoteSignature):
        open_note(f"text\n\n{EM_DASH} {NAME} {short}\n", [verifier_for(NAME, SEED)])


def test_unknown_key_is_refused() -> None:
    note = sign_note("text\n", NAME, SEED)
    with pytest.raises(UnverifiedNote):
        open_note(note, [verifier_for(NAME, bytes(32))])
    with pytest.raises(UnverifiedNote):
        open_note(note, [verifier_for("other.example/log", SEED)])
    with pytest.raises(UnverifiedNote):
        open_note(note, [])


def test_signature_with_wrong_key_id_is_ignored() -> None:
    line = sign_note("text\n", NAME, SEED).split("\n")[2]
    signature = bytearray(base64.b64decode(line.split(" ")[2]))
    signature[0] ^= 0xFF
    wrong_id = f"{EM_DASH} {NAME} {base64.b64encode(signature).decode()}\n"
    with pytest.raises(UnverifiedNote):
        open_note(f"text\n\n{wrong_id}", [verifier_for(NAME, SEED)])
    # Beside a good signature, the unknown one is ignored, as the spec requires.
    good = sign_note("text\n", NAME, SEED)
    assert open_note(good + wrong_id, [verifier_for(NAME, SEED)]) == ("text\n", [NAME])


def test_unknown_signatures_beside_a_known_one_are_ignored() -> None:
    note = sign_note("text\n", NAME, SEED)
    other_line = sign_note("text\n", "witness.example", bytes(32)).split("\n")[2]
    assert open_note(f"{note}{other_line}\n", [verifier_for(NAME, SEED)]) == ("text\n", [NAME])


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda note: note.removesuffix("\n"), id="no final newline"),
        pytest.param(lambda note: note.replace("\n\n", "\n"), id="no blank line"),
        pytest.param(lambda note: note + "\n", id="blank line after signatures"),
        pytest.param(lambda note: note.replace(EM_DASH, "-"), id="hyphen for em dash"),
        pytest.param(lambda note: note.replace(f"{EM_DASH} ", EM_DASH), id="no space after dash"),
        pytest.param(lambda note: note.replace(f"{NAME} ", f"{NAME}  "), id="two spaces"),
        pytest.param(lambda note: note.replace("=\n", "\n"), id="base64 without padding"),
        pytest.param(lambda note: note + f"{EM_DASH} {NAME} AAAAAAB=\n", id="non-canonical base64"),
        pytest.param(lambda note: note.replace("text", "te\rxt"), id="control character"),
        pytest.param(lambda note: note.replace("text", "te\tx"), id="tab"),
        pytest.param(lambda note: note.replace("text", "\ud800"), id="lone surrogate"),
        pytest.param(lambda note: note + f"{EM_DASH} {NAME} AAAA\n", id="signature too short"),
        pytest.param(lambda note: note + f"{EM_DASH} a+b AAAAAAA=\n", id="plus in key name"),
        pytest.param(lambda note: "text\n\n", id="no signature lines"),
        pytest.param(lambda note: note + "garbage\n", id="trailing non-signature line"),
    ],
)
def test_malformed_notes_are_refused(mangle: Callable[[str], str]) -> None:
    note = sign_note("text\n", NAME, SEED)
    with pytest.raises(MalformedNote):
        open_note(mangle(note), [verifier_for(NAME, SEED)])


def test_too_many_signatures_are_refused() -> None:
    note = sign_note("text\n", NAME, SEED)
    line = note.split("\n")[2] + "\n"
    assert open_note(note + line * 15, [verifier_for(NAME, SEED)])[1] == [NAME]
    with pytest.raises(MalformedNote):
        open_note(note + line * 100, [verifier_for(NAME, SEED)])


def test_sign_refuses_bad_input() -> None:
    with pytest.raises(MalformedNote):
        sign_note("no newline", NAME, SEED)
    with pytest.raises(MalformedNote):
        sign_note("bell\a\n", NAME, SEED)
    with pytest.raises(MalformedNoteKey):
        sign_note("text\n", "has space", SEED)
    with pytest.raises(MalformedNoteKey):
        sign_note("text\n", NAME, SEED[:31])


@pytest.mark.parametrize(
    "key",
    [
        "",
        "example.com/foo+530d903a",
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k+x",
        "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ],
)
def test_malformed_verifier_keys_are_refused(key: str) -> None:
    with pytest.raises(MalformedNoteKey):
        parse_verifier_key(key)


def test_malformed_signer_keys_are_refused() -> None:
    with pytest.raises(MalformedNoteKey):
        parse_signer_key(PETER_SKEY.removeprefix("PRIVATE+"))
    with pytest.raises(MalformedNoteKey):
        parse_signer_key(PETER_SKEY.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(MalformedNoteKey):
        parse_signer_key(PETER_VKEY)


def test_signing_again_with_a_remembered_key_gives_the_same_notes() -> None:
    # The key object for a seed is cached: alternating names and seeds, and a bytes subclass (not
    # cached), must sign exactly as the Go reference does every time.
    peter_name, peter_seed = parse_signer_key(PETER_SKEY)

    class Seed(bytes):
        pass

    for _ in range(2):
        assert sign_note(GO_TEXT, peter_name, peter_seed) == GO_TEXT + "\n" + PETER_SIG
        assert sign_note(GO_TEXT, "EnochRoot", bytes(32)) == GO_TEXT + "\n" + ENOCH_SIG
        assert sign_note(GO_TEXT, "EnochRoot", Seed(bytes(32))) == GO_TEXT + "\n" + ENOCH_SIG
    renamed = sign_note(GO_TEXT, "Other", bytes(32))
    assert open_note(renamed, [verifier_for("Other", bytes(32))]) == (GO_TEXT, ["Other"])


def test_remembered_verifications_answer_exactly_as_fresh_ones() -> None:
    # After a note verifies, any one-bit change of its text or signature must still be refused,
    # however often it is asked (the opened-checkpoint cache of log_checks sits above this).
    verifier = verifier_for(NAME, SEED)
    note = sign_note("remembered\n", NAME, SEED)
    text, signature_line = note[: note.index("\n\n") + 1], note.split("\n")[2]
    raw = base64.b64decode(signature_line.rpartition(" ")[2])
    message, signature = text.encode(), raw[4:]
    for _ in range(2):
        assert open_note(note, [verifier]) == (text, [NAME])
        assert verifier.verify(message, signature)
        for bit in range(0, 8 * len(message), 5):
            changed = bytearray(message)
            changed[bit // 8] ^= 1 << (bit % 8)
            assert not verifier.verify(bytes(changed), signature)
        for bit in range(0, 512, 7):
            changed = bytearray(signature)
            changed[bit // 8] ^= 1 << (bit % 8)
            assert not verifier.verify(message, bytes(changed))
        assert not verifier_for(NAME, bytes(32)).verify(message, signature)
        assert verifier.verify(bytearray(message), signature)  # bytes-like works too


def _reference_decode_base64(text: str) -> bytes:
    """decode_base64 as first written, without its fast path (which must answer the same)."""
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise ValueError(f"not standard base64: {text!r}") from error
    if base64.b64encode(data).decode("ascii") != text:
        raise ValueError(f"not canonical base64: {text!r}")
    return data


def _base64_outcome(decode: Callable[[str], bytes], text: str) -> bytes | str:
    try:
        return decode(text)
    except ValueError as error:
        return f"{type(error).__name__}: {error}"


_BASE64_LIKE = st.text(
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    | st.sampled_from("-_ \n\t.\x00é")
    | st.characters(),
    max_size=60,
)


@st.composite
def _altered_base64(draw: st.DrawFn) -> str:
    """The standard encoding of some bytes with a few characters replaced, inserted or removed."""
    text = base64.b64encode(draw(st.binary(min_size=1, max_size=48))).decode("ascii")
    at = draw(st.integers(0, len(text)))
    return (
        text[:at]
        + draw(_BASE64_LIKE.filter(lambda piece: len(piece) < 3))
        + text[at + draw(st.integers(0, 2)) :]
    )


@given(
    st.one_of(
        _BASE64_LIKE,
        st.binary(max_size=48).map(lambda data: base64.b64encode(data).decode("ascii")),
        _altered_base64(),
    )
)
def test_decode_base64_equals_the_strict_decode_and_re_encode(text: str) -> None:
    assert _base64_outcome(decode_base64, text) == _base64_outcome(_reference_decode_base64, text)


def test_remembered_verifier_keys_parse_and_refuse_as_fresh_ones() -> None:
    for _ in range(2):
        verifier = parse_verifier_key(SPEC_VKEY)
        assert verifier == Verifier("example.com/foo", verifier.public_key)
        assert verifier.key_id == key_id("example.com/foo", verifier.public_key) == bytes.fromhex("530d903a")
        assert str(verifier) == SPEC_VKEY
        with pytest.raises(MalformedNoteKey):
            parse_verifier_key(SPEC_VKEY.replace("530d903a", "530d903b"))


@given(
    st.text(st.characters(max_codepoint=0x7F))
    | st.text()
    | st.sampled_from(["", "+", " ", "\x7f", "a\u2003b"])
)
def test_key_names_are_judged_as_by_the_character_at_a_time_rule(name: str) -> None:
    expected = bool(name) and "+" not in name and not any(c.isspace() or c < " " for c in name)
    assert is_valid_key_name(name) == expected


def _reference_note_characters(text: str) -> str:
    """How a note's characters were first judged: control characters, then UTF-8."""
    if re.search(r"[\x00-\x09\x0b-\x1f]", text):
        return "note holds a control character other than newline"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "note is not valid UTF-8"
    return "ok"


def _note_characters(text: str) -> str:
    try:
        open_note(text + "\n\n" + sign_note("x\n", NAME, SEED).split("\n\n")[1], [verifier_for(NAME, SEED)])
    except MalformedNote as error:
        return str(error)
    except InvalidNoteSignature:
        return "ok"
    return "ok"


@settings(max_examples=300)
@given(st.text(st.sampled_from("a\n\t\r\x00\x1f\x7f é\u2028\ud800\U0001f600") | st.characters(), max_size=12))
@example("a\tb")
@example("\r")
@example("\x00")
@example("\x1f\ud800")
@example("\ud800")
@example("é\n\x7f\u2028")
def test_note_characters_are_judged_as_by_the_control_then_utf8_checks(text: str) -> None:
    assert _note_characters(text) == _reference_note_characters(text)
