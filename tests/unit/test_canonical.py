"""RFC 8785 canonical JSON and the strict I-JSON parser."""

import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.vectors import VECTORS
from verification.canonical import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    _canonical_fast,
    _canonical_pure,
    _check,
    _RefusalError,
    canonical_json,
    exact_json,
    parse_json,
)
from verification.errors import CanonicalizationError, MalformedJSON

JCS_VECTORS = VECTORS / "w3c-vc-di-eddsa" / "TestVectors" / "eddsa-jcs-2022"

# Characters where orderings and escapes disagree between encodings, mixed into generated keys.
TRICKY = st.sampled_from(
    list('aB\x00\n"\\\x7f\u0080\u00f6\u2028\ud7ff\ue000\ufb33\uffff\U00010000\U0001f600\U0010ffff: ')
)
KEYS = st.text(TRICKY, max_size=4) | st.text(max_size=6)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text(TRICKY, max_size=6)
    | st.text()
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=30,
)


def test_rfc8785_sorts_keys_by_utf16_code_units() -> None:
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = list(json.loads(canonical_json(value)))
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_rfc8785_browser_challenge_bytes() -> None:
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\n": "Newline",
        "1": "One",
        "\u0080": "Control\u007f",
        "\U0001f602": "Smiley",
        "\u00f6": "Latin Small Letter O With Diaeresis",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "</script>": "Browser Challenge",
    }
    expected = (
        '{"\\n":"Newline","\\r":"Carriage Return","1":"One","</script>":"Browser Challenge",'
        '"\u0080":"Control\u007f","\u00f6":"Latin Small Letter O With Diaeresis",'
        '"\u20ac":"Euro Sign","\U0001f602":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode()
    assert canonical_json(value) == expected
    assert _canonical_pure(value) == expected


def test_rfc8785_string_and_literals_example() -> None:
    value = {
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = '{"literals":[null,true,false],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    assert canonical_json(value) == expected.encode()


@pytest.mark.parametrize("code", range(0x20))
def test_control_characters_use_short_or_lowercase_escapes(code: int) -> None:
    short = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}
    expected = '"' + short.get(code, f"\\u{code:04x}") + '"'
    assert canonical_json(chr(code)) == expected.encode()
    assert _canonical_pure(chr(code)) == expected.encode()


@pytest.mark.parametrize("text", ["\x7f", "\u0080", "\u2028", "\u2029", "/", "<>&'", "\U0001f600"])
def test_other_characters_stay_literal(text: str) -> None:
    assert canonical_json(text) == b'"' + text.encode() + b'"'


def test_orjson_escapes_every_code_point_as_jcs_does() -> None:
    # The fast path is only sound because orjson's string escaping matches JCS everywhere.
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    pure = _canonical_pure(everything)
    assert _canonical_fast(everything) == pure
    assert pure == json.dumps(everything, ensure_ascii=False).encode()


def test_orjson_order_differs_from_jcs_above_private_use_so_it_is_not_used() -> None:
    value = {"\ue000": 1, "\U0001f600": 2}
    assert _check(value) is False
    assert _canonical_fast(value) != _canonical_pure(value)
    assert canonical_json(value) == '{"\U0001f600":2,"\ue000":1}'.encode()


def test_vector_document_and_proof_configuration() -> None:
    document = parse_json((JCS_VECTORS / "signedJCS.json").read_bytes())
    assert isinstance(document, dict)
    proof = document.pop("proof")
    del proof["proofValue"]
    assert canonical_json(document) == (JCS_VECTORS / "canonDocJCS.txt").read_bytes()
    assert canonical_json(proof) == (JCS_VECTORS / "proofCanonJCS.txt").read_bytes()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (MAX_SAFE_INTEGER, b"9007199254740991"),
        (-MAX_SAFE_INTEGER, b"-9007199254740991"),
        (0, b"0"),
        ([True, False, None], b"[true,false,null]"),
        ((1, "a"), b'[1,"a"]'),
        ({}, b"{}"),
        ([], b"[]"),
        ({"b": [], "a": {"d": 1, "c": 2}}, b'{"a":{"c":2,"d":1},"b":[]}'),
    ],
)
def test_scalars_and_containers(value: object, expected: bytes) -> None:
    assert canonical_json(value) == expected
    assert _canonical_pure(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.0, r"float 1\.0 .* at \$$"),
        ({"credentialSubject": {"result": [1, 2, 0.5]}}, r"at \$\.credentialSubject\.result\[2\]$"),
        ({"@context": [{"x y": float("nan")}]}, r'at \$\["@context"\]\[0\]\["x y"\]$'),
        (2**53, r"integer 9007199254740992 is outside"),
        ({"a": [-(2**53)]}, r"at \$\.a\[0\]$"),
        ({"a": {1: "one"}}, r"object key 1 of type int is not a string at \$\.a$"),
        ({"a": {b"k": "bytes"}}, r"not a string at \$\.a$"),
        ({"a": {1, 2}}, r"value of type set is not JSON at \$\.a$"),
        ({"a": b"bytes"}, r"value of type bytes is not JSON"),
        ({"a": ["ok", "\ud800"]}, r"lone surrogate at \$\.a\[1\]$"),
        ({"b": {"\udc00": 1}}, r"lone surrogate at \$\.b$"),
    ],
)
def test_refusals_name_the_json_path(value: object, message: str) -> None:
    with pytest.raises(CanonicalizationError, match=message):
        canonical_json(value)


