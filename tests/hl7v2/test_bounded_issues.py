"""Issues that would grow with junk repeated in one message are said a few times, then counted.

A PID-3 of 20,000 repetitions, an OBX-23 sent by an interface that repeats its lab in every
repetition, 10,000 Z-segments: the report names the first few locations and how many more, and
every clinical datum sent (identifiers, performers, results) is still written.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import leukoflag

from .messages import MSH, OBR, ORC, PID, PV1, WBC, calls_made, message, obx, read

_MANY = 20_000


def _pid(field: int, value: str) -> str:
    fields = PID.split("|")
    fields += [""] * (field + 1 - len(fields))
    fields[field] = value
    return "|".join(fields)


def _found(conv: leukoflag.Conversion, code: str) -> list[tuple[str, str]]:
    return [(i.location, i.text) for i in conv.issues if i.code == code]


def test_the_parts_not_carried_of_a_pid_3_of_thousands_of_repetitions_are_six_issues() -> None:
    # An MPI feed listing every identifier it ever gave the patient, each with the facility
    # that assigned it (CX.6, not carried): 20,000 hl7v2.component-unmapped Issues, one each
    repetitions = "~".join(f"M{n}^^^RIVERSIDE^MR^CORELAB" for n in range(_MANY))
    conv = leukoflag.convert(message(_pid(3, repetitions), OBR, WBC))
    assert _found(conv, "hl7v2.component-unmapped") == [
        ("MSG[1]/PID[1]-3.6", "PID-3.6 is not carried: 'CORELAB'"),
        *(
            (f"MSG[1]/PID[1]-3[{n}].6", f"PID-3[{n}].6 is not carried: 'CORELAB'")
            for n in range(2, 6)
        ),
        (
            "MSG[1]/PID[1]-3[6].6",
            (
                "19,995 more components of PID-3 are not carried: PID-3[6].6, PID-3[7].6, "
                "PID-3[8].6 and 19,992 more"
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

    assert calls_made(run(20_000)) <= 2.05 * calls_made(run(10_000))


def test_thousands_of_z_segments_are_six_issues_and_the_results_are_all_written() -> None:
    # An LIS appending one audit Z-segment per instrument event: 10,000 hl7v2.segment-unmapped
    # Issues, each quoting its segment, a report larger than the message
    audits = [f"ZAU|{n}|AUTOVERIFY|SYSMEX-XN1|20261124080{n % 10}" for n in range(10_000)]
    conv = leukoflag.convert(message(PID, OBR, WBC, *audits))
    found = _found(conv, "hl7v2.segment-unmapped")
    assert found[:5] == [
        (
            f"MSG[1]/ZAU[{n + 1}]",
            (
                f"Z-segment (locally defined) ZAU is not mapped: 'ZAU|{n}|AUTOVERIFY|SYSMEX-XN1|"
                f"20261124080{n}'"
            ),
        )
        for n in range(5)
    ]
    assert found[5:] == [
        (
            "MSG[1]/ZAU[6]",
            "9,995 more ZAU segments are not mapped: ZAU[6], ZAU[7], ZAU[8] and 9,992 more",
        )
    ]
    assert [f.code for f in conv.findings] == ["L"]


def test_unmapped_segments_of_thousands_of_names_are_said_by_name_for_ten_names() -> None:
    names = [f"Z{a}{b}" for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "0123456789"]
    segments = [f"{name}|{n}" for n in range(40) for name in names]  # 260 names, 40 each
    conv = leukoflag.convert(message(PID, OBR, WBC, *segments))
    found = _found(conv, "hl7v2.segment-unmapped")
    assert len(found) == 11 * 6
    assert found[15] == (
        "MSG[1]/ZB5[1]",
        (
            "9,995 more segments of names after the first 10 are not mapped: ZB5[1], ZB6[1], "
            "ZB7[1] and 9,992 more"
        ),
    )
    assert dict(found)["MSG[1]/ZA0[6]"] == (
        "35 more ZA0 segments are not mapped: ZA0[6], ZA0[7], ZA0[8] and 32 more"
    )


@pytest.mark.parametrize(
    ("line", "code", "said"),
    [
        (
            "nte|{n}||Smear reviewed",
            "hl7v2.segment-id-case",
            (
                "9,995 more NTE segment IDs are not in upper case (read as NTE): NTE[6], NTE[7], "
                "NTE[8] and 9,992 more"
            ),
        ),
        (
            "  NTE|{n}||Smear reviewed",
            "hl7v2.segment-indented",
            (
                "9,995 more NTE segments are indented, which HL7 segments are not (read as NTE): "
                "NTE[6], NTE[7], NTE[8] and 9,992 more"
            ),
        ),
        (
            "NTE|{n}||Smear reviewed\nby technologist",
            "hl7v2.line-break-raw",
            (
                "9,995 more NTE-3 fields hold a raw line feed (kept as a line break in the value): "
                "NTE[6]-3, NTE[7]-3, NTE[8]-3 and 9,992 more"
            ),
        ),
        (
            "NTE|{n}||Smear\x07reviewed",
            "hl7v2.control-character",
            (
                "9,995 more NTE-3 fields hold control characters FHIR strings do not allow "
                "(replaced with U+FFFD): NTE[6]-3, NTE[7]-3, NTE[8]-3 and 9,992 more"
            ),
        ),
        (
            "NTE|{n}||Smear \ufeffreviewed",
            "hl7v2.byte-order-mark",
            (
                "9,995 more NTE-3 fields hold a byte-order mark (U+FEFF, removed): NTE[6]-3, "
                "NTE[7]-3, NTE[8]-3 and 9,992 more"
            ),
        ),
        (
            "\ufeffNTE|{n}||Smear reviewed",
            "hl7v2.byte-order-mark",
            (
                "9,995 more NTE segments start with a byte-order mark (U+FEFF, removed): NTE[6], "
                "NTE[7], NTE[8] and 9,992 more"
            ),
        ),
        (
            "\u200bNTE|{n}||Smear reviewed",  # a zero-width space pasted before each ID
            "hl7v2.code-invisible-character",
            (
                "9,995 more NTE segment IDs hold characters that show nothing (removed): "
                "NTE[6], NTE[7], NTE[8] and 9,992 more"
            ),
        ),
    ],
)
def test_a_problem_of_each_of_thousands_of_segments_is_six_issues(
    line: str, code: str, said: str
) -> None:
    notes = [line.format(n=n) for n in range(1, 10_001)]
    conv = leukoflag.convert(message(PID, OBR, WBC, *notes))
    found = _found(conv, code)
    assert len(found) == 6
    assert found[5] == (found[5][0], said)
    assert found[5][0].startswith("MSG[1]/NTE[6]")
    (bundle,) = conv.bundles
    (observation,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert len(observation["note"]) == 10_000  # every comment still written


def test_the_issues_of_thousands_of_segments_take_calls_linear_in_them() -> None:
    def run(many: int) -> Callable[[], object]:
        text = message(PID, OBR, WBC, *(f"ZAU|{n}|AUTOVERIFY" for n in range(many)))
        return lambda: leukoflag.convert(text)

    assert calls_made(run(20_000)) <= 2.05 * calls_made(run(10_000))


def test_the_parts_not_carried_of_one_field_in_many_results_are_said_for_each_result() -> None:
    # Each result's performing organization with its name type (XON.2, not carried): one
    # Issue per result, each result's field said as before
    performer = "||||||||||||Riverside Core Laboratory^L"
    results = [obx("3.1", set_id=str(n)) + performer for n in range(1, 9)]
    conv = leukoflag.convert(message(PID, OBR, *results))
    found = _found(conv, "hl7v2.component-unmapped")
    assert found == [(f"MSG[1]/OBX[{n}]-23.2", "OBX-23.2 is not carried: 'L'") for n in range(1, 9)]


def test_an_order_number_sent_repeated_is_read_from_its_first_repetition() -> None:
    # OBR-3 and ORC-3 filler order number (EI, which does not repeat) sent with the lab's two
    # accession numbers: read whole, split at '^' across the '~', the filler id's assigner was
    # 'CORELAB~LAB88165' (a lab of that name) and ORC-2 of 20,000 repetitions gave 59,999
    # component Issues at components an EI does not have (ORC-2.7 'Y~O1')
    fillers = "LAB88164^CORELAB~LAB88165^CORELAB"
    orc = ORC.replace("LAB88164^CORELAB", fillers)
    obr = OBR.replace("LAB88164^CORELAB", fillers)
    conv = leukoflag.convert(message(PID, orc, obr, WBC))
    assert [(i.code, i.location, i.text) for i in conv.issues if "MSH" not in i.location] == [
        (
            "hl7v2.repetition-unmapped",
            "MSG[1]/OBR[1]-3",
            "OBR-3 repetitions after the first are not carried: 'LAB88165^CORELAB'",
        ),
        (
            "hl7v2.repetition-unmapped",
            "MSG[1]/ORC[1]-3",
            "ORC-3 repetitions after the first are not carried: 'LAB88165^CORELAB'",
        ),
    ]
    (bundle,) = conv.bundles
    for kind in ("ServiceRequest", "DiagnosticReport"):
        (resource,) = [
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind
        ]
        filler = resource["identifier"][1]
        assert (filler["value"], filler["assigner"]) == ("LAB88164", {"display": "CORELAB"})
    placers = "~".join(f"O{n}^EHR^2.16.840.1.113883.3.8821.2^ISO" for n in range(_MANY))
    conv = leukoflag.convert(message(PID, ORC.replace("ORD55377^EHR", placers), OBR, WBC))
    found = [(i.code, i.location) for i in conv.issues if i.code != "hl7v2.field-unmapped"]
    assert found == [
        ("hl7v2.repetition-unmapped", "MSG[1]/ORC[1]-2"),
        ("hl7v2.order-id-mismatch", "MSG[1]/OBR[1]-2"),
    ]


def test_a_location_and_a_facility_sent_repeated_are_read_from_their_first_repetition() -> None:
    # PV1-3 (PL) and MSH-4 (HD) do not repeat: a patient moved from ONC to ICU had the
    # location 'ONC, 12, B, RIVERSIDE, RIVERSIDE~ICU', and a second facility made the first
    # one's universal ID type 'ISO~NORTH'
    pv1 = PV1.replace("ONC^12^B^RIVERSIDE", "ONC^12^B^RIVERSIDE~ICU^1^A^RIVERSIDE")
    facility = "RIVERSIDE^2.16.840.1.113883.3.8821^ISO"
    msh = MSH.replace(facility, facility + "~NORTH^2.16.840.1.113883.3.9000^ISO")
    conv = leukoflag.convert(message(PID, pv1, OBR, WBC, msh=msh))
    assert [(i.location, i.text) for i in conv.issues if i.code != "hl7v2.field-unmapped"] == [
        (
            "MSG[1]/MSH[1]-4",
            (
                "MSH-4 repetitions after the first are not carried: "
                "'NORTH^2.16.840.1.113883.3.9000^ISO'"
            ),
        ),
        (
            "MSG[1]/PV1[1]-3",
            "PV1-3 repetitions after the first are not carried: 'ICU^1^A^RIVERSIDE'",
        ),
    ]
    (bundle,) = conv.bundles
    (encounter,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"
    ]
    assert encounter["location"] == [{"location": {"display": "ONC, 12, B, RIVERSIDE"}}]
    assert read(message(PID, pv1, OBR, WBC, msh=msh)).sending_facility_id == (
        "2.16.840.1.113883.3.8821^ISO"
    )


def test_a_field_not_carried_sent_alike_in_thousands_of_segments_is_six_issues() -> None:
    # A pathology comment of 10,000 lines, each NTE with its source of comment 'L' (NTE-2, not
    # carried): 10,000 identical hl7v2.field-unmapped Issues, one per line
    lines = [f"NTE|{n}|L|Smear reviewed, line {n}" for n in range(1, 10_001)]
    conv = leukoflag.convert(message(PID, OBR, WBC, *lines))
    said = "NTE-2 is populated but not carried: 'L'"
    assert [(i.location, i.text) for i in conv.issues if "NTE" in i.location] == [
        *((f"MSG[1]/NTE[{n}]-2", said) for n in range(1, 6)),
        (
            "MSG[1]/NTE[6]-2",
            (
                f"{said} (and 9,994 more NTE-2 fields alike after it: NTE[7]-2, NTE[8]-2, "
                "NTE[9]-2 and 9,991 more)"
            ),
        ),
    ]
    (bundle,) = conv.bundles
    (observation,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert len(observation["note"]) == 10_000


def test_a_field_not_carried_sent_unlike_in_many_results_is_said_for_each() -> None:
    # OBX-20 body site, each result its own: each value quoted, none lost
    sites = ["LA^Left arm", "RA^Right arm"] * 4
    results = [obx("3.1", set_id=str(n)) + f"|||||||||{site}" for n, site in enumerate(sites, 1)]
    conv = leukoflag.convert(message(PID, OBR, *results))
    found = [(i.location, i.text) for i in conv.issues if "OBX" in i.location]
    assert found[5:] == [
        ("MSG[1]/OBX[6]-20", "OBX-20 is populated but not carried: 'RA^Right arm'"),
        ("MSG[1]/OBX[7]-20", "OBX-20 is populated but not carried: 'LA^Left arm'"),
        ("MSG[1]/OBX[8]-20", "OBX-20 is populated but not carried: 'RA^Right arm'"),
    ]


def test_a_bad_escape_sent_alike_in_thousands_of_notes_is_six_issues() -> None:
    lines = [f"NTE|{n}||see \\Zcomment\\ below" for n in range(1, 10_001)]
    conv = leukoflag.convert(message(PID, OBR, WBC, *lines))
    found = [(i.location, i.text) for i in conv.issues if i.code == "hl7v2.escape-invalid"]
    assert len(found) == 6
    assert found[5] == (
        "MSG[1]/NTE[6]-3",
        (
            "locally defined escape \\Zcomment\\ has no agreed meaning (and 9,994 more NTE-3 "
            "fields alike after it: NTE[7]-3, NTE[8]-3, NTE[9]-3 and 9,991 more)"
        ),
    )


@pytest.mark.parametrize("sent", [5, 6])
def test_six_z_segments_are_each_said_with_what_they_hold(sent: int) -> None:
    # Six audit segments: counting the sixth as '1 more ZAU segments are not mapped: ZAU[6]'
    # would bound nothing and lose what it holds (its verifier, its time) from the report
    audits = [f"ZAU|{n}|AUTOVERIFY|SYSMEX-XN1|202611240{n}1500" for n in range(1, sent + 1)]
    conv = leukoflag.convert(message(PID, OBR, WBC, *audits))
    assert _found(conv, "hl7v2.segment-unmapped") == [
        (
            f"MSG[1]/ZAU[{n}]",
            (
                f"Z-segment (locally defined) ZAU is not mapped: 'ZAU|{n}|AUTOVERIFY|SYSMEX-XN1|"
                f"202611240{n}1500'"
            ),
        )
        for n in range(1, sent + 1)
    ]


def test_seven_z_segments_are_five_said_and_two_counted() -> None:
    audits = [f"ZAU|{n}|AUTOVERIFY|SYSMEX-XN1|202611240{n}1500" for n in range(1, 8)]
    conv = leukoflag.convert(message(PID, OBR, WBC, *audits))
    found = _found(conv, "hl7v2.segment-unmapped")
    assert len(found) == 6
    assert found[5] == ("MSG[1]/ZAU[6]", "2 more ZAU segments are not mapped: ZAU[6], ZAU[7]")


def test_the_sixth_part_not_carried_of_a_pid_3_is_said_with_its_value() -> None:
    repetitions = "~".join(f"M{n}^^^RIVERSIDE^MR^LAB{n}" for n in range(1, 7))
    conv = leukoflag.convert(message(_pid(3, repetitions), OBR, WBC))
    assert _found(conv, "hl7v2.component-unmapped")[5] == (
        "MSG[1]/PID[1]-3[6].6",
        "PID-3[6].6 is not carried: 'LAB6'",
    )
