"""Values read once per process (coded OBX fields, plain numbers, providers) stay correct: each
OBX gets its own Issues, and a cached reading never crosses delimiters or character sets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leukoflag._cache import LONG_TEXT_BUDGET
from leukoflag.errors import UnitError
from leukoflag.model import Unit

from .messages import MSH, OBR, PID, SPM, WBC, message, obx, only_order, read, reject


def test_repeated_coded_fields_raise_their_issues_at_each_obx() -> None:
    odd = obx("3.1", status="Q", flags="ZZ")
    first = read(message(PID, OBR, odd, odd.replace("OBX|1|", "OBX|2|")))
    second = read(message(PID, OBR, odd))  # the same fields again, in the next message
    found = [(i.code, i.location) for i in first.issues if i.code != "hl7v2.field-unmapped"]
    assert found == [
        ("hl7v2.flag-unknown", "MSG[1]/OBX[1]-8"),
        ("hl7v2.status-unknown", "MSG[1]/OBX[1]-11"),
        ("hl7v2.flag-unknown", "MSG[1]/OBX[2]-8"),
        ("hl7v2.status-unknown", "MSG[1]/OBX[2]-11"),
    ]
    again = [(i.code, i.location) for i in second.issues if i.code != "hl7v2.field-unmapped"]
    assert again == found[:2]


def test_code_missing_comes_before_the_value_issues_of_its_obx() -> None:
    result = read(message(PID, OBR, obx("many", code="", status="")))
    codes = [(i.code, i.location) for i in result.issues if i.location.startswith("MSG[1]/OBX")]
    assert codes == [
        ("hl7v2.code-missing", "MSG[1]/OBX[1]-3"),
        ("hl7v2.value-not-numeric", "MSG[1]/OBX[1]-5"),
        ("hl7v2.status-missing", "MSG[1]/OBX[1]-11"),
    ]


def test_a_cached_reading_follows_each_messages_escape_character() -> None:
    code = "6690-2^Leukocytes \\T\\ precursors^LN"
    usual = read(message(PID, OBR, obx("3.1", code=code)))
    # The same OBX-3 text in a message whose escape character is '#': '\T\' is plain text there.
    other = read(message(PID, OBR, obx("3.1", code=code), msh=MSH.replace("^~\\&", "^~#&", 1)))
    usual_code = usual.groups[0].orders[0].results[0].code.codings[0]
    other_code = other.groups[0].orders[0].results[0].code.codings[0]
    assert usual_code.display == "Leukocytes & precursors"
    assert other_code.display == "Leukocytes \\T\\ precursors"


def test_a_cached_number_keeps_the_text_as_sent() -> None:
    plain = read(message(PID, OBR, obx("3.10"), obx(" 3.10 ", set_id="2")))
    first, second = plain.groups[0].orders[0].results
    assert first.value == second.value
    assert (first.value.text, second.value.text) == ("3.10", "3.10")  # type: ignore[union-attr]
    assert str(first.value.value) == "3.10"  # type: ignore[union-attr]


def test_cached_specimen_codes_raise_their_issues_at_each_spm() -> None:
    spm = "SPM|1|SP1||BLDV^Blood \\X\\ venous^HL70487|||||||QQ^Odd role^HL70369"
    first = read(message(PID, OBR, WBC, spm, spm.replace("SPM|1|SP1", "SPM|2|SP2")))
    second = read(message(PID, OBR, WBC, spm))  # the same codes again, in the next message
    found = [(i.code, i.location) for i in first.issues if i.location.startswith("MSG[1]/SPM")]
    assert found == [
        ("hl7v2.escape-invalid", "MSG[1]/SPM[1]-4"),
        ("hl7v2.specimen-role-unknown", "MSG[1]/SPM[1]-11"),
        ("hl7v2.escape-invalid", "MSG[1]/SPM[2]-4"),
        ("hl7v2.specimen-role-unknown", "MSG[1]/SPM[2]-11"),
    ]
    again = [(i.code, i.location) for i in second.issues if i.location.startswith("MSG[1]/SPM")]
    assert again == found[:2]
    one, two = only_order(first).specimens
    assert one.type == two.type == only_order(second).specimens[0].type
    assert one.type is not None
    assert one.type.codings[0].display == "Blood \\X\\ venous"


def test_a_cached_specimen_reading_follows_each_messages_delimiters() -> None:
    spm = "SPM|1|SP1||QC1^Control \\T\\ blood^L|||||||P^Patient^HL70369"
    usual = read(message(PID, OBR, WBC, spm))
    # The same SPM text in a message whose component separator is '$': '^' is plain text there.
    other = read(message(PID, OBR, WBC).replace("^", "$") + spm + "\r")
    usual_specimen = only_order(usual).specimens[0]
    other_specimen = only_order(other).specimens[0]
    assert usual_specimen.type is not None
    assert other_specimen.type is not None
    assert usual_specimen.type.codings[0].code == "QC1"
    assert usual_specimen.type.codings[0].display == "Control & blood"
    assert other_specimen.type.codings[0].code == "QC1^Control & blood^L"
    assert other_specimen.role is not None
    assert other_specimen.role.codings[0].code == "P^Patient^HL70369"
    assert not [i for i in usual.issues if i.code == "hl7v2.specimen-role-unknown"]
    unknown = [i.location for i in other.issues if i.code == "hl7v2.specimen-role-unknown"]
    assert unknown == ["MSG[1]/SPM[1]-11"]
    # 'control' is a word of the display only where '^' separates the display from the code.
    assert (usual_specimen.is_control, other_specimen.is_control) == (True, False)


def test_patient_identifiers_with_and_without_escapes_or_subcomponents() -> None:
    pid = (
        "PID|1||MRN1^^^RIVERSIDE^MR~ ID\\F\\2 ^^^ SSA ^ SS ~ID3^^^AUTH&1.2.3&ISO^MR^X"
        "~^^^NOBODY^MR~ID4||OKAFOR^DANIEL||19610719|M"
    )
    patient = read(message(pid, OBR, WBC)).groups[0].patient
    assert patient is not None
    assert [(i.value, i.system, i.type_code, i.assigner) for i in patient.identifiers] == [
        ("MRN1", "", "MR", "RIVERSIDE"),
        ("ID|2", "", "SS", "SSA"),
        ("ID3", "urn:oid:1.2.3", "MR", "AUTH"),
        ("ID4", "", "", ""),
    ]
    other = read(message(pid, OBR, WBC).replace("^", "$"))
    assert other.groups[0].patient is not None
    assert other.groups[0].patient.identifiers == patient.identifiers


def test_a_cached_message_type_follows_each_messages_component_separator() -> None:
    spaced = read(message(PID, OBR, WBC, msh=MSH.replace("ORU^R01^ORU_R01", " ORU ^ R01 ^ ")))
    assert spaced.message_type == "ORU^R01"
    dollar_type = MSH.replace("ORU^R01^ORU_R01", "ORU$R01$ORU_R01")
    assert read(message(PID, OBR, WBC, msh=dollar_type).replace("^", "$")).message_type == (
        "ORU^R01^ORU_R01"
    )
    # The same MSH-9 text where '$' is no separator: one component, not a lab result.
    assert reject(message(PID, OBR, WBC, msh=dollar_type)).reason.startswith(
        "message type ORU$R01$ORU_R01 is not a lab result"
    )


def _cache_sizes() -> dict[str, int]:
    """Entries of the per-process caches of OBX, SPM and time fields, by function."""
    from leukoflag.hl7v2 import _read, _time, _types, _values

    functions = {
        "_coded_result": _read._coded_result,
        "_specimen_codes": _read._specimen_codes,
        "concept": _types.concept,
        "plain_number": _values.plain_number,
        "read_unit": _values.read_unit,
        "read_range": _values.read_range,
        "read_flags": _values.read_flags,
        "parse_timestamp": _time.parse_timestamp,
    }
    return {name: f.cache_info().currsize for name, f in functions.items()}  # type: ignore[attr-defined]


def _long_obx_and_spm(pad: str) -> tuple[str, str]:
    long_obx = obx(
        "3.1" + " " * 12_000,
        code=f"6690-2^Leukocytes {pad}^LN",
        unit=f"10*3/uL^{pad}^UCUM",
        reference=f"4.0-11.0 {pad}",
        flags=f"L~{pad}",
        status=f"F{pad}",
    )
    spm = f"SPM|1|SP1||BLDV^Blood {pad}^HL70487|||||||P^Patient^HL70369||||||2026{pad}"
    return long_obx, spm


def test_huge_fields_are_read_right_and_the_caches_keep_a_bounded_amount_of_them() -> None:
    # 12,000 characters a field, no two fields alike: the caches keep at most
    # LONG_TEXT_BUDGET characters of such text each, whatever the number of messages.
    pads = [f"{n:02d}" + "".join(f"{i:06d}" for i in range(2_000)) for n in range(40)]
    read(message(PID, OBR, WBC, SPM))  # the usual fields: kept, if not already
    usual = _cache_sizes()
    most = LONG_TEXT_BUDGET // 12_000 + 1  # long readings one cache may hold
    for pad in pads:  # more than `most` of them: without the budget, the caches would grow
        long_obx, spm = _long_obx_and_spm(pad)
        result = read(message(PID, OBR, long_obx, spm))
        grown = {name: size - usual[name] for name, size in _cache_sizes().items()}
        assert max(grown.values()) <= most, grown
    pad = pads[-1]
    (read_result,) = only_order(result).results
    assert read_result.code.codings[0].display == f"Leukocytes {pad}"
    assert read_result.unit is not None
    assert read_result.unit.text == pad
    assert read_result.reference_range is not None
    assert read_result.reference_range.high == Decimal("11.0")
    assert read_result.status_text == f"F{pad}"
    # a new short field is kept as before
    kept = _cache_sizes()
    read(message(PID, OBR, obx("3.1", unit="10*3/uL^thousand per uL^UCUM")))
    assert _cache_sizes()["read_unit"] == kept["read_unit"] + 1


def test_a_huge_unit_is_resolved_but_not_memoized() -> None:
    from leukoflag import units

    unit = Unit(f"10*3/uL {'x' * 1_000}", "", "")
    before = len(units._RESOLVED)
    for _ in range(2):
        with pytest.raises(UnitError, match="unknown-unit"):
            units.count_per_ul("3.1", unit)
    assert len(units._RESOLVED) == before
    assert units.count_per_ul("3.1", Unit("10*3/uL", "10*3/uL", "UCUM")) == 3100