def test_nesting_is_bounded() -> None:
    deep: list[object] = []
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    assert canonical_json(deep) == b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    with pytest.raises(CanonicalizationError, match="nesting deeper"):
        canonical_json([deep])
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(CanonicalizationError, match="nesting deeper"):
        canonical_json(cycle)


@given(JSON_VALUES)
def test_fast_path_equals_pure_path_whenever_chosen(value: object) -> None:
    if _check(value):
        assert _canonical_fast(value) == _canonical_pure(value)
    assert canonical_json(value) == _canonical_pure(value)


BELOW_PRIVATE_USE = st.text(st.characters(max_codepoint=0xD7FF), max_size=6)


@given(st.recursive(SCALARS, lambda c: st.lists(c) | st.dictionaries(BELOW_PRIVATE_USE, c)))
def test_fast_path_equals_pure_path_for_keys_below_private_use(value: object) -> None:
    assert _check(value)
    assert _canonical_fast(value) == _canonical_pure(value)


@given(JSON_VALUES)
def test_canonical_form_is_a_fixed_point_of_parsing(value: object) -> None:
    canonical = canonical_json(value)
    assert canonical_json(parse_json(canonical)) == canonical
    assert parse_json(canonical) == json.loads(canonical)


def test_parse_json_accepts_text_and_bytes() -> None:
    assert parse_json('{"a": [1, "b"]}') == {"a": [1, "b"]}
    assert parse_json(b' {"a" : {"b":null}} ') == {"a": {"b": None}}


def test_parse_json_keeps_floats_for_canonical_json_to_refuse() -> None:
    value = parse_json(b'{"mark": [1, 2.5]}')
    assert value == {"mark": [1, 2.5]}
    with pytest.raises(CanonicalizationError, match=r"at \$\.mark\[1\]"):
        canonical_json(value)


@pytest.mark.parametrize(
    "text",
    [
        b'{"a":1,"a":2}',
        b'{"a" : 1, "a" : 1}',
        b'[{"x":{"k":1,"j":2,"k":3}}]',
        b'{"s":"\\":","t":"\\":","s":1}',
        b'{"\\u0061":1,"a":2}',
    ],
)
def test_parse_json_refuses_duplicate_keys(text: bytes) -> None:
    with pytest.raises(MalformedJSON, match="duplicate object key"):
        parse_json(text)


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"[1,]",
        b"{'a': 1}",
        b"NaN",
        b"[Infinity]",
        b"1e400",
        b"{} {}",
        b"\xef\xbb\xbf{}",
        b'"\xff"',
        b'"\\ud800"',
        b'"\xed\xa0\x80"',
        b'"tab\there"',
        "\ud800",
    ],
)
def test_parse_json_refuses_invalid_json(text: bytes | str) -> None:
    with pytest.raises(MalformedJSON):
        parse_json(text)


