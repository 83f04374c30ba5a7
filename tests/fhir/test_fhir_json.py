"""leukoflag.fhir.dumps / loads: exact decimals both ways, never through float."""

from __future__ import annotations

from decimal import Decimal

import pytest

import leukoflag
from leukoflag import fhir
from leukoflag.fhir._json import loads_noting_repeats


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("8.20E+3"), b"8200"),
        (Decimal("8.20"), b"8.20"),
        (Decimal("0.0000001"), b"0.0000001"),
        (Decimal("1E-7"), b"0.0000001"),
        (Decimal("-0.5"), b"-0.5"),
        (Decimal("123456789012345678901234567890.123"), b"123456789012345678901234567890.123"),
        (Decimal("4.1") * 3, b"12.3"),
        (Decimal("1E+39"), b"1" + b"0" * 39),  # plain up to 40 digits before the point
        (Decimal("1E+40"), b"1E+40"),
        (Decimal("2.5E-41"), b"2.5E-41"),  # and 40 after it
        (Decimal("1E-40"), b"0." + b"0" * 39 + b"1"),
        (Decimal("1E+999999999"), b"1E+999999999"),  # nine bytes of JSON, not a billion digits
    ],
)
def test_decimals_are_written_exactly_in_plain_notation(value: Decimal, text: bytes) -> None:
    assert fhir.dumps({"value": value}) == b'{"value":' + text + b"}"


def test_float_style_errors_never_appear() -> None:
    total = Decimal("8.2") * 1000
    assert fhir.dumps([total, Decimal("0.1") + Decimal("0.2")]) == b"[8200.0,0.3]"


def test_equal_decimals_keep_their_own_digits_every_time() -> None:
    # 4.0 == 4.00 (and they hash alike): each is written with its own digits, in any order
    one, two, three = Decimal("4.0"), Decimal("4.00"), Decimal("4.0E+3")
    for _ in range(3):
        assert fhir.dumps([one, two, three, one]) == b"[4.0,4.00,4000,4.0]"
        assert fhir.dumps([three, two, one]) == b"[4000,4.00,4.0]"


def test_decimals_freed_and_made_again_are_written_with_their_own_digits() -> None:
    # The writer keeps the text of Decimals it has written by identity: a new Decimal made
    # where a freed one lived (same id) must not be written with the old one's text, and the
    # texts stay right past the cache's limit.
    for round_ in range(3):
        values = [Decimal(f"{number}.{round_}") for number in range(5000)]
        expected = b"[" + b",".join(b"%d.%d" % (number, round_) for number in range(5000)) + b"]"
        assert fhir.dumps(values) == expected
        assert fhir.dumps(values[::-1])[:12] == b"[4999.%d,4998" % round_
        del values


def test_non_finite_decimal_is_refused() -> None:
    with pytest.raises(TypeError):
        fhir.dumps({"value": Decimal("NaN")})
    with pytest.raises(TypeError):
        fhir.dumps({"value": Decimal("Infinity")})


def test_ndjson_line_and_pretty_output() -> None:
    resource = {"resourceType": "Observation", "note": [{"text": "line one\nline two"}]}
    line = fhir.dumps(resource, newline=True)
    assert line.endswith(b"}\n")
    assert line.count(b"\n") == 1
    assert fhir.dumps(resource, pretty=True).startswith(b'{\n  "resourceType"')


def test_numbers_with_fraction_or_exponent_are_read_as_decimal() -> None:
    parsed = fhir.loads(b'{"a": 4.50, "b": 1e3, "c": 4300, "d": -0.0, "e": 2.5E-2}')
    assert parsed == {
        "a": Decimal("4.50"),
        "b": Decimal("1E+3"),
        "c": 4300,
        "d": Decimal("-0.0"),
        "e": Decimal("0.025"),
    }
    assert str(parsed["a"]) == "4.50"
    assert type(parsed["c"]) is int


def test_a_number_read_with_an_exponent_is_written_back_with_it() -> None:
    # 2.10e3 has three significant figures; 2100 would claim four (FHIR keeps a decimal's
    # precision). A value computed from it is leukoflag's own, written plain.
    parsed = fhir.loads(b'{"a":2.10e3,"b":4.5E+3,"c":1.20e-2,"d":1e999999999,"e":8.20}')
    assert fhir.dumps(parsed) == b'{"a":2.10E+3,"b":4.5E+3,"c":0.0120,"d":1E+999999999,"e":8.20}'
    assert fhir.dumps([parsed["a"] * 1, parsed["b"].scaleb(0)]) == b"[2100,4500]"


def test_round_trip_keeps_every_digit() -> None:
    text = b'{"valueQuantity":{"value":0.30,"unit":"10*3/uL"},"n":[1,2.000,1234567890.0987654321]}'
    assert fhir.dumps(fhir.loads(text)) == text


