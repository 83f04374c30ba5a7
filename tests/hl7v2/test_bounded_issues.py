"""Issues that would grow with junk repeated in one message are said a few times, then counted.

A PID-3 of 20,000 repetitions, an OBX-23 sent by an interface that repeats its lab in every
repetition, 10,000 Z-segments: the report names the first few locations and how many more, and
every clinical datum sent (identifiers, performers, results) is still written.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType

import leukoflag

from .messages import OBR, PID, WBC, message, obx

_MANY = 20_000


def _pid(field: int, value: str) -> str:
    fields = PID.split("|")
    fields += [""] * (field + 1 - len(fields))
    fields[field] = value
    return "|".join(fields)


def _found(conv: leukoflag.Conversion, code: str) -> list[tuple[str, str]]:
    return [(i.location, i.text) for i in conv.issues if i.code == code]


def _calls(run: Callable[[], object]) -> int:
    """The function calls (Python and built-in) ``run`` makes."""
    calls = 0

    def count(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        calls += event in ("call", "c_call")

    sys.setprofile(count)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls


def test_the_parts_not_carried_of_a_pid_3_of_thousands_of_repetitions_are_six_issues() -> None:
    # An MPI feed listing every identifier it ever gave the patient, each with its effective
    # date (CX.7, not carried): 20,000 hl7v2.component-unmapped Issues, one per repetition
    repetitions = "~".join(f"M{n}^^^RIVERSIDE^MR^^20200101" for n in range(_MANY))
    conv = leukoflag.convert(message(_pid(3, repetitions), OBR, WBC))
    assert _found(conv, "hl7v2.component-unmapped") == [
        ("MSG[1]/PID[1]-3.7", "PID-3.7 is not carried: '20200101'"),
        *(
            (f"MSG[1]/PID[1]-3[{n}].7", f"PID-3[{n}].7 is not carried: '20200101'")
            for n in range(2, 6)
        ),
        (
            "MSG[1]/PID[1]-3[6].7",
            (
                "19,995 more components of PID-3 are not carried: PID-3[6].7, PID-3[7].7, "
                "PID-3[8].7 and 19,992 more"
            ),
        ),
    ]
    (bundle,) = conv.bundles
    (patient,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert [i["value"] for i in patient["identifier"]] == [f"M{n}" for n in range(_MANY)]


def test_unknown_identifier_types_of_thousands_of_repetitions_are_six_issues() -> None:
    repetitions = "~".join(f"M{n}^^^RIVERSIDE^LOCAL{n}" for n in range(_MANY))
    conv = leukoflag.convert(message(_pid(3, repetitions), OBR, WBC))
    found = _found(conv, "hl7v2.identifier-type-unknown")
    assert len(found) == 6
    assert found[4] == (
        "MSG[1]/PID[1]-3[5].5",
        (
            "PID-3[5].5 identifier type 'LOCAL4' is not in HL7 table 0203: written as the "
            "type's text, without a v2-0203 coding"
        ),
    )
    assert found[5] == (
        "MSG[1]/PID[1]-3[6].5",
        (
            "19,995 more identifier types of PID-3 are not in HL7 table 0203: written as the "
            "type's text, without a v2-0203 coding: PID-3[6].5, PID-3[7].5, PID-3[8].5 and "
            "19,992 more"
        ),
    )


def test_the_parts_not_carried_of_thousands_of_performers_are_counted_per_field() -> None:
    # OBX-23 performing organization repeated with its address type and id parts (XON.2, .6,
    # .7 not carried: three Issues a repetition); every organization is still a performer
    organizations = "~".join(f"Lab{n}^L^^^^CLIA^XX" for n in range(_MANY))
    conv = leukoflag.convert(message(PID, OBR, obx("3.1") + "||||||||||||" + organizations))
    found = _found(conv, "hl7v2.component-unmapped")
    assert [location for location, _ in found] == [
        "MSG[1]/OBX[1]-23.2",
        "MSG[1]/OBX[1]-23.6",
        "MSG[1]/OBX[1]-23.7",
        "MSG[1]/OBX[1]-23[2].2",
        "MSG[1]/OBX[1]-23[2].6",
        "MSG[1]/OBX[1]-23[2].7",
    ]
    assert found[-1][1] == (
        "59,995 more components of OBX-23 are not carried: OBX-23[2].7, OBX-23[3].2, "
        "OBX-23[3].6 and 59,992 more"
    )
    (bundle,) = conv.bundles
    (observation,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert len(observation["performer"]) == _MANY


def test_a_field_of_thousands_of_components_is_six_issues() -> None:
    # OBX-3 padded with components from CWE.11 on: one Issue per component not carried (CWE.14,
    # the alternate coding system's OID, is read)
    code = "6690-2^Leukocytes^LN" + "^^^^^^^" + "^pad" * _MANY
    conv = leukoflag.convert(message(PID, OBR, obx("3.1", code=code)))
    found = _found(conv, "hl7v2.component-unmapped")
    assert [location for location, _ in found[:5]] == [
        f"MSG[1]/OBX[1]-3.{n}" for n in (11, 12, 13, 15, 16)
    ]
    assert found[5:] == [
        (
            "MSG[1]/OBX[1]-3.17",
            (
                "19,994 more components of OBX-3 are not carried: OBX-3.17, OBX-3.18, "
                "OBX-3.19 and 19,991 more"
            ),
        )
    ]


def test_the_issues_of_a_repeated_field_take_calls_linear_in_its_repetitions() -> None:
    def run(many: int) -> Callable[[], object]:
        repetitions = "~".join(f"M{n}^^^RIVERSIDE^LOCAL^^20200101" for n in range(many))
        text = message(_pid(3, repetitions), OBR, WBC)
        return lambda: leukoflag.convert(text)

    assert _calls(run(20_000)) <= 2.05 * _calls(run(10_000))