@given(
    JSON_VALUES,
    st.sampled_from([None, 2]),
    st.sampled_from([(",", ":"), (", ", ": "), (",", " : "), (" ,", "\n:\t")]),
    st.booleans(),
)
def test_parse_json_reads_any_spelling_without_false_duplicates(
    value: object, indent: int | None, separators: tuple[str, str], ascii_only: bool
) -> None:
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=ascii_only)
    assert parse_json(text) == json.loads(text)


@given(st.lists(KEYS, min_size=1, unique=True), st.data())
def test_parse_json_finds_any_repeated_key(keys: list[str], data: st.DataObject) -> None:
    members = [*keys, data.draw(st.sampled_from(keys))]
    members = data.draw(st.permutations(members))
    spaces = st.sampled_from(["", " ", "\n\t"])
    body = ",".join(
        f"{json.dumps(key)}{data.draw(spaces)}:{data.draw(spaces)}{json.dumps(data.draw(KEYS))}"
        for key in members
    )
    outer = data.draw(st.sampled_from(["{}", "[1,{}]", '{"outer":{},"z":"\\":"}']))
    with pytest.raises(MalformedJSON, match="duplicate object key"):
        parse_json(outer.replace("{}", "{" + body + "}", 1))


def _reference_canonical(value: object) -> bytes:
    """canonical_json before its fast walk: _check always, then orjson or the pure path."""
    try:
        sort_safe = _check(value)
    except _RefusalError as refusal:
        raise refusal.error() from None
    if sort_safe:
        try:
            return _canonical_fast(value)
        except TypeError:
            pass
    return _canonical_pure(value)


def _outcome(serialise: Callable[[object], bytes], value: object) -> bytes | str:
    try:
        return serialise(value)
    except CanonicalizationError as error:
        return f"refused: {error}"


class _Key(str):
    pass


class _Object(dict):  # type: ignore[type-arg]
    pass


ODD_SCALARS = (
    SCALARS
    | st.integers()
    | st.floats()
    | st.sampled_from([True, False, None, 2**53, -(2**53), 2**53 - 1, "\ud800", "\udfff", 1.0, (), ("a",)])
)
ODD_VALUES = st.recursive(
    ODD_SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(KEYS, children, max_size=4)
        | st.dictionaries(KEYS.map(_Key), children, max_size=2)
        | st.dictionaries(st.integers(0, 3), children, min_size=1, max_size=2)
        | st.dictionaries(KEYS, children, max_size=2).map(_Object)
        | st.lists(children, max_size=3).map(tuple)
    ),
    max_leaves=20,
)


@given(JSON_VALUES | ODD_VALUES)
def test_canonical_json_equals_checking_every_value_first(value: object) -> None:
    # canonical_json skips _check for values of exact types and ASCII keys that orjson serialises;
    # for any value at all it must give the bytes, or refuse at the path, that _check-first gives.
    assert _outcome(canonical_json, value) == _outcome(_reference_canonical, value)


def test_canonical_json_equals_checking_every_value_first_when_deep_or_shared() -> None:
    shared: list[object] = []
    shared.extend([shared, shared])
    deep: list[object] = ["x"]
    for _ in range(MAX_DEPTH - 1):
        deep = [deep, 1]
    wide = {"a": [list(range(100))] * 200}
    for value in (shared, deep, [deep], {"k": deep}, wide):
        assert _outcome(canonical_json, value) == _outcome(_reference_canonical, value)


def test_exact_json_keys_only_values_of_exact_json_types() -> None:
    # Equal texts must mean equal values of the same types: anything a type could tell apart is None.
    class Text(str):
        pass

    value = {"b": [1, True, None, "x"], "a": {"c": -(2**53) + 1}}
    assert exact_json(value) == b'{"b":[1,true,null,"x"],"a":{"c":-9007199254740991}}'
    for other in ([1.0], [float("nan")], (1,), [Text("x")], {Text("a"): 1}, {1: 2}, [2**53], ["\ud800"]):
        assert exact_json(other) is None
