"""RFC 8785 conformance of canonical_bytes, against the RFC's vectors and an independent JCS."""

from __future__ import annotations

import enum
import json
import random
import struct
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from tai_graph.errors import LedgerError
from tai_graph.ledger.canonical import SIGNATURE_FIELDS, canonical_bytes, signed_bytes, signed_view

VECTORS = Path(__file__).parent.parent / "fixtures" / "rfc8785"


# -- an independent JCS for the JSON subset receipts use (objects, arrays, strings, ints, bools,
# -- null), written from RFC 8785 §3.2 without looking at any library.

_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def _utf16_units(text: str) -> list[int]:
    units: list[int] = []
    for char in text:
        cp = ord(char)
        if cp >= 0x10000:
            cp -= 0x10000
            units += [0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)]
        else:
            units.append(cp)
    return units


def _jcs_string(text: str) -> str:
    out = ['"']
    for char in text:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _jcs_text(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _jcs_string(value)
    if isinstance(value, list):
        return "[" + ",".join(_jcs_text(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=_utf16_units)
        return "{" + ",".join(f"{_jcs_string(k)}:{_jcs_text(value[k])}" for k in keys) + "}"
    raise TypeError(type(value))


def independent_jcs(value: Any) -> bytes:
    return _jcs_text(value).encode("utf-8")


def _vector(name: str) -> tuple[Any, bytes]:
    return json.loads((VECTORS / f"{name}.input.json").read_text("utf-8")), (
        VECTORS / f"{name}.output.json"
    ).read_bytes()


# -- RFC vectors ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sorting", "strings"])
def test_rfc_vectors_three_ways(name: str) -> None:
    value, expected = _vector(name)
    assert canonical_bytes(value) == expected
    assert independent_jcs(value) == expected
    assert rfc8785.dumps(value) == expected


def test_sorting_vector_follows_the_rfc_property_order() -> None:
    _, expected = _vector("sorting")
    order = [v for _, v in json.loads(expected).items()]
    assert order == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]


def test_primitives_vector_with_floats_is_the_librarys_and_refused_by_us() -> None:
    value, expected = _vector("primitives")
    assert rfc8785.dumps(value) == expected
    with pytest.raises(LedgerError, match=r"decimals as strings.*\$\.numbers\[0\]"):
        canonical_bytes(value)


def _number_rows() -> list[tuple[str, str]]:
    lines = (VECTORS / "numbers.csv").read_text("utf-8").splitlines()[1:]
    return [(line.split(",")[0], line.split(",")[1]) for line in lines if line]


@pytest.mark.parametrize(("bits", "expected"), _number_rows())
def test_rfc_appendix_b_numbers(bits: str, expected: str) -> None:
    number = struct.unpack(">d", bytes.fromhex(bits))[0]
    if expected == "error":
        with pytest.raises(rfc8785.CanonicalizationError):
            rfc8785.dumps(number)
    else:
        assert rfc8785.dumps(number) == expected.encode()


# -- the subset receipts use: fast path == rfc8785 == independent -----------------------------


def test_utf16_order_differs_from_code_point_order() -> None:
    value = {"\ue000": 1, "\U0001f600": 2, "a": 3}
    expected = '{"a":3,"\U0001f600":2,"\ue000":1}'.encode()
    assert canonical_bytes(value) == expected == independent_jcs(value) == rfc8785.dumps(value)


def test_every_ascii_character_escapes_per_rfc() -> None:
    value = {"all": "".join(chr(i) for i in range(128)), "sep": "\u2028\u2029\x7f"}
    assert canonical_bytes(value) == independent_jcs(value) == rfc8785.dumps(value)
    assert b"\\u001f" in canonical_bytes(value)
    assert b"\\b\\t\\n\\u000b\\f\\r" in canonical_bytes(value)


_ALPHABET = ["a", "Z", "0", " ", '"', "\\", "\n", "\x00", "\x1f", "\x7f", "é", "€", "\ue000", "\uffff"]
_ALPHABET += ["\U0001f600", "\U00010000", "\u05d0", "\u2028", "/"]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 6)))


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.25:
        return {_random_text(rng): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    if depth < 3 and roll < 0.35:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return rng.choice(
        [None, True, False, rng.randint(-(2**53) + 1, 2**53 - 1), rng.randint(-5, 5), _random_text(rng)]
    )


def test_random_documents_match_rfc8785_and_the_independent_jcs() -> None:
    rng = random.Random(8785)
    for _ in range(3000):
        value = {"data": _random_value(rng), _random_text(rng): _random_value(rng)}
        assert canonical_bytes(value) == rfc8785.dumps(value) == independent_jcs(value), value


def test_subclasses_and_tuples_take_the_library_path() -> None:
    class Colour(enum.StrEnum):
        RED = "red"

    class Level(enum.IntEnum):
        HIGH = 3

    value = OrderedDict([("b", (1, 2)), ("a", Colour.RED), ("c", Level.HIGH)])
    assert canonical_bytes(value) == b'{"a":"red","b":[1,2],"c":3}'


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"data": {"amount": 19.99}}, r"19\.99 is not an integer.*at \$\.data\.amount"),
        ({"data": [1, Decimal("1.5")]}, r"Decimal\('1\.5'\).*at \$\.data\[1\]"),
        ({"n": 2**53}, r"outside"),
        ({"n": -(2**53)}, r"outside"),
        ({1: "x"}, r"object key 1 is not a string"),
        ({"s": "\ud83d"}, r"lone surrogate"),
        ({"\udc00": "x"}, r"lone surrogate"),
        ({"s": {1, 2}}, r"set is not a JSON value"),
        ({"f": float("nan")}, r"not an integer"),
    ],
)
def test_refuses_what_receipts_must_not_carry(value: Any, message: str) -> None:
    with pytest.raises(LedgerError, match=message):
        canonical_bytes(value)


def test_refuses_deep_nesting_cleanly() -> None:
    value: Any = "x"
    for _ in range(100_000):
        value = [value]
    with pytest.raises(LedgerError, match="nested too deeply"):
        canonical_bytes(value)


def test_integer_limits_are_inclusive() -> None:
    assert canonical_bytes([2**53 - 1, -(2**53) + 1]) == b"[9007199254740991,-9007199254740991]"


# -- signed view ------------------------------------------------------------------------------


def test_signed_view_drops_only_the_two_signatures() -> None:
    body = {"event_id": "E1", "signature": "ab", "ed25519_signature": "cd", "sequence": 1}
    assert {"signature", "ed25519_signature"} == SIGNATURE_FIELDS
    assert signed_view(body) == {"event_id": "E1", "sequence": 1}
    assert body["signature"] == "ab"  # the input is not modified
    assert signed_bytes(body) == b'{"event_id":"E1","sequence":1}'