@pytest.mark.parametrize(
    "text", [b"NaN", b'{"v": Infinity}', b'{"v": -Infinity}', b"{", b"\xff\xfe{"]
)
def test_what_is_not_json_is_refused_with_value_error(text: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - json and unicode errors are both ValueError
        fhir.loads(text)


def test_json_that_cannot_be_written_back_is_refused_when_read() -> None:
    with pytest.raises(ValueError, match="nested 255 levels deep or more"):
        fhir.loads(b"[" * 255 + b"]" * 255)  # orjson, which writes leukoflag's output, refuses
    with pytest.raises(ValueError, match="nested 255 levels deep or more"):
        fhir.loads("[" * 100_000 + "]" * 100_000)  # the stdlib parser's RecursionError
    with pytest.raises(ValueError, match=r"'\\udc00 \(key\)' holds a lone UTF-16 surrogate"):
        fhir.loads(b'{"text": "fine", "\\udc00 (key)": 1}')
    nested = b"[" * 254 + b"]" * 254
    assert fhir.dumps(fhir.loads(nested)) == nested
    # an escaped surrogate pair, then an escaped backslash before the letters ud83d: both fine
    paired = '{"text":"\\ud83d\\ude00 \\\\ud83d"}'
    assert fhir.loads(paired) == {"text": "\U0001f600 \\ud83d"}


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**40, -(10**30)])
def test_integers_beyond_64_bits_are_written_exactly(number: int) -> None:
    # JSON input may carry them (loads reads integers as int); orjson alone refuses them.
    written = fhir.dumps({"value": number, "list": [1, number], "flag": True}, newline=True)
    assert written == b'{"value":%d,"list":[1,%d],"flag":true}\n' % (number, number)
    assert fhir.loads(written)["value"] == number


@pytest.mark.parametrize("levels", [300, 700, 5000])
def test_a_wide_integer_beside_deep_nesting_is_refused_as_too_deep(levels: int) -> None:
    # orjson met the integer first, and the exact-integer copy then recursed into the nesting
    # until RecursionError escaped convert (found by fuzzing): the copy stops where orjson would.
    text = b'{"big":%d,"deep":%s}' % (2**70, b"[" * levels + b"]" * levels)
    with pytest.raises(ValueError, match="nested 255 levels deep or more"):
        fhir.loads(text)
    shallow = b'{"big":%d,"deep":%s}' % (2**70, b"[" * 253 + b"]" * 253)
    assert fhir.dumps(fhir.loads(shallow)) == shallow


def test_an_integer_longer_than_python_reads_as_int_is_read_as_an_exact_decimal() -> None:
    # It is valid JSON, but int() refuses 4,300+ digits: the item was rejected as 'not valid
    # JSON: Exceeds the limit (4300 digits) for integer string conversion … use
    # sys.set_int_max_str_digits()', and the reader for duplicate keys reads them alike.
    digits = "7" * 20_000
    text = '{"value":' + digits + ',"short":4300,"n":[-' + digits + "]}"
    parsed = fhir.loads(text)
    assert parsed == {"value": Decimal(digits), "short": 4300, "n": [Decimal("-" + digits)]}
    assert type(parsed["short"]) is int
    assert fhir.dumps(parsed) == text.encode()
    twice, repeats = loads_noting_repeats('{"v":' + digits + ',"k":1,"k":2}')
    assert twice == {"v": Decimal(digits), "k": 2}
    assert repeats == {id(twice): ("k",)}


def test_an_observation_of_an_integer_of_20000_digits_is_judged_implausible() -> None:
    line = (
        '{"resourceType":"Observation","status":"final","code":{"coding":[{"system":'
        '"http://loinc.org","code":"6690-2"}]},"valueQuantity":{"value":' + "7" * 20_000 + ","
        '"unit":"10*3/uL","system":"http://unitsofmeasure.org","code":"10*3/uL"}}\n'
    )
    conversion = leukoflag.convert(line)
    assert not conversion.rejected
    (output,) = conversion.bundles
    assert output["valueQuantity"]["value"] == Decimal("7" * 20_000)
    assert [i.code for i in conversion.issues if i.code.startswith("units.")] == [
        "units.implausible"
    ]


def test_wide_integers_and_decimals_together() -> None:
    tree = {"a": [{"value": Decimal("8.2E+3")}, 18446744073709551616]}
    assert fhir.dumps(tree) == b'{"a":[{"value":8200},18446744073709551616]}'


def test_the_text_of_a_decimal_thousands_of_digits_long_is_written_but_not_kept() -> None:
    from leukoflag.fhir import _json

    long_numbers = [Decimal("7" * 5_000 + f".{n}") for n in range(3)]
    _json._FRAGMENTS.clear()
    written = fhir.dumps({"valueQuantity": [{"value": v} for v in long_numbers]})
    assert written.count(b"7" * 5_000 + b".") == 3
    assert written.endswith(b"7.2}]}")
    assert _json._FRAGMENTS == {}
    assert fhir.dumps([Decimal("4.50")]) == b"[4.50]"
    assert len(_json._FRAGMENTS) == 1


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_an_interrupt_while_a_decimal_is_written_unwinds_as_itself(
    monkeypatch: pytest.MonkeyPatch, interrupt: type[BaseException]
) -> None:
    # Ctrl-C, or the command's SIGTERM handler, raised while orjson called the Decimal hook:
    # orjson made it "TypeError: Type is not JSON serializable", and the command ended with a
    # traceback and status 1 instead of 130 or 143
    def interrupted(value: object) -> object:
        raise interrupt

    monkeypatch.setattr(fhir._json, "_default", interrupted)
    with pytest.raises(interrupt):
        fhir.dumps({"resourceType": "Observation", "valueQuantity": {"value": Decimal("3.1")}})
