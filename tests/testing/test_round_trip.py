"""Builder output through the whole pipeline: clean variants give no Issue at all; variants that
leukoflag must not flag give exactly the Issues its contract promises."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leukoflag.flagging._scope import recognize
from leukoflag.model import Analyte, Concept
from leukoflag.settings import Settings
from leukoflag.testing import (
    DEFAULT_COLLECTED,
    Code,
    anc,
    batch,
    convert_message,
    fhir_bundle,
    find_observations,
    local_code,
    loinc,
    observation,
    order,
    oru_message,
    panel_observation,
    patient,
    patient_result,
    result,
    snomed,
    to_mllp,
    ucum,
    wbc,
    z_segment,
)
from leukoflag.testing.builders import LEGACY_INTERPRETATION
from leukoflag.testing.conversion import Convertible

CHILD = patient(birth_date=DEFAULT_COLLECTED.date().replace(year=2023), sex="male")
NEUTROPHIL_PERCENT = loinc("770-8", "Neutrophils/100 leukocytes in Blood by Automated count")
HEMOGLOBIN = loinc("718-7", "Hemoglobin [Mass/volume] in Blood")

# name → (input, computed interpretation codes in output order, normalized counts per µL)
CLEAN: dict[str, tuple[Convertible, list[str], list[int]]] = {
    "default CBC": (oru_message(), ["N", "N"], [7200, 4100]),
    "low WBC and ANC": (
        oru_message(results=[wbc(3.2), anc(1.2)]),
        ["L", "L"],
        [3200, 1200],
    ),
    "high WBC": (oru_message(results=[wbc(12.5)]), ["H"], [12500]),
    "unit as plain text": (oru_message(results=[wbc(3.2, "10*9/L")]), ["L"], [3200]),
    "lab spelling K/uL": (oru_message(results=[wbc(3.2, "K/uL")]), ["L"], [3200]),
    "escaped caret in unit": (oru_message(results=[wbc(3.2, "x10^3/uL")]), ["L"], [3200]),
    "cells per µL": (
        oru_message(results=[wbc(3200, "cells/uL"), anc(1200, "/uL")]),
        ["L", "L"],
        [3200, 1200],
    ),
    "local code": (
        oru_message(results=[wbc(3.2, "K/uL", code=local_code("WBC", "White cell count"))]),
        ["L"],
        [3200],
    ),
    "local code with LOINC": (
        oru_message(
            results=[anc(1.2, code=[local_code("NEUT#", "Neutrophils abs"), loinc("751-8")])]
        ),
        ["L"],
        [1200],
    ),
    "corrected result": (oru_message(results=[wbc(3.2, status="C")]), ["L"], [3200]),
    "preliminary result": (oru_message(results=[wbc(3.2, status="P")]), ["L"], [3200]),
    "other analytes beside": (
        oru_message(
            results=[wbc(3.2), result(HEMOGLOBIN, "13.5", ucum("g/dL"), reference_range="12-16")]
        ),
        ["L"],
        [3200],
    ),
    "pediatric range": (
        oru_message(
            patient=CHILD,
            results=[wbc(8.0, reference_range="5.5-15.5"), anc(1.2, reference_range="1.5-8.5")],
        ),
        ["N", "L"],
        [8000, 1200],
    ),
    "male patient, two given names": (
        oru_message(patient=patient(sex="M", given=["Tomás", "J"])),
        ["N", "N"],
        [7200, 4100],
    ),
    "delimiters |!~\\&": (
        oru_message(delimiters="|!~\\&", results=[wbc(3.2, "x10^3/uL")]),
        ["L"],
        [3200],
    ),
    "delimiters #$*@!": (
        oru_message(delimiters="#$*@!", results=[wbc(3.2), anc("1.2")]),
        ["L", "L"],
        [3200, 1200],
    ),
    "8859/1 charset": (
        oru_message(charset="8859/1", patient=patient(family="Ødegård")),
        ["N", "N"],
        [7200, 4100],
    ),
    "no MSH-18": (oru_message(charset=None), ["N", "N"], [7200, 4100]),
    "v2.3.1": (oru_message(version="2.3.1", results=[wbc(3.2)]), ["L"], [3200]),
    "v2.4": (oru_message(version="2.4", results=[wbc(3.2)]), ["L"], [3200]),
    "v2.5": (oru_message(version="2.5", results=[wbc(3.2)]), ["L"], [3200]),
    "v2.6": (oru_message(version="2.6", results=[wbc(3.2)]), ["L"], [3200]),
    "v2.7": (oru_message(version="2.7", results=[wbc(3.2)]), ["L"], [3200]),
    "two patients": (
        oru_message(
            patient_results=[
                patient_result(patient(mrn="R-1"), [wbc(3.2)]),
                patient_result(patient(mrn="R-2", family="Tanaka"), [anc(1.2)]),
            ]
        ),
        ["L", "L"],
        [3200, 1200],
    ),
    "coded result beside the count": (
        oru_message(results=[wbc(3.2), result(local_code("MORPH"), Code("TOXGR", "Toxic"))]),
        ["L"],
        [3200],
    ),
    "LF line ends": (oru_message(line_ending="\n"), ["N", "N"], [7200, 4100]),
    "CRLF line ends": (oru_message(line_ending="\r\n"), ["N", "N"], [7200, 4100]),
    "notes": (
        oru_message(results=[wbc(3.2, notes=["Smear reviewed\nby hand", "a|b^c"])]),
        ["L"],
        [3200],
    ),
    "SNOMED specimen": (
        oru_message(specimen=snomed("119297000", "Blood specimen")),
        ["N", "N"],
        [7200, 4100],
    ),
    "OBX after SPM": (
        oru_message(orders=[order([wbc(3.2)], specimen_results=[anc(1.2)])]),
        ["L", "L"],
        [3200, 1200],
    ),
    "two orders": (
        oru_message(orders=[order([wbc(3.2)]), order([anc(1.2)], specimen="venous blood")]),
        ["L", "L"],
        [3200, 1200],
    ),
    "escapes in every name": (
        oru_message(patient=patient(family="O|Brien&Co", given=["A^B~C\\D"])),
        ["N", "N"],
        [7200, 4100],
    ),
    "MLLP frames": (
        to_mllp(oru_message(), oru_message(results=[wbc(3.2)])),
        ["N", "N", "L"],
        [7200, 4100, 3200],
    ),
    "batch file": (
        batch(oru_message(results=[wbc(3.2)]), oru_message(results=[anc(1.2)])),
        ["L", "L"],
        [3200, 1200],
    ),
    "FHIR Observation": (observation(wbc(3.2)), ["L"], [3200]),
    "FHIR Observation, local code": (
        observation(wbc(3.2, "K/uL", code=local_code("WBC", "White cell count"))),
        ["L"],
        [3200],
    ),
    "FHIR collection Bundle": (fhir_bundle([wbc(3.2), anc(1.2)]), ["L", "L"], [3200, 1200]),
    "FHIR Bundle collected on a date": (
        fhir_bundle([wbc(3.2)], collected=DEFAULT_COLLECTED.date()),
        ["L"],
        [3200],
    ),
    "FHIR Bundle collected without offset": (
        fhir_bundle([anc(1.2)], collected=DEFAULT_COLLECTED.replace(tzinfo=None)),
        ["L"],
        [1200],
    ),
    "FHIR transaction Bundle": (
        fhir_bundle([wbc(3.2), anc(1.2)], bundle_type="transaction"),
        ["L", "L"],
        [3200, 1200],
    ),
    "FHIR panel Observation": (
        panel_observation([wbc(3.2), anc(1.2)]),
        ["L", "L"],
        [3200, 1200],
    ),
    "FHIR NDJSON": (
        [observation(wbc(3.2)), observation(anc(12.5))],
        ["L", "H"],
        [3200, 12500],
    ),
}


def _computed(conversion: Any) -> list[str]:
    return [f.code for f in conversion.findings]


def _counts(conversion: Any) -> list[int]:
    return [
        int(obs["valueQuantity"]["value"])
        for obs in find_observations(conversion)
        if obs.get("valueQuantity", {}).get("code") == "/uL"
    ]


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
@pytest.mark.parametrize("name", list(CLEAN))
def test_builder_output_converts_without_any_issue(name: str, strict: bool) -> None:
    message, codes, counts = CLEAN[name]
    conversion = convert_message(message, Settings(strict=strict))
    assert conversion.rejected == []
    assert conversion.issues == []
    assert _computed(conversion) == codes
    assert _counts(conversion) == counts


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_builder_output_converts_cleanly_to_r5_too(version: Literal["R4", "R5"]) -> None:
    conversion = convert_message(
        oru_message(results=[wbc(3.2), anc(1.2)]), Settings(strict=True, fhir_version=version)
    )
    assert conversion.rejected == []
    assert conversion.issues == []


# name → (input, Issue codes leukoflag's contract promises for it, computed codes)
BY_DESIGN: dict[str, tuple[Convertible, list[str], list[str]]] = {
    "comparator is judged at its bound": (
        oru_message(results=[anc("<0.5", flag="LL")]),
        ["flag.bound-interpreted"],
        ["LL"],
    ),
    "cancelled result": (
        oru_message(results=[wbc(None, status="X")]),
        ["flag.status-not-flaggable"],
        [],
    ),
    "deleted result": (
        oru_message(results=[wbc(3.2, status="D")]),
        ["flag.status-not-flaggable"],
        [],
    ),
    "urine specimen": (
        oru_message(results=[wbc(3.2)], specimen="urine"),
        ["flag.specimen-not-blood"],
        [],
    ),
    "control material": (
        oru_message(orders=[order([wbc(3.2)], specimen_role="Q")]),
        ["flag.control-material"],
        [],
    ),
    "text value": (
        oru_message(results=[wbc("see comment")]),
        ["flag.value-not-numeric"],
        [],
    ),
    "sender's flag on the other side": (
        oru_message(results=[wbc(3.2, flag="H")]),
        ["flag.sender-disagrees"],
        ["L"],
    ),
    "derived ANC": (
        oru_message(results=[wbc(3.2), result(NEUTROPHIL_PERCENT, "40", "%")]),
        ["flag.anc-derived"],
        ["L", "L"],
    ),
    "legacy interpretation system": (
        observation(wbc(3.2), interpretation_system=LEGACY_INTERPRETATION),
        ["fhir.legacy-interpretation"],
        ["L"],
    ),
    "FHIR Observation without patient details": (
        observation(wbc(3.2), contained_patient=False),
        ["flag.age-unknown"],
        ["L"],
    ),
    "Z-segments": (
        oru_message(
            orders=[order([wbc(3.2)], z_segments=[z_segment("ZBX", "1", "Y")])],
            z_segments=[z_segment("ZPI", "1", ("ISO", "Isolation"))],
        ),
        ["hl7v2.segment-unmapped", "hl7v2.segment-unmapped"],
        ["L"],
    ),
    "v2.8, which hl7apy cannot check": (
        oru_message(version="2.8", results=[wbc(3.2)]),
        ["hl7v2.structure-unchecked"],
        ["L"],
    ),
}


@pytest.mark.parametrize("name", list(BY_DESIGN))
def test_results_leukoflag_must_not_judge_get_the_promised_issue(name: str) -> None:
    message, issue_codes, codes = BY_DESIGN[name]
    conversion = convert_message(message, Settings(strict=True))
    assert conversion.rejected == []
    assert [i.code for i in conversion.issues] == issue_codes
    assert _computed(conversion) == codes


@pytest.mark.parametrize("status", ["F", "C", "A", "P", "R", "S", "D", "W", "X", "I", "N", "U"])
def test_a_result_status_reads_the_same_from_hl7v2_and_from_fhir(status: str) -> None:
    # the same wbc(status=...) sent as an ORU or as an Observation must reach the EHR alike
    count = wbc(3.2, status=status)
    from_v2 = find_observations(convert_message(oru_message(results=[count])), analyte="wbc")
    from_fhir = find_observations(convert_message(observation(count)), analyte="wbc")
    assert [o["status"] for o in from_fhir] == [o["status"] for o in from_v2]
    assert [o.get("interpretation") for o in from_fhir] == [
        o.get("interpretation") for o in from_v2
    ]


def test_a_preliminary_made_final_by_a_u_reads_the_same_from_hl7v2_and_from_fhir() -> None:
    # OBX-11 U without its value makes the preliminary WBC before it final: one final WBC of
    # 2,100/µL, judged. fhir_bundle wrote the preliminary Observation and a final one without
    # value (under a report it called final), which leukoflag reads as a WBC replaced by no
    # value: the count of 2,100 was never judged (flag.result-superseded, flag.data-absent)
    results = [wbc(2.1, status="P"), wbc(None, status="U"), anc(1.1)]
    from_v2 = convert_message(oru_message(results=results), Settings(strict=True))
    from_fhir = convert_message(fhir_bundle(results), Settings(strict=True))
    assert (
        [f.code for f in from_fhir.findings]
        == [f.code for f in from_v2.findings]
        == [
            "LU",
            "L",
        ]
    )
    assert [i.code for i in from_fhir.issues] == ["flag.sender-disagrees"]
    statuses = [(o["status"], o["valueQuantity"]["value"]) for o in find_observations(from_fhir)]
    assert statuses == [("final", Decimal(2100)), ("final", Decimal(1100))]
    assert statuses == [
        (o["status"], o["valueQuantity"]["value"]) for o in find_observations(from_v2)
    ]


def test_a_result_not_asked_for_has_no_value_for_that_reason() -> None:
    not_asked = find_observations(convert_message(observation(wbc(None, status="N"))))
    assert not_asked[0]["status"] == "cancelled"
    assert not_asked[0]["dataAbsentReason"]["coding"][0]["code"] == "not-asked"


def test_v23_quantity_timing_gives_the_priority_and_nothing_left_uncarried() -> None:
    # hl7apy (strict mode) requires ORC-7 and OBR-27 in v2.3: the builder sends the priority
    # alone ('^^^^^R', TQ-6, read as the order's priority), so a default v2.3 message converts
    # without an Issue, as every other version does (a start time in TQ-4 was not carried).
    conversion = convert_message(oru_message(version="2.3"), Settings(strict=True))
    assert conversion.rejected == []
    assert [(i.code, i.location) for i in conversion.issues] == []
    (bundle,) = conversion.bundles
    requests = [e["resource"] for e in bundle["entry"]]
    priorities = [r["priority"] for r in requests if r["resourceType"] == "ServiceRequest"]
    assert priorities == ["routine"]
    assert _computed(conversion) == ["N", "N"]


def test_a_corrected_wbc_beside_a_preliminary_anc_gives_a_report_leukoflag_accepts() -> None:
    # the builders called such a report corrected, which holds no preliminary result:
    # flag.report-status-disagrees (a warning) at OBR-25 and at DiagnosticReport.status
    results = [wbc(3.2, status="C"), anc(1.2, status="P")]
    for message in (oru_message(results=results), fhir_bundle(results)):
        conversion = convert_message(message, Settings(strict=True))
        assert [(i.code, i.location) for i in conversion.issues] == []
        assert _computed(conversion) == ["L", "L"]


def test_a_report_whose_tests_were_all_not_asked_is_written_cancelled() -> None:
    # OBX-11 N is read as a cancelled Observation: the builders wrote OBR-25 F and
    # DiagnosticReport.status final over two cancelled results, where docs/testing.md says X
    results = [wbc(None, status="N"), anc(None, status="N")]
    for message in (oru_message(results=results), fhir_bundle(results)):
        conversion = convert_message(message, Settings(strict=True))
        statuses = [
            (entry["resource"]["resourceType"], entry["resource"]["status"])
            for bundle in conversion.bundles
            for entry in bundle["entry"]
            if entry["resource"]["resourceType"] in ("DiagnosticReport", "Observation")
        ]
        assert statuses == [
            ("DiagnosticReport", "cancelled"),
            ("Observation", "cancelled"),
            ("Observation", "cancelled"),
        ]
        assert _computed(conversion) == []


def test_unescaped_names_and_codes_reach_the_fhir_output() -> None:
    who = patient(family="O|Brien&Co", given=["A^B~C\\D", "Zoë"])
    display = "WBC^count|total"
    conversion = convert_message(
        oru_message(patient=who, results=[wbc(3.2, code=local_code("WBC", display))])
    )
    bundle = conversion.bundles[0]
    person = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert person["name"] == [{"family": "O|Brien&Co", "given": ["A^B~C\\D", "Zoë"]}]
    assert find_observations(conversion)[0]["code"]["coding"][0]["display"] == display


def test_exact_decimals_survive_the_round_trip() -> None:
    conversion = convert_message(oru_message(results=[wbc(Decimal("8.20"))]))
    quantity = find_observations(conversion)[0]["valueQuantity"]
    assert quantity["value"] == Decimal(8200)
    assert str(quantity["extension"][0]["valueQuantity"]["value"]) == "8.20"


def test_the_same_message_converts_to_the_same_bundle() -> None:
    first = convert_message(oru_message(results=[wbc(3.2)]))
    second = convert_message(oru_message(results=[wbc(3.2)]))
    assert first.bundles == second.bundles


# C0 controls other than tab, LF and CR do not read back: FHIR strings cannot hold them, so the
# reader replaces them with U+FFFD (test_encoding covers that).
_FORBIDDEN = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters=_FORBIDDEN),
    min_size=1,
    max_size=16,
)
_DELIMITERS = st.sampled_from(["|^~\\&", "|!~\\&", "#$*@!", "|^~/&"])


def _names_no_other_count(text: str) -> bool:
    """Whether a WBC's display ``text`` names no other count: 'ANC' beside the code WBC is
    rightly a flag.code-conflict, not a text that failed to read back."""
    found = recognize(Concept(text=text))
    return found is None or (found.analyte is Analyte.WBC and found.kind == "count")


@settings(max_examples=60, deadline=None)
@given(
    family=_TEXT.map(str.strip).filter(bool),
    note=_TEXT.map(str.strip).filter(bool),
    display=_TEXT.map(str.strip).filter(bool).filter(_names_no_other_count),
    delimiters=_DELIMITERS,
)
def test_any_text_is_escaped_so_that_it_reads_back_unchanged(
    family: str, note: str, display: str, delimiters: str
) -> None:
    message = oru_message(
        patient=patient(family=family),
        results=[wbc(3.2, notes=[note], code=local_code("WBC", display))],
        delimiters=delimiters,
    )
    conversion = convert_message(message)
    assert conversion.rejected == []
    assert conversion.issues == []
    bundle = conversion.bundles[0]
    person = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert person["name"][0]["family"] == family
    obs = find_observations(conversion)[0]
    # FT: a line break is written \.br\ and read back as "\n", whatever its spelling
    assert obs["note"][0]["text"] == note.replace("\r\n", "\n").replace("\r", "\n")
    assert obs["code"]["coding"][0]["display"] == display


@pytest.mark.parametrize("text", ['""', ' "" '])
def test_a_text_that_is_two_quotes_is_not_sent_as_the_hl7_null(text: str) -> None:
    message = oru_message(
        patient=patient(family=text),
        results=[wbc(3.2, notes=[text], code=local_code("WBC", text))],
    )
    assert '|""^' not in message.text
    conversion = convert_message(message)
    assert conversion.issues == []
    bundle = conversion.bundles[0]
    person = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert person["name"][0]["family"] == text.strip()
    obs = find_observations(conversion)[0]
    assert obs["note"][0]["text"] == text.strip()
    assert obs["code"]["coding"][0]["display"] == text.strip()


def test_a_text_of_two_quotes_reads_back_where_the_quote_is_a_delimiter() -> None:
    # with '"' as the repetition separator each quote is escaped already (\R\), which no null
    # is; the null guard then replaced a quote in that escaped text, found none, and so wrote
    # one quote of the two: the family '""' read back as '"'
    message = oru_message(
        patient=patient(family='""'),
        results=[wbc(3.2, notes=['""'], code=local_code("WBC", '""'))],
        delimiters='|^"\\&',
    )
    conversion = convert_message(message)
    assert conversion.issues == []
    bundle = conversion.bundles[0]
    person = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert person["name"][0]["family"] == '""'
    obs = find_observations(conversion)[0]
    assert obs["note"][0]["text"] == '""'
    assert obs["code"]["coding"][0]["display"] == '""'


def test_unit_code_in_a_code_object_reads_back() -> None:
    conversion = convert_message(oru_message(results=[wbc(3.2, Code("10*3/uL", "K/uL", "UCUM"))]))
    quantity = find_observations(conversion)[0]["valueQuantity"]
    assert quantity["value"] == Decimal(3200)
    assert quantity["extension"][0]["valueQuantity"]["unit"] == "K/uL"


def test_text_read_with_surrogateescape_converts_like_its_bytes() -> None:
    # A team reads its lab's Latin-1 capture file as UTF-8 with errors="surrogateescape":
    # the Ø byte becomes a lone surrogate, which convert_message now hands on as the byte.
    message = oru_message(charset="8859/1", patient=patient(family="Ødegård"), results=[wbc(3.2)])
    text = message.encode().decode("utf-8", "surrogateescape")
    assert "\udcd8" in text
    conversion = convert_message(text)
    assert conversion.rejected == []
    assert conversion.data == message.encode()
    assert _computed(conversion) == ["L"]


def test_a_panel_with_a_preliminary_made_final_by_a_u_reads_as_the_same_oru() -> None:
    # panel_observation wrote the U as a second WBC component without value under a panel
    # it called preliminary (the first result's status): the count of 2,100/µL was judged
    # beside a WBC of no value in a preliminary panel, where the ORU gives one final WBC
    results = [wbc(2.1, status="P"), wbc(None, status="U"), anc(1.1)]
    from_v2 = convert_message(oru_message(results=results), Settings(strict=True))
    from_panel = convert_message(panel_observation(results), Settings(strict=True))
    assert [f.code for f in from_panel.findings] == [f.code for f in from_v2.findings]
    assert [f.code for f in from_panel.findings] == ["LU", "L"]
    assert [i.code for i in from_panel.issues] == ["flag.sender-disagrees"]
    panel = from_panel.bundles[0]
    assert panel["status"] == "final"
    assert [c["valueQuantity"]["value"] for c in panel["component"]] == [
        Decimal(2100),
        Decimal(1100),
    ]


@pytest.mark.parametrize(
    ("preliminary", "change"),
    [
        ("202611240830-0500", "202611241330+0000"),  # minutes, as many LIS send OBX-14
        ("2026112408-0500", "2026112413+0000"),  # hours
        ("20261124083000.5-0500", "20261124133000.5000+0000"),  # a fraction of a second
    ],
)
def test_a_u_at_the_same_moment_written_otherwise_makes_report_and_bundle_final(
    preliminary: str, change: str
) -> None:
    # the builder compared OBX-14 as a moment only when written to the second: the same
    # instant at minute precision was another time, so oru_message wrote OBR-25 P over the
    # WBC leukoflag made final (a preliminary DiagnosticReport), and fhir_bundle wrote the
    # preliminary 2,100/µL and a final WBC of no value, which leukoflag did not judge
    results = [wbc(2.1, status="P", observed=preliminary), wbc(None, status="U", observed=change)]
    message = oru_message(results=results)
    assert message.segment("OBR").split("|")[25] == "F"
    from_v2 = convert_message(message, Settings(strict=True))
    from_fhir = convert_message(fhir_bundle(results), Settings(strict=True))
    assert [f.code for f in from_v2.findings] == [f.code for f in from_fhir.findings] == ["LU"]
    for conversion in (from_v2, from_fhir):
        statuses = [
            (e["resource"]["resourceType"], e["resource"]["status"])
            for e in conversion.bundles[0]["entry"]
            if e["resource"]["resourceType"] in ("DiagnosticReport", "Observation")
        ]
        assert statuses == [("DiagnosticReport", "final"), ("Observation", "final")]
