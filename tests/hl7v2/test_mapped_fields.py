"""Fields a lab sends that FHIR has a place for (HL7 V2-to-FHIR IG segment maps): each is written
there, in R4 and R5, and is no longer reported as not carried."""

from __future__ import annotations

import sys
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

import pytest

import leukoflag
from leukoflag import fhir

from .messages import OBR, ORC, PID, PV1, SPM, message

if TYPE_CHECKING:
    from _typeshed import TraceFunction


def _convert(
    data: str, version: Literal["R4", "R5"]
) -> tuple[dict[str, Any], leukoflag.Conversion]:
    conversion = leukoflag.convert(data, settings=leukoflag.Settings(fhir_version=version))
    assert not conversion.rejected
    (bundle,) = conversion.bundles
    fhir.validate(bundle, version)
    return bundle, conversion


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _unmapped_at(conversion: leukoflag.Conversion, location: str) -> list[str]:
    return [
        i.text
        for i in conversion.issues
        if i.code in {"hl7v2.field-unmapped", "hl7v2.component-unmapped"}
        and i.location.startswith(location)
    ]


# A WBC verified by the lab's medical technologist (OBX-16) and signed out by the lab's
# pathologist as responsible observer (OBX-25, v2.5+), performed at the core lab (OBX-23).
WBC_SIGNED_OUT = (
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1|10*3/uL^^UCUM|"
    "4.0-11.0|L|||F|||20261124080500-0500||7001^OSEI^KWAME|||20261124081500-0500||||"
    "Riverside Core Laboratory^^^^^^^^^CLIA05D1234567||3310^NAKAMURA^HANA^^^DR^MD"
)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_obx_25_responsible_observer_is_an_observation_performer(
    version: Literal["R4", "R5"],
) -> None:
    bundle, conversion = _convert(message(PID, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (observation,) = _resources(bundle, "Observation")
    assert observation["performer"] == [
        {"display": "KWAME OSEI (7001)"},
        {"display": "Riverside Core Laboratory (CLIA05D1234567)"},
        {"display": "DR HANA NAKAMURA, MD (3310)"},
    ]
    assert _unmapped_at(conversion, "MSG[1]/OBX[1]-25") == []


def test_obx_25_naming_the_obx_16_observer_is_one_performer() -> None:
    # The medical technologist who verified the WBC (OBX-16) also signs it out as responsible
    # observer (OBX-25): one person, written twice as two identical performers.
    fields = WBC_SIGNED_OUT.split("|")
    fields[25] = "7001^OSEI^KWAME"
    bundle, conversion = _convert(message(PID, PV1, ORC, OBR, "|".join(fields), SPM), "R4")
    (observation,) = _resources(bundle, "Observation")
    assert observation["performer"] == [
        {"display": "KWAME OSEI (7001)"},
        {"display": "Riverside Core Laboratory (CLIA05D1234567)"},
    ]
    assert _unmapped_at(conversion, "MSG[1]/OBX[1]-25") == []


# A haematology CBC whose film was reviewed and the report signed out by the lab's pathologist:
# OBR-32 principal result interpreter (NDL, its name a CNN in subcomponents) with the time of
# the interpretation and the lab's location (NDL.2, NDL.4).
OBR_INTERPRETED = OBR + "|||||||3310&NAKAMURA&HANA&&&DR&MD&&RIVERSIDE^20261124101500-0500^^HEME"


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_obr_32_principal_result_interpreter_is_the_reports_results_interpreter(
    version: Literal["R4", "R5"],
) -> None:
    assert OBR_INTERPRETED.split("|")[32].startswith("3310&")
    bundle, conversion = _convert(
        message(PID, PV1, ORC, OBR_INTERPRETED, WBC_SIGNED_OUT, SPM), version
    )
    (report,) = _resources(bundle, "DiagnosticReport")
    assert report["resultsInterpreter"] == [{"display": "DR HANA NAKAMURA, MD (3310)"}]
    assert {
        i.location: i.text for i in conversion.issues if i.location.startswith("MSG[1]/OBR[1]-32")
    } == {
        "MSG[1]/OBR[1]-32.1.9": "OBR-32.1.9 is not carried: 'RIVERSIDE'",
        "MSG[1]/OBR[1]-32.2": "OBR-32.2 is not carried: '20261124101500-0500'",
        "MSG[1]/OBR[1]-32.4": "OBR-32.4 is not carried: 'HEME'",
    }


# An inpatient on the oncology ward who died the morning after the CBC was drawn: the lab's
# corrected report goes out with PID-29 death date and time and PID-30 death indicator Y.
PID_DIED = (
    "PID|1||MRN100871^^^RIVERSIDE^MR||OKAFOR^DANIEL^C||19610719|M"
    + "|" * 21
    + ("20261125061200-0500|Y")
)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_pid_29_death_date_is_the_patients_deceased_date_time(
    version: Literal["R4", "R5"],
) -> None:
    assert PID_DIED.split("|")[29:31] == ["20261125061200-0500", "Y"]
    bundle, conversion = _convert(message(PID_DIED, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (patient,) = _resources(bundle, "Patient")
    assert patient["deceasedDateTime"] == "2026-11-25T06:12:00-05:00"
    assert "deceasedBoolean" not in patient
    assert _unmapped_at(conversion, "MSG[1]/PID[1]-29") == []
    assert _unmapped_at(conversion, "MSG[1]/PID[1]-30") == []


@pytest.mark.parametrize(("indicator", "deceased"), [("Y", True), ("N", False), ("y", True)])
def test_pid_30_death_indicator_alone_is_the_patients_deceased_boolean(
    indicator: str, deceased: bool
) -> None:
    pid = PID_DIED.replace("20261125061200-0500|Y", f"|{indicator}")
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert patient["deceasedBoolean"] is deceased
    assert _unmapped_at(conversion, "MSG[1]/PID[1]-30") == []


def test_pid_30_outside_table_0136_is_not_carried_and_says_so() -> None:
    pid = PID_DIED.replace("20261125061200-0500|Y", "|U")
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert "deceasedBoolean" not in patient
    assert _unmapped_at(conversion, "MSG[1]/PID[1]-30") == [
        "PID-30 death indicator 'U' is not in HL7 table 0136 (Y, N): not carried"
    ]


def test_pid_30_n_beside_a_death_date_is_not_carried_and_says_so() -> None:
    pid = PID_DIED.replace("|Y", "|N")
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert patient["deceasedDateTime"] == "2026-11-25T06:12:00-05:00"
    assert _unmapped_at(conversion, "MSG[1]/PID[1]-30") == [
        (
            "PID-30 death indicator 'N' (not deceased) is not carried: PID-29 gives a date of "
            "death, '20261125061200-0500', which is used"
        )
    ]


@pytest.mark.parametrize(
    ("died", "said"),
    [
        ("19601125061200-0500", "1960-11-25T06:12:00-05:00"),  # a year's digit mistyped
        ("1960", "1960"),
    ],
)
@pytest.mark.parametrize("indicator", ["Y", ""])
@pytest.mark.parametrize("version", ["R4", "R5"])
def test_pid_29_death_before_pid_7_birth_is_not_written_and_says_so(
    died: str, said: str, version: Literal["R4", "R5"], indicator: str
) -> None:
    # PID-7 19610719 and a PID-29 before it: a Patient who died before he was born was
    # written as sent, without a word. The date is not written; the death is: PID-30 Y says
    # so, as the PID-29 sent does (the V2-to-FHIR IG maps PID-30 to deceasedBoolean when
    # PID-29 is not valued). Without it, the Patient read as alive, PID-30 Y lost unsaid.
    pid = PID_DIED.replace("20261125061200-0500|Y", f"{died}|{indicator}")
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (patient,) = _resources(bundle, "Patient")
    assert patient["birthDate"] == "1961-07-19"
    assert "deceasedDateTime" not in patient
    assert patient["deceasedBoolean"] is True
    assert [
        (i.severity, i.code, i.text) for i in conversion.issues if i.location == "MSG[1]/PID[1]-29"
    ] == [
        (
            leukoflag.Severity.WARNING,
            "fhir.death-before-birth",
            (
                f"PID-29 death date and time {said} is before PID-7 birth date 1961-07-19: one "
                "of them is wrong, and which is not known; deceasedDateTime not written, the "
                "death written as deceasedBoolean true"
            ),
        )
    ]


def test_pid_29_death_on_the_day_of_birth_is_written() -> None:
    # a newborn who died the day he was born: the date of birth and a time of death that day
    pid = PID_DIED.replace("19610719", "20261124").replace("20261125061200", "20261124231500")
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert patient["deceasedDateTime"] == "2026-11-24T23:15:00-05:00"
    assert "fhir.death-before-birth" not in {i.code for i in conversion.issues}


def test_pid_30_sent_with_its_table_text_or_repeated_is_read_from_its_code() -> None:
    # A lab sending PID-30 as a coded value of table 0136 ('Y^Yes^HL70136'), or repeated: the
    # death was lost ('not in HL7 table 0136') though its code is Y.
    pid = PID_DIED.replace("20261125061200-0500|Y", "|Y^Yes^HL70136")
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert patient["deceasedBoolean"] is True
    assert {
        i.location: i.text for i in conversion.issues if i.location.startswith("MSG[1]/PID[1]-30")
    } == {
        "MSG[1]/PID[1]-30.2": "PID-30.2 is not carried (an ID: its code is read): 'Yes'",
        "MSG[1]/PID[1]-30.3": "PID-30.3 is not carried (an ID: its code is read): 'HL70136'",
    }
    pid = PID_DIED.replace("20261125061200-0500|Y", "|~Y~N")
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert patient["deceasedBoolean"] is True
    assert _unmapped_at(conversion, "MSG[1]/PID[1]-30") == []
    assert [(i.code, i.text) for i in conversion.issues if i.location == "MSG[1]/PID[1]-30"] == [
        ("hl7v2.repetition-unmapped", "PID-30 repetitions after the first are not carried: 'N'")
    ]


# A woman registered under her maiden name whose LIS sends that name first (XPN.7 M) and her
# legal name, the one on her wristband, second (XPN.7 L): HL7 v2 (PID-5) wants the legal name
# first, and table 0200 says which repetition is which.
PID_MAIDEN_FIRST = (
    "PID|1||MRN100872^^^RIVERSIDE^MR||NOWAK^EWA^^^^^M~KOWALCZYK^EWA^M^^MRS^^L||19720409|F"
)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_pid_5_legal_name_sent_after_another_name_is_the_patients_name(
    version: Literal["R4", "R5"],
) -> None:
    bundle, conversion = _convert(
        message(PID_MAIDEN_FIRST, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), version
    )
    (patient,) = _resources(bundle, "Patient")
    assert patient["name"] == [
        {"use": "official", "family": "KOWALCZYK", "given": ["EWA", "M"], "prefix": ["MRS"]},
        {"use": "maiden", "family": "NOWAK", "given": ["EWA"]},
    ]
    assert _pid_5_issues(conversion) == []


def test_pid_5_legal_name_sent_first_is_read_as_before() -> None:
    pid = "PID|1||MRN100872^^^RIVERSIDE^MR||KOWALCZYK^EWA^^^^^L~NOWAK^EWA^^^^^M||19720409|F"
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert patient["name"] == [
        {"use": "official", "family": "KOWALCZYK", "given": ["EWA"]},
        {"use": "maiden", "family": "NOWAK", "given": ["EWA"]},
    ]
    assert _pid_5_issues(conversion) == []


@pytest.mark.parametrize(
    ("legal", "quoted"),
    [("^^^^^^L", "^^^^^^L"), ('""^^^^^^L', "^^^^^^L"), ("^^^^MRS^^L", "^^^^MRS^^L")],
)
@pytest.mark.parametrize("version", ["R4", "R5"])
def test_pid_5_legal_name_type_sent_without_a_name_does_not_hide_the_name_sent(
    legal: str, quoted: str, version: Literal["R4", "R5"]
) -> None:
    # A LIS whose template always sends a legal-name slot (XPN.7 L) after the name it holds,
    # empty or with HL7's null "" for a patient registered under her maiden name alone: the
    # Patient had no name at all, 'NOWAK^EWA^^^^^M' only quoted in hl7v2.repetition-unmapped.
    # A name type is no name: the name sent is the patient's, as before 42e8c15.
    pid = f"PID|1||MRN100872^^^RIVERSIDE^MR||NOWAK^EWA^^^^^M~{legal}||19720409|F"
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (patient,) = _resources(bundle, "Patient")
    assert patient["name"] == [{"use": "maiden", "family": "NOWAK", "given": ["EWA"]}]
    assert _pid_5_issues(conversion) == [
        (
            "hl7v2.repetition-unmapped",
            "MSG[1]/PID[1]-5",
            f"PID-5 repetitions that hold no name (XPN.1-3) are not carried: {quoted!r}",
        ),
    ]


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_pid_5_every_name_sent_is_written_with_its_use_the_patients_first(
    version: Literal["R4", "R5"],
) -> None:
    # A woman known by her legal name, her maiden name and a nickname: the V2-to-FHIR IG maps
    # every PID-5 repetition to Patient.name, XPN.7 (table 0200) to HumanName.use through its
    # ConceptMap table-hl70200-to-name-use. Only one was written, the others "not carried".
    pid = (
        "PID|1||MRN100872^^^RIVERSIDE^MR||NOWAK^EWA^^^^^M~KOWALCZYK^EWA^M^^MRS^^L~"
        "^EVA^^^^^N||19720409|F"
    )
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (patient,) = _resources(bundle, "Patient")
    assert patient["name"] == [
        {"use": "official", "family": "KOWALCZYK", "given": ["EWA", "M"], "prefix": ["MRS"]},
        {"use": "maiden", "family": "NOWAK", "given": ["EWA"]},
        {"use": "nickname", "given": ["EVA"]},
    ]
    assert _pid_5_issues(conversion) == []


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_pid_5_suffix_prefix_and_degree_are_the_names_suffix_and_prefix(
    version: Literal["R4", "R5"],
) -> None:
    # A retired physician registered as 'Dr Daniel C. Okafor Jr., PhD', and known by his late
    # father's practice name: the V2-to-FHIR IG XPN[HumanName] maps XPN.4 (suffix) and XPN.6
    # (degree) to HumanName.suffix, XPN.5 (prefix) to HumanName.prefix. They were each
    # 'not carried', the names written without them.
    pid = (
        "PID|1||MRN100871^^^RIVERSIDE^MR||OKAFOR^DANIEL^C^JR^DR^PHD^L~"
        "OKAFOR^DANIEL^^III^^MD^A||19610719|M"
    )
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (patient,) = _resources(bundle, "Patient")
    assert patient["name"] == [
        {
            "use": "official",
            "family": "OKAFOR",
            "given": ["DANIEL", "C"],
            "prefix": ["DR"],
            "suffix": ["JR", "PHD"],
        },
        {"family": "OKAFOR", "given": ["DANIEL"], "suffix": ["III", "MD"]},
    ]
    assert [location for _, location, _ in _pid_5_issues(conversion)] == ["MSG[1]/PID[1]-5[2].7"]


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_pid_5_name_sent_again_unchanged_is_written_once(version: Literal["R4", "R5"]) -> None:
    # A registration system that sends the legal name in every slot its template has, and
    # the maiden name twice: the Patient had five names, three of them the same official one.
    # A name sent again with the same parts and use says nothing more; the order is kept, and
    # the same name with another use (usual) is another name.
    pid = (
        "PID|1||MRN100872^^^RIVERSIDE^MR||KOWALCZYK^EWA^M^^MRS^^L~NOWAK^EWA^^^^^M~"
        "KOWALCZYK^EWA^M^^MRS^^L~NOWAK^EWA^^^^^M~KOWALCZYK^EWA^M^^MRS^^L~KOWALCZYK^EWA^^^^^D"
        "||19720409|F"
    )
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (patient,) = _resources(bundle, "Patient")
    assert patient["name"] == [
        {"use": "official", "family": "KOWALCZYK", "given": ["EWA", "M"], "prefix": ["MRS"]},
        {"use": "maiden", "family": "NOWAK", "given": ["EWA"]},
        {"use": "usual", "family": "KOWALCZYK", "given": ["EWA"]},
    ]
    assert _pid_5_issues(conversion) == []


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_an_identifier_address_or_phone_number_sent_again_unchanged_is_written_once(
    version: Literal["R4", "R5"],
) -> None:
    # A registration system that copies the MRN into PID-2 and repeats it in PID-3, and sends
    # the home number and address twice: the Patient had the MRN three times, the number and
    # the address twice. One sent again with every part the same says nothing more; the same
    # number with another use (work) is kept, and the order is kept.
    pid = (
        "PID|1|MRN100871^^^RIVERSIDE^MR|MRN100871^^^RIVERSIDE^MR~D4410287^^^IL^DL~"
        "MRN100871^^^RIVERSIDE^MR||OKAFOR^DANIEL^C||19610719|M|||"
        "12 ELM ST^^MADISON^WI^53703^USA^H~12 ELM ST^^MADISON^WI^53703^USA^H||"
        "(608)555-0100^PRN^PH~(608)555-0100^PRN^PH|(608)555-0100^WPN^PH"
    )
    bundle, _ = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (patient,) = _resources(bundle, "Patient")
    assert [i["value"] for i in patient["identifier"]] == ["MRN100871", "D4410287"]
    assert [a["line"] for a in patient["address"]] == [["12 ELM ST"]]
    assert patient["telecom"] == [
        {"system": "phone", "value": "(608)555-0100", "use": "home"},
        {"system": "phone", "value": "(608)555-0100", "use": "work"},
    ]


def test_pid_3_identifier_sent_again_with_another_period_is_kept() -> None:
    pid = (
        "PID|1||D4410287^^^IL^DL^^20190301^20230301~D4410287^^^IL^DL^^20230301^20270301||"
        "OKAFOR^DANIEL^C||19610719|M"
    )
    bundle, _ = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert [i["period"] for i in patient["identifier"]] == [
        {"start": "2019-03-01", "end": "2023-03-01"},
        {"start": "2023-03-01", "end": "2027-03-01"},
    ]


def test_pid_5_prefix_of_a_repetition_without_a_name_is_still_said_not_carried() -> None:
    pid = "PID|1||MRN100871^^^RIVERSIDE^MR||^^^^DR||19610719|M"
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert "name" not in patient
    assert _pid_5_issues(conversion) == [
        (
            "hl7v2.component-unmapped",
            "MSG[1]/PID[1]-5.5",
            (
                "PID-5.5 (name suffix, prefix or degree) is not carried: 'DR': the repetition "
                "holds no name"
            ),
        ),
    ]


def test_pid_5_name_type_the_ig_does_not_map_is_an_issue_at_its_component() -> None:
    pid = "PID|1||MRN100872^^^RIVERSIDE^MR||KOWALCZYK^EWA^^^^^L~NOWAK^EWA^^^^^B||19720409|F"
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert patient["name"] == [
        {"use": "official", "family": "KOWALCZYK", "given": ["EWA"]},
        {"family": "NOWAK", "given": ["EWA"]},
    ]
    assert _pid_5_issues(conversion) == [
        (
            "hl7v2.component-unmapped",
            "MSG[1]/PID[1]-5[2].7",
            (
                "PID-5[2].7 name type 'B' is not one the V2-to-FHIR IG maps to HumanName.use "
                "(HL7 table 0200): the name written without a use"
            ),
        )
    ]


# An oncology outpatient referred by her GP (PV1-8), seen by a haematology consultant (PV1-9),
# admitted by the oncologist on call (PV1-17), under the attending (PV1-7).
PV1_DOCTORS = (
    "PV1|1|O|ONC^12^B^RIVERSIDE||||5820^VARGA^ILONA^^^DR^MD|4471^BRENNAN^PAUL^^^DR|"
    "6120^ADEYEMI^TOLU^^^DR^MD~6133^LINDQVIST^EVA^^^DR||||||||6002^MORALES^ANA^^^DR^MD||"
    "V7788^^^RIVERSIDE^VN"
)


def _participant_type(kind: str, display: str) -> list[dict[str, Any]]:
    system = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
    return [{"coding": [{"system": system, "code": kind, "display": display}]}]


@pytest.mark.parametrize(("version", "role"), [("R4", "individual"), ("R5", "actor")])
def test_pv1_doctors_are_encounter_participants_of_their_type(
    version: Literal["R4", "R5"], role: str
) -> None:
    assert [PV1_DOCTORS.split("|")[n][:4] for n in (7, 8, 9, 17, 19)] == [
        "5820", "4471", "6120", "6002", "V778"
    ]  # fmt: skip
    bundle, conversion = _convert(message(PID, PV1_DOCTORS, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (encounter,) = _resources(bundle, "Encounter")
    assert encounter["participant"] == [
        {
            "type": _participant_type("ATND", "attender"),
            role: {"display": "DR ILONA VARGA, MD (5820)"},
        },
        {"type": _participant_type("REF", "referrer"), role: {"display": "DR PAUL BRENNAN (4471)"}},
        {
            "type": _participant_type("CON", "consultant"),
            role: {"display": "DR TOLU ADEYEMI, MD (6120)"},
        },
        {
            "type": _participant_type("CON", "consultant"),
            role: {"display": "DR EVA LINDQVIST (6133)"},
        },
        {
            "type": _participant_type("ADM", "admitter"),
            role: {"display": "DR ANA MORALES, MD (6002)"},
        },
    ]
    assert _unmapped_at(conversion, "MSG[1]/PV1[1]") == []


@pytest.mark.parametrize(("version", "role"), [("R4", "individual"), ("R5", "actor")])
def test_pv1_7_attending_doctors_after_the_first_are_encounter_participants(
    version: Literal["R4", "R5"], role: str
) -> None:
    # PV1-7 repeats (XCN, one repetition per attending): a handover between two attendings
    # kept the first and dropped the second as hl7v2.repetition-unmapped, though the V2-to-FHIR
    # IG maps each to an Encounter.participant of type ATND.
    fields = PV1_DOCTORS.split("|")
    fields[7] += "~~5871^HALVORSEN^INGRID^^^DR^MD"
    bundle, conversion = _convert(
        message(PID, "|".join(fields), ORC, OBR, WBC_SIGNED_OUT, SPM), version
    )
    (encounter,) = _resources(bundle, "Encounter")
    assert [
        (p["type"][0]["coding"][0]["code"], p[role]["display"]) for p in encounter["participant"]
    ] == [
        ("ATND", "DR ILONA VARGA, MD (5820)"),
        ("ATND", "DR INGRID HALVORSEN, MD (5871)"),
        ("REF", "DR PAUL BRENNAN (4471)"),
        ("CON", "DR TOLU ADEYEMI, MD (6120)"),
        ("CON", "DR EVA LINDQVIST (6133)"),
        ("ADM", "DR ANA MORALES, MD (6002)"),
    ]
    assert [i for i in conversion.issues if i.location.startswith("MSG[1]/PV1[1]")] == []
    # alone, without PV1-8, -9 or -17
    pv1 = PV1.replace("5820^VARGA^ILONA^^^DR^MD", "5820^VARGA^ILONA^^^DR^MD~5871^HALVORSEN^INGRID")
    bundle, conversion = _convert(message(PID, pv1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (encounter,) = _resources(bundle, "Encounter")
    assert [p[role]["display"] for p in encounter["participant"]] == [
        "DR ILONA VARGA, MD (5820)",
        "INGRID HALVORSEN (5871)",
    ]
    assert [i for i in conversion.issues if i.location.startswith("MSG[1]/PV1[1]")] == []


def _obr_section(section: str) -> str:
    fields = OBR.split("|")
    fields[24] = section
    return "|".join(fields)


@pytest.mark.parametrize("version", ["R4", "R5"])
@pytest.mark.parametrize("section", ["HM", "hm"])
def test_obr_24_service_section_is_the_reports_category(
    version: Literal["R4", "R5"], section: str
) -> None:
    data = message(PID, PV1, ORC, _obr_section(section), WBC_SIGNED_OUT, SPM)
    bundle, conversion = _convert(data, version)
    (report,) = _resources(bundle, "DiagnosticReport")
    system = "http://terminology.hl7.org/CodeSystem/v2-0074"
    assert report["category"] == [
        {"coding": [{"system": system, "code": "HM", "display": "Hematology"}]}
    ]
    assert [i for i in conversion.issues if i.location.startswith("MSG[1]/OBR[1]-24")] == []


def test_obr_24_outside_table_0074_is_the_reports_category_text() -> None:
    data = message(PID, PV1, ORC, _obr_section("HEME^Haematology"), WBC_SIGNED_OUT, SPM)
    bundle, conversion = _convert(data, "R4")
    (report,) = _resources(bundle, "DiagnosticReport")
    assert report["category"] == [{"text": "HEME"}]
    assert [
        (i.code, i.location, i.text)
        for i in conversion.issues
        if i.location.startswith("MSG[1]/OBR[1]-24")
    ] == [
        (
            "hl7v2.component-unmapped",
            "MSG[1]/OBR[1]-24.2",
            "OBR-24.2 is not carried (an ID: its code is read): 'Haematology'",
        ),
        (
            "fhir.service-section-unknown",
            "MSG[1]/OBR[1]-24",
            (
                "diagnostic service section 'HEME' is not in HL7 table 0074: "
                "DiagnosticReport.category written as its text only"
            ),
        ),
    ]


def test_obr_24_sent_repeated_is_the_reports_category_of_its_first_code() -> None:
    # OBR-24 does not repeat; a LIS sending two sections ('HM~CH') got a category of text
    # 'HM~CH' and 'not in HL7 table 0074', though each is a code of the table.
    data = message(PID, PV1, ORC, _obr_section("~HM~CH"), WBC_SIGNED_OUT, SPM)
    bundle, conversion = _convert(data, "R4")
    (report,) = _resources(bundle, "DiagnosticReport")
    system = "http://terminology.hl7.org/CodeSystem/v2-0074"
    assert report["category"] == [
        {"coding": [{"system": system, "code": "HM", "display": "Hematology"}]}
    ]
    assert [
        (i.code, i.location, i.text)
        for i in conversion.issues
        if i.location.startswith("MSG[1]/OBR[1]-24")
    ] == [
        (
            "hl7v2.repetition-unmapped",
            "MSG[1]/OBR[1]-24",
            "OBR-24 repetitions after the first are not carried: 'CH'",
        )
    ]


def test_a_sex_class_or_status_sent_as_a_coded_value_says_its_text_is_not_carried() -> None:
    # An interface engine that expands every coded field to code^text^table (as v2.7 makes
    # PID-8 and PV1-2 CWE): the code of each is read, and its text and table were lost without a
    # word, where PID-30, OBR-24 and OBX-29 sent so say they are not carried.
    pid = PID.replace("|19610719|M", "|19610719|M^Male^HL70001")
    pv1 = PV1.replace("PV1|1|O|", "PV1|1|I^Inpatient^HL70004|")
    orc = ORC.replace("|CM", "|CM^Completed^HL70038")
    obr = OBR.replace("|||F", "|||F^Final^HL70123")
    bundle, conversion = _convert(message(pid, pv1, orc, obr, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    (encounter,) = _resources(bundle, "Encounter")
    (request,) = _resources(bundle, "ServiceRequest")
    (report,) = _resources(bundle, "DiagnosticReport")
    assert (patient["gender"], encounter["class"]["code"]) == ("male", "IMP")
    assert (request["status"], report["status"]) == ("completed", "final")
    why = "is not carried (its code is read)"
    assert [
        (i.location, i.text) for i in conversion.issues if i.code == "hl7v2.component-unmapped"
    ] == [
        ("MSG[1]/PID[1]-8.2", f"PID-8.2 {why}: 'Male'"),
        ("MSG[1]/PID[1]-8.3", f"PID-8.3 {why}: 'HL70001'"),
        ("MSG[1]/PV1[1]-2.2", f"PV1-2.2 {why}: 'Inpatient'"),
        ("MSG[1]/PV1[1]-2.3", f"PV1-2.3 {why}: 'HL70004'"),
        ("MSG[1]/ORC[1]-5.2", f"ORC-5.2 {why}: 'Completed'"),
        ("MSG[1]/ORC[1]-5.3", f"ORC-5.3 {why}: 'HL70038'"),
        ("MSG[1]/OBR[1]-25.2", f"OBR-25.2 {why}: 'Final'"),
        ("MSG[1]/OBR[1]-25.3", f"OBR-25.3 {why}: 'HL70123'"),
    ]


@pytest.mark.parametrize(
    ("obx_11", "status"), [("F^Final^HL70085", "final"), ("C^Corrected^HL70085", "corrected")]
)
def test_a_result_status_sent_as_a_coded_value_says_its_text_is_not_carried(
    obx_11: str, status: str
) -> None:
    # OBX-11 expanded to code^text^table by the same interface engine as OBR-25: the code is read,
    # and its text and table were lost without a word, where OBR-25's say they are not carried.
    obx = WBC_SIGNED_OUT.replace("|L|||F|||", f"|L|||{obx_11}|||")
    bundle, conversion = _convert(message(PID, PV1, ORC, OBR, obx, SPM), "R4")
    (observation,) = _resources(bundle, "Observation")
    assert observation["status"] == status
    _, text, table = obx_11.split("^")
    why = "is not carried (its code is read)"
    assert [
        (i.location, i.text) for i in conversion.issues if i.code == "hl7v2.component-unmapped"
    ] == [
        ("MSG[1]/OBX[1]-11.2", f"OBX-11.2 {why}: '{text}'"),
        ("MSG[1]/OBX[1]-11.3", f"OBX-11.3 {why}: '{table}'"),
    ]


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_obx_21_instance_identifier_is_the_observations_identifier(
    version: Literal["R4", "R5"],
) -> None:
    # The LIS's id of this WBC result (OBX-21, EI), which its corrections keep.
    fields = WBC_SIGNED_OUT.split("|")
    fields[21] = "RS-R-88164-1^CORELAB^2.16.840.1.113883.3.8821.4^ISO"
    data = message(PID, PV1, ORC, OBR, "|".join(fields), SPM)
    bundle, conversion = _convert(data, version)
    (observation,) = _resources(bundle, "Observation")
    assert observation["identifier"] == [
        {
            "system": "urn:oid:2.16.840.1.113883.3.8821.4",
            "value": "RS-R-88164-1",
            "assigner": {"display": "CORELAB"},
        }
    ]
    assert [i for i in conversion.issues if i.location.startswith("MSG[1]/OBX[1]-21")] == []


def _pv1_stay(admitted: str, discharged: str) -> str:
    fields = PV1.split("|") + [""] * 30
    fields[44], fields[45] = admitted, discharged
    return "|".join(fields[:46])


@pytest.mark.parametrize(("version", "element"), [("R4", "period"), ("R5", "actualPeriod")])
def test_pv1_44_and_45_admission_and_discharge_are_the_encounters_period(
    version: Literal["R4", "R5"], element: str
) -> None:
    # An inpatient admitted on the 22nd and discharged on the 24th, after the CBC.
    pv1 = _pv1_stay("202611221430-0500", "20261124163000-0500").replace("|O|", "|I|", 1)
    bundle, conversion = _convert(message(PID, pv1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (encounter,) = _resources(bundle, "Encounter")
    assert encounter[element] == {
        "start": "2026-11-22T14:30:00-05:00",
        "end": "2026-11-24T16:30:00-05:00",
    }
    assert _unmapped_at(conversion, "MSG[1]/PV1[1]-4") == []


@pytest.mark.parametrize(("version", "ended"), [("R4", "finished"), ("R5", "completed")])
def test_a_visit_sent_with_its_discharge_time_is_an_encounter_that_has_ended(
    version: Literal["R4", "R5"], ended: str
) -> None:
    # PV1-45 says the patient was discharged: the visit is over, which FHIR calls finished in
    # R4 and completed in R5 (R4/R5 EncounterStatus maps); 'unknown' is a value of last resort.
    pv1 = _pv1_stay("202611221430-0500", "20261124163000-0500").replace("|O|", "|I|", 1)
    bundle, _ = _convert(message(PID, pv1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (encounter,) = _resources(bundle, "Encounter")
    assert encounter["status"] == ended
    assert fhir.validate(bundle, version) == []


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_a_visit_without_a_discharge_time_written_has_an_unknown_status(
    version: Literal["R4", "R5"],
) -> None:
    # admitted only, or a discharge before the admission (left out): whether it is over is unknown
    for admitted, discharged in (
        ("202611221430-0500", ""),
        ("20261124080000-0500", "20261122080000-0500"),
    ):
        pv1 = _pv1_stay(admitted, discharged)
        bundle, _ = _convert(message(PID, pv1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
        (encounter,) = _resources(bundle, "Encounter")
        assert encounter["status"] == "unknown"


def test_pv1_45_before_pv1_44_is_left_out_with_a_warning() -> None:
    pv1 = _pv1_stay("20261124080000-0500", "20261122080000-0500")
    bundle, conversion = _convert(message(PID, pv1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (encounter,) = _resources(bundle, "Encounter")
    assert encounter["period"] == {"start": "2026-11-24T08:00:00-05:00"}
    (inverted,) = [i for i in conversion.issues if i.code == "fhir.period-inverted"]
    assert inverted.location == "MSG[1]/PV1[1]-45"


def _obr_collected_by(collector: str) -> str:
    fields = OBR.split("|")
    fields[10] = collector
    return "|".join(fields)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_obr_10_collector_is_the_specimens_collector(version: Literal["R4", "R5"]) -> None:
    # The phlebotomist who drew the tube (OBR-10, XCN).
    obr = _obr_collected_by("PB117^QUINTERO^LUZ^^^^CPT")
    bundle, conversion = _convert(message(PID, PV1, ORC, obr, WBC_SIGNED_OUT, SPM), version)
    (specimen,) = _resources(bundle, "Specimen")
    assert specimen["collection"]["collector"] == {"display": "LUZ QUINTERO, CPT (PB117)"}
    assert specimen["collection"]["collectedDateTime"] == "2026-11-24T08:05:00-05:00"
    assert [i for i in conversion.issues if i.location.startswith("MSG[1]/OBR[1]-10")] == []


def test_obr_10_collector_of_an_order_without_specimen_is_an_issue() -> None:
    obr = _obr_collected_by("PB117^QUINTERO^LUZ^^^^CPT")
    bundle, conversion = _convert(message(PID, PV1, ORC, obr, WBC_SIGNED_OUT), "R4")
    assert _resources(bundle, "Specimen") == []
    assert [(i.code, i.text) for i in conversion.issues if i.location == "MSG[1]/OBR[1]-10"] == [
        (
            "fhir.collector-not-written",
            (
                "OBR-10 collector 'LUZ QUINTERO, CPT (PB117)' is not written: the order has no "
                "specimen (no SPM, no OBR-15) whose collection it could name"
            ),
        )
    ]


def test_obr_10_collector_is_the_collector_of_the_obr_15_specimen() -> None:
    # A v2.3 order without SPM: OBR-15 is its specimen, collected by the OBR-10 phlebotomist.
    fields = _obr_collected_by("PB117^QUINTERO^LUZ").split("|")
    fields[15] = "BLDV&Blood venous&HL70070"
    bundle, conversion = _convert(message(PID, PV1, ORC, "|".join(fields), WBC_SIGNED_OUT), "R4")
    (specimen,) = _resources(bundle, "Specimen")
    assert specimen["collection"] == {
        "collectedDateTime": "2026-11-24T08:05:00-05:00",
        "collector": {"display": "LUZ QUINTERO (PB117)"},
    }
    assert [i for i in conversion.issues if i.location.startswith("MSG[1]/OBR[1]-1")] == []


# A specimen sent without its collection time (SPM-17), the draw time in OBR-7 only.
SPM_UNTIMED = "SPM|1|SP7790^CORELAB||BLDV^Blood, venous^HL70487|||||||P^Patient^HL70369"


@pytest.mark.parametrize("version", ["R4", "R5"])
@pytest.mark.parametrize(
    ("ended", "collection"),
    [
        ("", {"collectedDateTime": "2026-11-24T08:05:00-05:00"}),
        (
            "20261124081000-0500",
            {
                "collectedPeriod": {
                    "start": "2026-11-24T08:05:00-05:00",
                    "end": "2026-11-24T08:10:00-05:00",
                }
            },
        ),
        ("20261124070000-0500", {"collectedDateTime": "2026-11-24T08:05:00-05:00"}),
    ],
)
def test_obr_7_is_the_collection_time_of_a_specimen_sent_without_spm_17(
    ended: str, collection: dict[str, Any], version: Literal["R4", "R5"]
) -> None:
    # The Specimen had no collection time at all, though the V2-to-FHIR IG OBR[Specimen] maps
    # OBR-7 (to OBR-8 when valued) to Specimen.collection.collected[x], as it maps OBR-14 to
    # its receivedTime; an OBR-8 before OBR-7 (fhir.period-inverted) is left out here too.
    obr = OBR.replace("|20261124080500-0500|||", f"|20261124080500-0500|{ended}||")
    bundle, _ = _convert(message(PID, PV1, ORC, obr, WBC_SIGNED_OUT, SPM_UNTIMED), version)
    (specimen,) = _resources(bundle, "Specimen")
    assert specimen["collection"] == collection


def test_spm_17_sent_is_the_collection_time_not_obr_7() -> None:
    obr = OBR.replace("|20261124080500-0500|||", "|20261124080000-0500|||")
    bundle, _ = _convert(message(PID, PV1, ORC, obr, WBC_SIGNED_OUT, SPM), "R4")
    (specimen,) = _resources(bundle, "Specimen")
    assert specimen["collection"] == {"collectedDateTime": "2026-11-24T08:05:00-05:00"}


_DRAWN = "'2026-11-24T08:05:00-05:00'"  # OBR-7 as FHIR writes it


@pytest.mark.parametrize(
    ("ended", "instead", "collection"),
    [
        (
            "",
            "the Specimen's collection time is its order's OBR-7 instead, " + _DRAWN,
            {"collectedDateTime": "2026-11-24T08:05:00-05:00"},
        ),
        (
            "20261124081000-0500",
            (
                f"the Specimen's collection time is its order's OBR-7 to OBR-8 instead, {_DRAWN} "
                "to '2026-11-24T08:10:00-05:00'"
            ),
            {
                "collectedPeriod": {
                    "start": "2026-11-24T08:05:00-05:00",
                    "end": "2026-11-24T08:10:00-05:00",
                }
            },
        ),
        (  # OBR-8 before OBR-7 (fhir.period-inverted): the start alone
            "20261124070000-0500",
            "the Specimen's collection time is its order's OBR-7 instead, " + _DRAWN,
            {"collectedDateTime": "2026-11-24T08:05:00-05:00"},
        ),
    ],
)
def test_an_invalid_spm_17_says_the_specimen_is_collected_at_obr_7_instead(
    ended: str, instead: str, collection: dict[str, Any]
) -> None:
    # SPM-17 keyed with month 13 is left out, and the Specimen then takes its order's OBR-7 (as
    # an OBX-14 left out does, whose Issue says so): the Issue at SPM-17 said nothing of it.
    obr = OBR.replace("|20261124080500-0500|||", f"|20261124080500-0500|{ended}||")
    spm = SPM.replace("|20261124080500-0500|", "|20261324080500-0500|")
    bundle, conversion = _convert(message(PID, PV1, ORC, obr, WBC_SIGNED_OUT, spm), "R4")
    (specimen,) = _resources(bundle, "Specimen")
    assert specimen["collection"] == collection
    (issue,) = [i for i in conversion.issues if i.location == "MSG[1]/SPM[1]-17"]
    assert issue.code == "hl7v2.timestamp-invalid"
    assert issue.text.endswith(f"; {instead}")


def test_an_invalid_spm_17_beside_an_invalid_obr_7_says_the_specimen_has_no_collection_time() -> (
    None
):
    obr = OBR.replace("|20261124080500-0500|||", "|20261124250500-0500|||")
    spm = SPM.replace("|20261124080500-0500|", "|20261324080500-0500|")
    bundle, conversion = _convert(message(PID, PV1, ORC, obr, WBC_SIGNED_OUT, spm), "R4")
    (specimen,) = _resources(bundle, "Specimen")
    assert "collection" not in specimen
    (issue,) = [i for i in conversion.issues if i.location == "MSG[1]/SPM[1]-17"]
    assert issue.text.endswith(
        "; the Specimen has no collection time (its order's OBR-7 gives none)"
    )


def _collector_lines(orders: int) -> int:
    """The lines the writer runs to name the collectors of ``orders`` orders, each with its
    OBR-10 and its SPM (a day's CBCs of one ward sent as one message)."""
    segments = [PID, PV1]
    for n in range(1, orders + 1):
        fields = _obr_collected_by("PB117^QUINTERO^LUZ").split("|")
        fields[1], fields[2], fields[3] = str(n), f"ORD{n}^EHR", f"LAB{n}^CORELAB"
        segments += ["|".join(fields), WBC_SIGNED_OUT, SPM.replace("SP7790", f"SP{n}")]
    text = message(*segments)
    lines = 0

    def local(frame: FrameType, event: str, arg: object) -> TraceFunction:
        nonlocal lines
        lines += event == "line"
        return local

    def calls(frame: FrameType, event: str, arg: object) -> TraceFunction | None:
        return local if frame.f_code.co_name == "specimen_collector" else None

    previous = sys.gettrace()  # a coverage tool's or debugger's, put back after
    sys.settrace(calls)
    try:
        conversion = leukoflag.convert(text)
    finally:
        sys.settrace(previous)
    specimens = _resources(conversion.bundles[0], "Specimen")
    assert [s["collection"]["collector"]["display"] for s in specimens] == [
        "LUZ QUINTERO (PB117)"
    ] * orders
    return lines


def test_the_collectors_of_many_orders_take_lines_linear_in_them() -> None:
    # Each order's collector was set by a pass over every entry of the Bundle so far: 4,000
    # orders took 26 s instead of 1.5 s.
    assert _collector_lines(400) <= 2.05 * _collector_lines(200)


def _pid_at(address: str) -> str:
    fields = PID.split("|") + [""] * 3
    fields[11] = address
    return "|".join(fields[:12])


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_pid_11_addresses_are_the_patients_addresses(version: Literal["R4", "R5"]) -> None:
    # A home address with an apartment (XAD.2) and county (XAD.9), then a mailing address: the
    # street's SAD.2/.3 (street name, dwelling number) are not carried, and said so.
    home = "4821 LAKEVIEW DR&LAKEVIEW DR&4821^APT 2B^MADISON^WI^53704-1120^USA^H^^025"
    bundle, conversion = _convert(
        message(
            _pid_at(f"{home}~PO BOX 118^^MADISON^WI^53701^USA^M"), PV1, ORC, OBR, WBC_SIGNED_OUT
        ),
        version,
    )
    (patient,) = _resources(bundle, "Patient")
    assert patient["address"] == [
        {
            "use": "home",
            "line": ["4821 LAKEVIEW DR", "APT 2B"],
            "city": "MADISON",
            "district": "025",
            "state": "WI",
            "postalCode": "53704-1120",
            "country": "USA",
        },
        {
            "type": "postal",
            "line": ["PO BOX 118"],
            "city": "MADISON",
            "state": "WI",
            "postalCode": "53701",
            "country": "USA",
        },
    ]
    assert _unmapped_at(conversion, "MSG[1]/PID[1]-11") == [
        "PID-11.1.2 is not carried: 'LAKEVIEW DR'",
        "PID-11.1.3 is not carried: '4821'",
    ]


def test_pid_11_escapes_empty_repetitions_and_types_the_ig_does_not_map() -> None:
    # An empty first repetition, an escaped '&' in the street, a legal address (L: no
    # Address.use for it) with an effective date, and a repetition that is only a type.
    bundle, conversion = _convert(
        message(
            _pid_at("~12 O\\T\\BRIEN ST^^CORK^^^IRL^L^^^^^^20200101~^^^^^^H"),
            PV1,
            ORC,
            OBR,
            WBC_SIGNED_OUT,
        ),
        "R4",
    )
    (patient,) = _resources(bundle, "Patient")
    assert patient["address"] == [{"line": ["12 O&BRIEN ST"], "city": "CORK", "country": "IRL"}]
    assert [(i.location, i.text) for i in conversion.issues if "PID[1]-11" in i.location] == [
        (
            "MSG[1]/PID[1]-11[2].7",
            (
                "PID-11[2].7 address type 'L' is not one the V2-to-FHIR IG maps to Address.use "
                "or Address.type (HL7 table 0190): not carried"
            ),
        ),
        ("MSG[1]/PID[1]-11[2].13", "PID-11[2].13 is not carried: '20200101'"),
        (
            "MSG[1]/PID[1]-11[3].7",
            (
                "PID-11[3].7 address type 'H' is not carried: the address has no street, city, "
                "district, state, postal code or country"
            ),
        ),
    ]


def test_pid_11_sent_as_a_null_writes_no_address() -> None:
    bundle, conversion = _convert(message(_pid_at('""'), PV1, ORC, OBR, WBC_SIGNED_OUT), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert "address" not in patient
    assert [i for i in conversion.issues if "PID[1]-11" in i.location] == []


def _pid_phoned(home: str, business: str) -> str:
    fields = PID.split("|") + [""] * 6
    fields[13], fields[14] = home, business
    return "|".join(fields[:15])


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_pid_13_and_14_phone_numbers_are_the_patients_telecom(
    version: Literal["R4", "R5"],
) -> None:
    # v2.5.1 home number in XTN.1, an email address (XTN.4, its '&' escaped), and a work
    # number sent in parts (XTN.5-8, as v2.7 sends every number).
    home = "(608)555-0142^PRN^PH~^NET^Internet^d.okafor\\T\\family@example.org"
    bundle, conversion = _convert(
        message(_pid_phoned(home, "^WPN^PH^^1^608^5550199^214"), PV1, ORC, OBR, WBC_SIGNED_OUT),
        version,
    )
    (patient,) = _resources(bundle, "Patient")
    assert patient["telecom"] == [
        {"system": "phone", "value": "(608)555-0142", "use": "home"},
        {"system": "email", "value": "d.okafor&family@example.org"},
        {"system": "phone", "value": "+1 (608) 5550199 ext. 214", "use": "work"},
    ]
    assert [
        (i.code, i.location, i.text) for i in conversion.issues if "PID[1]-1" in i.location
    ] == [
        (
            "hl7v2.component-unmapped",
            "MSG[1]/PID[1]-13[2].2",
            (
                "PID-13[2].2 telecommunication use 'NET' is not one the V2-to-FHIR IG maps to "
                "ContactPoint.use (HL7 table 0201): not carried"
            ),
        )
    ]


def test_pid_13_types_and_numbers_the_ig_does_not_map_are_issues() -> None:
    # A modem line of another residence, then a repetition with no number at all; PID-14 null.
    bundle, conversion = _convert(
        message(_pid_phoned("^ORN^MD^^^608^5551234~^PRN^PH", '""'), PV1, ORC, OBR, WBC_SIGNED_OUT),
        "R4",
    )
    (patient,) = _resources(bundle, "Patient")
    assert patient["telecom"] == [{"system": "other", "value": "(608) 5551234"}]
    assert [(i.location, i.text) for i in conversion.issues if "PID[1]-1" in i.location] == [
        (
            "MSG[1]/PID[1]-13.2",
            (
                "PID-13.2 telecommunication use 'ORN' is not one the V2-to-FHIR IG maps to "
                "ContactPoint.use (HL7 table 0201): not carried"
            ),
        ),
        (
            "MSG[1]/PID[1]-13.3",
            (
                "PID-13.3 telecommunication equipment type 'MD' is not one the V2-to-FHIR IG "
                "maps (HL7 table 0202): ContactPoint.system is other"
            ),
        ),
        (
            "MSG[1]/PID[1]-13[2]",
            (
                "PID-13[2] '^PRN^PH' has no telephone number (XTN.1, XTN.5-8) or address "
                "(XTN.4): not carried"
            ),
        ),
    ]


def test_pid_13_parts_beside_the_number_written_are_said_not_carried() -> None:
    # XTN.1 and the same number in parts (XTN.5-7): XTN.1 is written, the parts are Issues.
    bundle, conversion = _convert(
        message(
            _pid_phoned("(608)555-0142^PRN^PH^^1^608^5550142", ""), PV1, ORC, OBR, WBC_SIGNED_OUT
        ),
        "R4",
    )
    (patient,) = _resources(bundle, "Patient")
    assert patient["telecom"] == [{"system": "phone", "value": "(608)555-0142", "use": "home"}]
    assert _unmapped_at(conversion, "MSG[1]/PID[1]-13") == [
        "PID-13.5 is not carried: '1' (the number is XTN.1)",
        "PID-13.6 is not carried: '608' (the number is XTN.1)",
        "PID-13.7 is not carried: '5550142' (the number is XTN.1)",
    ]


def _obr_timed(quantity_timing: str) -> str:
    fields = OBR.split("|") + [""] * 3
    fields[27] = quantity_timing
    return "|".join(fields[:28])


def _priorities(bundle: dict[str, Any]) -> list[str | None]:
    return [request.get("priority") for request in _resources(bundle, "ServiceRequest")]


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_tq1_9_stat_is_the_service_requests_priority(version: Literal["R4", "R5"]) -> None:
    # A stat CBC from the emergency department (v2.5.1: TQ1 after the OBR).
    tq1 = "TQ1|1||||||20261124080000-0500||S^Stat^HL70485"
    bundle, conversion = _convert(message(PID, PV1, ORC, OBR, tq1, WBC_SIGNED_OUT, SPM), version)
    assert _priorities(bundle) == ["stat"]
    assert [(i.code, i.location) for i in conversion.issues if "TQ1" in i.location] == [
        ("hl7v2.component-unmapped", "MSG[1]/TQ1[1]-9.2"),
        ("hl7v2.component-unmapped", "MSG[1]/TQ1[1]-9.3"),
        ("hl7v2.field-unmapped", "MSG[1]/TQ1[1]-7"),
    ]


def test_obr_27_priority_is_read_and_a_differing_tq1_9_is_an_issue() -> None:
    # v2.3 quantity/timing with its start time and a routine priority, then a TQ1 saying stat.
    obr = _obr_timed("^^^20261124080000-0500^^R")
    bundle, conversion = _convert(
        message(PID, PV1, ORC, obr, "TQ1|1||||||||S", WBC_SIGNED_OUT, SPM), "R4"
    )
    assert _priorities(bundle) == ["routine"]
    said = [
        (i.location, i.text)
        for i in conversion.issues
        if "-27" in i.location or "TQ1" in i.location
    ]
    assert said == [
        ("MSG[1]/OBR[1]-27.4", "OBR-27.4 is not carried: '20261124080000-0500'"),
        (
            "MSG[1]/TQ1[1]-9",
            (
                "TQ1-9 priority 'S' is not carried: the order's priority is routine, from "
                "MSG[1]/OBR[1]-27.6"
            ),
        ),
    ]


def test_a_priority_the_ig_does_not_map_is_not_carried() -> None:
    bundle, conversion = _convert(
        message(PID, PV1, ORC, OBR, "TQ1|1||||||||P^Preop^HL70485", WBC_SIGNED_OUT, SPM), "R4"
    )
    assert _priorities(bundle) == [None]
    (issue,) = [i for i in conversion.issues if i.location == "MSG[1]/TQ1[1]-9"]
    assert issue.text == (
        "TQ1-9 priority 'P' is not one the V2-to-FHIR IG maps to ServiceRequest.priority (HL7 "
        "table 0485: S stat, A asap, R routine): not carried"
    )


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_tq1_9_reads_the_first_repetition_the_ig_maps(version: Literal["R4", "R5"]) -> None:
    # A preop CBC the ED then made stat: TQ1-9 'P~S'. P (preop) has no FHIR priority; S does.
    tq1 = "TQ1|1||||||||P^Preop^HL70485~S^Stat^HL70485"
    bundle, conversion = _convert(message(PID, PV1, ORC, OBR, tq1, WBC_SIGNED_OUT, SPM), version)
    assert _priorities(bundle) == ["stat"]
    assert [(i.code, i.location, i.text) for i in conversion.issues if "TQ1" in i.location] == [
        (
            "hl7v2.field-unmapped",
            "MSG[1]/TQ1[1]-9",
            (
                "TQ1-9 priority 'P^Preop^HL70485' is not one the V2-to-FHIR IG maps to "
                "ServiceRequest.priority (HL7 table 0485: S stat, A asap, R routine): not "
                "carried; its repetition 'S^Stat^HL70485' is read"
            ),
        ),
        (
            "hl7v2.component-unmapped",
            "MSG[1]/TQ1[1]-9[2].2",
            "TQ1-9[2].2 is not carried (a priority: its code is read): 'Stat'",
        ),
        (
            "hl7v2.component-unmapped",
            "MSG[1]/TQ1[1]-9[2].3",
            "TQ1-9[2].3 is not carried (a priority: its code is read): 'HL70485'",
        ),
    ]


def test_tq1_9_repetitions_after_the_one_read_are_not_carried() -> None:
    tq1 = "TQ1|1||||||||C~A~R"
    bundle, conversion = _convert(message(PID, PV1, ORC, OBR, tq1, WBC_SIGNED_OUT, SPM), "R4")
    assert _priorities(bundle) == ["asap"]
    assert [(i.code, i.text) for i in conversion.issues if "TQ1" in i.location] == [
        (
            "hl7v2.field-unmapped",
            (
                "TQ1-9 priority 'C' is not one the V2-to-FHIR IG maps to ServiceRequest.priority "
                "(HL7 table 0485: S stat, A asap, R routine): not carried; its repetition 'A' is "
                "read"
            ),
        ),
        ("hl7v2.repetition-unmapped", "TQ1-9 repetitions after the one read are not carried: 'R'"),
    ]


def test_tq1_9_repetitions_not_read_and_the_one_read_are_located_at_their_repetition() -> None:
    # 'C~~T~A^ASAP~R': C and T (callback, timing critical) are not mapped, the fourth, A, is
    # read; its text ASAP is a component of repetition 4, not of the first (C has no 9.2)
    tq1 = "TQ1|1||||||||C~~T~A^ASAP~R"
    bundle, conversion = _convert(message(PID, PV1, ORC, OBR, tq1, WBC_SIGNED_OUT, SPM), "R4")
    assert _priorities(bundle) == ["asap"]
    assert [(i.code, i.location) for i in conversion.issues if "TQ1" in i.location] == [
        ("hl7v2.field-unmapped", "MSG[1]/TQ1[1]-9"),
        ("hl7v2.field-unmapped", "MSG[1]/TQ1[1]-9[3]"),
        ("hl7v2.repetition-unmapped", "MSG[1]/TQ1[1]-9"),
        ("hl7v2.component-unmapped", "MSG[1]/TQ1[1]-9[4].2"),
    ]
    (component,) = [i for i in conversion.issues if i.code == "hl7v2.component-unmapped"]
    assert component.text == "TQ1-9[4].2 is not carried (a priority: its code is read): 'ASAP'"


def test_a_priority_without_a_service_request_is_an_issue() -> None:
    # No PID: no ServiceRequest, so the stat priority has nowhere to go.
    bundle, conversion = _convert(message(PV1, ORC, _obr_timed("^^^^^S"), WBC_SIGNED_OUT), "R4")
    assert _resources(bundle, "ServiceRequest") == []
    (issue,) = [i for i in conversion.issues if i.code == "fhir.priority-not-written"]
    assert (issue.location, issue.text) == (
        "MSG[1]/OBR[1]-27.6",
        "priority stat is not written: no ServiceRequest (the message has no PID)",
    )


def test_a_priority_on_an_obr_that_is_no_order_names_every_thing_that_makes_one() -> None:
    # A lab-filler-only OBR (no ORC, placer number or OBR-16) with OBR-11 A (add-on, not G): the
    # stat priority has no ServiceRequest, and the text names OBR-11 G with the other three.
    fields = _obr_timed("^^^^^S").split("|")
    fields[2] = ""
    fields[11] = "A"
    fields[16] = ""
    bundle, conversion = _convert(message(PID, PV1, "|".join(fields), WBC_SIGNED_OUT), "R4")
    assert _resources(bundle, "ServiceRequest") == []
    (issue,) = [i for i in conversion.issues if i.code == "fhir.priority-not-written"]
    assert (issue.location, issue.text) == (
        "MSG[1]/OBR[1]-27.6",
        (
            "priority stat is not written: no ServiceRequest (the OBR is no order: no ORC, placer "
            "number, ordering provider or OBR-11 G)"
        ),
    )


def test_a_tq1_before_any_obr_is_not_mapped() -> None:
    bundle, conversion = _convert(
        message(PID, PV1, "TQ1|1||||||||S", ORC, OBR, WBC_SIGNED_OUT), "R4"
    )
    assert _priorities(bundle) == [None]
    assert [(i.code, i.location) for i in conversion.issues if "TQ1" in i.location] == [
        ("hl7v2.segment-unmapped", "MSG[1]/TQ1[1]")
    ]


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_orc_4_placer_group_number_is_the_service_requests_requisition(
    version: Literal["R4", "R5"],
) -> None:
    # A CBC and a differential ordered together under one requisition (ORC-4): the group
    # number names both orders, so it is no identifier of either (V2-to-FHIR IG
    # ORC[ServiceRequest]: ORC-4 → ServiceRequest.requisition, type PGN)
    cbc = "ORC|RE|ORD55377^EHR|LAB88164^CORELAB|REQ2201^EHR|CM"
    diff = "ORC|RE|ORD55378^EHR|LAB88165^CORELAB|REQ2201^EHR|CM"
    diff_obr = OBR.replace("ORD55377", "ORD55378").replace("LAB88164", "LAB88165")
    bundle, conversion = _convert(
        message(PID, PV1, cbc, OBR, WBC_SIGNED_OUT, diff, diff_obr), version
    )
    requests = _resources(bundle, "ServiceRequest")
    assert [r["requisition"] for r in requests] == [
        {
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                        "code": "PGN",
                        "display": "Placer Group Number",
                    }
                ]
            },
            "value": "REQ2201",
            "assigner": {"display": "EHR"},
        }
    ] * 2
    assert [[i["value"] for i in r["identifier"]] for r in requests] == [
        ["ORD55377", "LAB88164"],
        ["ORD55378", "LAB88165"],
    ]
    assert _unmapped_at(conversion, "MSG[1]/ORC[1]-4") == []


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_obr_11_generated_order_is_a_reflex_order(version: Literal["R4", "R5"]) -> None:
    # A manual differential the lab reflexed from a CBC with a low WBC: OBR-11 G (generated
    # order). V2-to-FHIR IG OBR[ServiceRequest]: OBR-11 G → intent reflex-order
    diff = (
        "OBR|1|ORD55377^EHR|LAB88164^CORELAB|57023-4^Auto Differential panel - Blood^LN|||"
        "20261124080500-0500||||G|||||5820^VARGA^ILONA^^^^MD||||||20261124090500-0500|||F"
    )
    bundle, conversion = _convert(message(PID, PV1, ORC, diff, WBC_SIGNED_OUT), version)
    (request,) = _resources(bundle, "ServiceRequest")
    assert request["intent"] == "reflex-order"
    assert _unmapped_at(conversion, "MSG[1]/OBR[1]-11") == []


@pytest.mark.parametrize("action", ["A", "L", "O"])
def test_obr_11_other_than_generated_leaves_the_intent_order_and_says_so(action: str) -> None:
    obr = OBR.replace("20261124080500-0500|||||||||", f"20261124080500-0500||||{action}|||||")
    bundle, conversion = _convert(message(PID, PV1, ORC, obr, WBC_SIGNED_OUT), "R4")
    (request,) = _resources(bundle, "ServiceRequest")
    assert request["intent"] == "order"
    assert _unmapped_at(conversion, "MSG[1]/OBR[1]-11") == [
        f"OBR-11 is populated but not carried: '{action}'"
    ]


def test_obr_11_generated_order_without_placer_or_orc_is_still_a_reflex_order() -> None:
    # A reflex order the lab added on its own: no ORC, no placer number, no ordering provider
    diff = (
        "OBR|1||LAB88164^CORELAB|57023-4^Auto Differential panel - Blood^LN|||"
        "20261124080500-0500||||G||||||||||20261124090500-0500|||F"
    )
    bundle, _ = _convert(message(PID, PV1, diff, WBC_SIGNED_OUT), "R4")
    (request,) = _resources(bundle, "ServiceRequest")
    assert request["intent"] == "reflex-order"
    assert [i["value"] for i in request["identifier"]] == ["LAB88164"]


def test_obr_11_generated_order_without_a_patient_is_said_not_written() -> None:
    diff = (
        "OBR|1||LAB88164^CORELAB|57023-4^Auto Differential panel - Blood^LN|||"
        "20261124080500-0500||||G||||||||||20261124090500-0500|||F"
    )
    conversion = leukoflag.convert(message(diff, WBC_SIGNED_OUT))
    (bundle,) = conversion.bundles
    assert _resources(bundle, "ServiceRequest") == []
    said = [(i.code, i.text) for i in conversion.issues if i.location == "MSG[1]/OBR[1]-11"]
    text = "OBR-11 'G' (an order the lab generated, intent reflex-order) not written"
    assert said == [("fhir.order-without-patient", f"{text} (no ServiceRequest)")]


def test_orc_5_cancelled_order_without_a_patient_is_said_not_written() -> None:
    # ORC-5 CA (the order was cancelled) in a message without PID: no ServiceRequest holds the
    # status revoked, so the cancellation must be said lost at ORC-5, not silently dropped
    orc = "ORC|CA|ORD55377^EHR|LAB88164^CORELAB||CA"
    conversion = leukoflag.convert(message(orc, OBR, WBC_SIGNED_OUT))
    (bundle,) = conversion.bundles
    assert _resources(bundle, "ServiceRequest") == []
    said = [(i.code, i.text) for i in conversion.issues if i.location == "MSG[1]/ORC[1]-5"]
    assert said == [
        (
            "fhir.order-without-patient",
            "ORC-5 order status (ServiceRequest.status revoked) not written (no ServiceRequest)",
        )
    ]


def test_a_note_after_a_tq1_is_not_attached_to_the_result_before_it() -> None:
    # A TQ1 sent late, after the WBC, then a comment: the NTE follows the TQ1, which carries
    # no notes; it is not the WBC's (the ANC's delta check, say) and is said, not misfiled.
    anc = WBC_SIGNED_OUT.replace("OBX|1|", "OBX|2|").replace("6690-2^", "751-8^")
    bundle, conversion = _convert(
        message(
            PID, PV1, ORC, OBR, WBC_SIGNED_OUT, "TQ1|1||||||||S", "NTE|1||ANC delta checked", anc
        ),
        "R4",
    )
    assert _priorities(bundle) == ["stat"]
    assert [o.get("note") for o in _resources(bundle, "Observation")] == [None, None]
    assert [(i.code, i.location, i.text) for i in conversion.issues if "NTE" in i.location] == [
        (
            "hl7v2.note-unattached",
            "MSG[1]/NTE[1]",
            "NTE follows a segment that carries no notes; its text: 'ANC delta checked'",
        )
    ]


def test_a_note_after_a_tq1_after_its_obr_is_said_as_after_any_segment_without_notes() -> None:
    bundle, conversion = _convert(
        message(PID, PV1, ORC, OBR, "TQ1|1||||||||S", "NTE|1||Redraw requested", WBC_SIGNED_OUT),
        "R4",
    )
    (report,) = _resources(bundle, "DiagnosticReport")
    assert "Redraw requested" not in str(report)
    assert [(i.code, i.location) for i in conversion.issues if "NTE" in i.location] == [
        ("hl7v2.note-unattached", "MSG[1]/NTE[1]")
    ]


def test_an_email_address_sent_in_xtn_1_is_said_to_be_out_of_place() -> None:
    # An older registration system puts the e-mail address where a number goes (XTN.1), with
    # the type Internet: the IG reads an Internet address from XTN.4 only, so it is not
    # written, and the Issue says why rather than that there is no number or address.
    bundle, conversion = _convert(
        message(
            PID + "|||||(608)555-0142^PRN^PH~d.okafor@example.org^NET^Internet",
            PV1,
            ORC,
            OBR,
            WBC_SIGNED_OUT,
        ),
        "R4",
    )
    (patient,) = _resources(bundle, "Patient")
    assert patient["telecom"] == [{"system": "phone", "value": "(608)555-0142", "use": "home"}]
    assert [(i.code, i.text) for i in conversion.issues if i.location == "MSG[1]/PID[1]-13[2]"] == [
        (
            "hl7v2.field-unmapped",
            (
                "PID-13[2] 'd.okafor@example.org^NET^Internet' is an address of type "
                "'Internet' (XTN.3) with no address in XTN.4, where the V2-to-FHIR IG reads "
                "it: not carried"
            ),
        )
    ]


def _spm_in(container: str) -> str:
    """The CBC's SPM with SPM-27 container type ``container``."""
    fields = SPM.split("|")
    fields += [""] * (28 - len(fields))
    fields[27] = container
    return "|".join(fields)


def test_spm_27_container_type_is_the_specimens_container_type() -> None:
    # The tube the blood was drawn into: a lavender-top EDTA tube (SPM-27, CWE).
    spm = _spm_in("LAV^Lavender top EDTA tube^99CONT")
    bundle, conversion = _convert(message(PID, PV1, ORC, OBR, WBC_SIGNED_OUT, spm), "R4")
    (specimen,) = _resources(bundle, "Specimen")
    assert specimen["container"] == [
        {
            "type": {
                "coding": [
                    {
                        "system": "http://leukoflag.org/fhir/CodeSystem/v2-named/99CONT",
                        "code": "LAV",
                        "display": "Lavender top EDTA tube",
                    }
                ]
            }
        }
    ]
    assert [i for i in conversion.issues if i.location.startswith("MSG[1]/SPM[1]-27")] == []


def test_spm_27_container_type_in_r5_is_an_issue_naming_it() -> None:
    # R5's Specimen.container has no type, only a device (a Device resource)
    spm = _spm_in("LAV^Lavender top EDTA tube^99CONT")
    bundle, conversion = _convert(message(PID, PV1, ORC, OBR, WBC_SIGNED_OUT, spm), "R5")
    (specimen,) = _resources(bundle, "Specimen")
    assert "container" not in specimen
    assert [(i.code, i.text) for i in conversion.issues if i.location == "MSG[1]/SPM[1]-27"] == [
        (
            "fhir.container-not-written",
            (
                "SPM-27 container type is not written: an R5 Specimen.container has no type, "
                "only a device (a Device resource, which leukoflag does not write): "
                "'LAV (Lavender top EDTA tube)'"
            ),
        )
    ]


def test_spm_27_sent_with_repetitions_reads_its_first() -> None:
    spm = _spm_in("LAV^Lavender top EDTA tube^99CONT~SST^Serum separator tube^99CONT")
    bundle, conversion = _convert(message(PID, PV1, ORC, OBR, WBC_SIGNED_OUT, spm), "R4")
    (specimen,) = _resources(bundle, "Specimen")
    assert specimen["container"][0]["type"]["coding"][0]["code"] == "LAV"
    assert [(i.code, i.text) for i in conversion.issues if i.location == "MSG[1]/SPM[1]-27"] == [
        (
            "hl7v2.repetition-unmapped",
            "SPM-27 repetitions after the first are not carried: 'SST^Serum separator tube^99CONT'",
        )
    ]


# A critical WBC phoned to the ward: the technologist who called it (NTE-5) and when (NTE-6).
NTE_CALLED = (
    "NTE|1|L|Critical value called to and read back by RN on 4 West.||"
    "4410^MORALES^ELENA^^^^MT|20261124084500-0500"
)


def _notes_entered(version: Literal["R4", "R5"], *segments: str) -> dict[str, Any]:
    bundle, conversion = _convert(message(PID, PV1, ORC, *segments), version)
    assert [
        i for i in conversion.issues if i.location.endswith(("-5", "-6")) and "/NTE[" in i.location
    ] == []
    return bundle


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_nte_5_and_6_after_obx_are_the_notes_author_and_time(
    version: Literal["R4", "R5"],
) -> None:
    bundle = _notes_entered(version, OBR, WBC_SIGNED_OUT, NTE_CALLED, SPM)
    (observation,) = _resources(bundle, "Observation")
    assert observation["note"] == [
        {
            "authorReference": {"display": "ELENA MORALES, MT (4410)"},
            "time": "2026-11-24T08:45:00-05:00",
            "text": "Critical value called to and read back by RN on 4 West.",
        }
    ]


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_nte_5_and_6_after_obr_are_the_report_notes_author_and_time(
    version: Literal["R4", "R5"],
) -> None:
    nte = "NTE|1|L|Drawn above the IV line; repeat requested.||4411^KIM^JOON|20261124083000-0500"
    bundle = _notes_entered(version, OBR, nte, WBC_SIGNED_OUT, SPM)
    (report,) = _resources(bundle, "DiagnosticReport")
    annotation = {
        "authorReference": {"display": "JOON KIM (4411)"},
        "time": "2026-11-24T08:30:00-05:00",
        "text": "Drawn above the IV line; repeat requested.",
    }
    if version == "R5":
        assert report["note"] == [annotation]
    else:
        (extension,) = [e for e in report["extension"] if e["url"].endswith("Report.note")]
        assert extension["valueAnnotation"] == annotation


def test_nte_6_after_spm_is_the_specimen_notes_time_and_a_note_without_it_has_none() -> None:
    bundle = _notes_entered(
        "R4",
        OBR,
        WBC_SIGNED_OUT,
        SPM,
        "NTE|1|L|Slightly hemolyzed.",
        "NTE|2|L|Clotted on recheck.|||20261124083100-0500",
    )
    (specimen,) = _resources(bundle, "Specimen")
    assert specimen["note"] == [
        {"text": "Slightly hemolyzed."},
        {"time": "2026-11-24T08:31:00-05:00", "text": "Clotted on recheck."},
    ]


def test_nte_5_and_6_after_an_obx_5_comment_are_its_nte_notes() -> None:
    # '3.1 (verified)': the comment is the Observation's first note, the NTE its second
    wbc = WBC_SIGNED_OUT.replace("|NM|", "|ST|").replace("||3.1|", "||3.1 (verified)|")
    bundle = _notes_entered("R4", OBR, wbc, NTE_CALLED, SPM)
    (observation,) = _resources(bundle, "Observation")
    assert [n.get("authorReference") for n in observation["note"]] == [
        None,
        {"display": "ELENA MORALES, MT (4410)"},
    ]
    assert observation["note"][0]["text"] == "(verified)"


def test_nte_5_and_6_after_pid_are_not_carried_as_patient_has_no_note() -> None:
    pid_note = "NTE|1|L|Patient prefers the left arm.||4410^MORALES^ELENA|20261124080000-0500"
    conversion = leukoflag.convert(message(PID, pid_note, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM))
    assert [
        (i.code, i.location, i.text)
        for i in conversion.issues
        if i.location in {"MSG[1]/NTE[1]-5", "MSG[1]/NTE[1]-6"}
    ] == [
        (
            "hl7v2.field-unmapped",
            "MSG[1]/NTE[1]-5",
            "NTE-5 is populated but not carried (FHIR Patient has no note): '4410^MORALES^ELENA'",
        ),
        (
            "hl7v2.field-unmapped",
            "MSG[1]/NTE[1]-6",
            "NTE-6 is populated but not carried (FHIR Patient has no note): '20261124080000-0500'",
        ),
    ]


# A manual differential the lab reflexed from the CBC (OBR-11 G), naming the CBC as its
# parent order (OBR-29: placer & namespace ^ filler & namespace).
REFLEX_ORC = "ORC|RE|ORD55378^EHR|LAB88165^CORELAB||CM"
MANUAL_ANC = (
    "OBX|1|NM|753-4^Neutrophils [#/volume] in Blood by Manual count^LN||1.1|10*3/uL^^UCUM|"
    "1.8-7.7|L|||F|||20261124093000-0500"
)


def _reflex(parent: str) -> str:
    # OBR-25 F, then OBR-26 to OBR-28 empty and OBR-29 the parent
    return (
        "OBR|2|ORD55378^EHR|LAB88165^CORELAB|57022-6^Manual differential panel - Blood^LN|||"
        "20261124080500-0500||||G|||||5820^VARGA^ILONA^^^^MD||||||20261124093500-0500|||F"
        f"||||{parent}"
    )


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_obr_29_parent_order_is_the_child_requests_based_on(
    version: Literal["R4", "R5"],
) -> None:
    reflex = _reflex("ORD55377&EHR^LAB88164&CORELAB")
    bundle, conversion = _convert(
        message(PID, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM, REFLEX_ORC, reflex, MANUAL_ANC), version
    )
    cbc, differential = [
        e for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    ]
    assert "basedOn" not in cbc["resource"]
    assert differential["resource"]["basedOn"] == [{"reference": cbc["fullUrl"]}]
    assert differential["resource"]["intent"] == "reflex-order"
    assert [i for i in conversion.issues if i.location.startswith("MSG[1]/OBR[2]-29")] == []


def test_obr_29_naming_an_order_not_in_the_message_is_a_reference_by_its_numbers() -> None:
    reflex = _reflex("ORD40001&EHR^LAB70001&CORELAB")
    bundle, conversion = _convert(message(PID, PV1, REFLEX_ORC, reflex, MANUAL_ANC), "R4")
    (request,) = _resources(bundle, "ServiceRequest")
    assert [(b["type"], b["identifier"]["value"]) for b in request["basedOn"]] == [
        ("ServiceRequest", "ORD40001"),
        ("ServiceRequest", "LAB70001"),
    ]
    assert [b["identifier"]["type"]["coding"][0]["code"] for b in request["basedOn"]] == [
        "PLAC",
        "FILL",
    ]
    assert [(i.code, i.text) for i in conversion.issues if i.location == "MSG[1]/OBR[1]-29"] == [
        (
            "fhir.parent-order-not-found",
            (
                "OBR-29 parent order 'ORD40001^EHR' / 'LAB70001^CORELAB' is no order of this "
                "patient's in the Bundle: ServiceRequest.basedOn names it by its number only"
            ),
        )
    ]


def test_obr_29_of_an_order_without_service_request_is_an_issue() -> None:
    reflex = _reflex("^LAB88164&CORELAB")  # the filler's number only
    conversion = leukoflag.convert(message(PV1, REFLEX_ORC, reflex, MANUAL_ANC))
    (said,) = [i for i in conversion.issues if i.location == "MSG[1]/OBR[1]-29"]
    assert (said.code, said.text) == (
        "fhir.parent-order-not-written",
        (
            "OBR-29 parent order 'LAB88164^CORELAB' is not written: no ServiceRequest (the "
            "message has no PID)"
        ),
    )


def _based_on(bundle: dict[str, Any]) -> list[tuple[str, Any]]:
    """Each ServiceRequest's fullUrl and basedOn (None when it has none)."""
    return [
        (e["fullUrl"], e["resource"].get("basedOn"))
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "ServiceRequest"
    ]


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_obr_29_naming_a_parent_sent_after_the_child_references_that_parent(
    version: Literal["R4", "R5"],
) -> None:
    # the lab sends the reflexed differential first, then the CBC it came from
    reflex = _reflex("ORD55377&EHR^LAB88164&CORELAB")
    bundle, conversion = _convert(
        message(PID, PV1, REFLEX_ORC, reflex, MANUAL_ANC, ORC, OBR, WBC_SIGNED_OUT, SPM), version
    )
    (_, child_based_on), (cbc, parent_based_on) = _based_on(bundle)
    assert child_based_on == [{"reference": cbc}]
    assert parent_based_on is None
    assert [i for i in conversion.issues if i.location.startswith("MSG[1]/OBR[1]-29")] == []


def test_obr_29_of_reflex_orders_sharing_the_parents_placer_number_names_neither_of_them() -> None:
    # Two differentials the lab reflexed from a CBC sent in an earlier message: each keeps the
    # CBC's placer number ORD55377 with a filler number of its own, and names the CBC
    # (ORD55377 / LAB88164) as parent: neither is the other's parent, nor its own.
    reflex = _reflex("ORD55377&EHR^LAB88164&CORELAB").replace("ORD55378^EHR", "ORD55377^EHR")
    second = reflex.replace("OBR|2|", "OBR|3|").replace("LAB88165^", "LAB88166^")
    bundle, conversion = _convert(
        message(
            PID,
            PV1,
            REFLEX_ORC.replace("ORD55378", "ORD55377"),
            reflex,
            MANUAL_ANC,
            REFLEX_ORC.replace("ORD55378", "ORD55377").replace("LAB88165", "LAB88166"),
            second,
            MANUAL_ANC,
        ),
        "R4",
    )
    for _, based_on in _based_on(bundle):
        assert [(b.get("reference"), b["identifier"]["value"]) for b in based_on] == [
            (None, "ORD55377"),
            (None, "LAB88164"),
        ]
    assert [i.code for i in conversion.issues if i.location.endswith("-29")] == [
        "fhir.parent-order-not-found",
        "fhir.parent-order-not-found",
    ]


def test_obr_29_naming_the_order_itself_is_not_its_based_on() -> None:
    itself = OBR + "||||ORD55377&EHR^LAB88164&CORELAB"
    bundle, conversion = _convert(message(PID, PV1, ORC, itself, WBC_SIGNED_OUT, SPM), "R4")
    ((_, based_on),) = _based_on(bundle)
    assert based_on is None
    assert [(i.code, i.text) for i in conversion.issues if i.location == "MSG[1]/OBR[1]-29"] == [
        (
            "fhir.parent-order-not-written",
            (
                "OBR-29 parent order 'ORD55377^EHR' / 'LAB88164^CORELAB' is not written: it "
                "names this order itself (its own numbers, OBR-2 / OBR-3) and no other of the "
                "patient's, and a ServiceRequest is not based on itself"
            ),
        )
    ]


def test_obr_29_does_not_name_another_patients_order_as_parent() -> None:
    # A batch ORU of two patients: the second's reflex order names numbers that are the first
    # patient's CBC; a child's parent order is its own patient's.
    other = "PID|2||MRN200412^^^RIVERSIDE^MR||NGUYEN^LAN||19750302|F"
    reflex = _reflex("ORD55377&EHR^LAB88164&CORELAB")
    bundle, conversion = _convert(
        message(PID, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM, other, REFLEX_ORC, reflex, MANUAL_ANC),
        "R4",
    )
    (_, parent_based_on), (_, child_based_on) = _based_on(bundle)
    assert parent_based_on is None
    assert [(b.get("reference"), b["identifier"]["value"]) for b in child_based_on] == [
        (None, "ORD55377"),
        (None, "LAB88164"),
    ]
    assert [(i.code, i.text) for i in conversion.issues if i.location == "MSG[1]/OBR[2]-29"] == [
        (
            "fhir.parent-order-not-found",
            (
                "OBR-29 parent order 'ORD55377^EHR' / 'LAB88164^CORELAB' is no order of this "
                "patient's in the Bundle: ServiceRequest.basedOn names it by its number only"
            ),
        )
    ]


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_obr_29_names_the_parent_order_under_a_repeated_pid_of_the_same_patient(
    version: Literal["R4", "R5"],
) -> None:
    # A LIS that sends one PATIENT_RESULT group per order, the PID repeated for the same man
    # (same MRN of the same assigning authority): his reflex order's parent is his CBC, sent
    # under the first PID. It was named by its numbers only, with 'is no order of this
    # patient's in the Bundle', though it is his and in the Bundle.
    again = PID.replace("PID|1|", "PID|2|")
    reflex = _reflex("ORD55377&EHR^LAB88164&CORELAB")
    bundle, conversion = _convert(
        message(PID, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM, again, REFLEX_ORC, reflex, MANUAL_ANC),
        version,
    )
    (parent_url, parent_based_on), (_, child_based_on) = _based_on(bundle)
    assert parent_based_on is None
    assert child_based_on == [{"reference": parent_url}]
    assert [i for i in conversion.issues if i.location.startswith("MSG[1]/OBR[2]-29")] == []
    # a second patient of another MRN is still another patient (above); so is one whose only
    # identifier is another authority's number of the same value
    elsewhere = PID.replace("PID|1|", "PID|2|").replace("^RIVERSIDE^", "^LAKESIDE^")
    bundle, conversion = _convert(
        message(PID, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM, elsewhere, REFLEX_ORC, reflex, MANUAL_ANC),
        version,
    )
    (_, _), (_, child_based_on) = _based_on(bundle)
    assert [b.get("reference") for b in child_based_on] == [None, None]
    assert [i.code for i in conversion.issues if i.location == "MSG[1]/OBR[2]-29"] == [
        "fhir.parent-order-not-found"
    ]


def test_obr_29_naming_only_the_placer_number_the_child_shares_references_its_parent() -> None:
    # The reflexed differential keeps the CBC's placer number ORD55377 and names the CBC by it
    # alone (OBR-29 'ORD55377&EHR'): the CBC in the message is its parent, not the child itself.
    reflex = _reflex("ORD55377&EHR").replace("ORD55378^EHR", "ORD55377^EHR")
    bundle, conversion = _convert(
        message(
            PID,
            PV1,
            ORC,
            OBR,
            WBC_SIGNED_OUT,
            SPM,
            REFLEX_ORC.replace("ORD55378", "ORD55377"),
            reflex,
            MANUAL_ANC,
        ),
        "R4",
    )
    (cbc, _), (_, child_based_on) = _based_on(bundle)
    assert child_based_on == [{"reference": cbc}]
    assert [i for i in conversion.issues if i.location.startswith("MSG[1]/OBR[2]-29")] == []


# The order as the EHR placed it (ORC-1 NW), echoed by the lab with its results: ORC-9 is when
# the order was written. A result transaction (ORC-1 RE) sends the time of that transaction.
ORC_NEW = "ORC|NW|ORD55377^EHR|LAB88164^CORELAB||||||20261124074500-0500"
ORC_RESULT_TIMED = "ORC|RE|ORD55377^EHR|LAB88164^CORELAB||CM||||20261124090500-0500"


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_orc_9_of_a_new_order_is_the_service_requests_authored_on(
    version: Literal["R4", "R5"],
) -> None:
    # V2-to-FHIR IG ORC[ServiceRequest]: ORC-9 → authoredOn, if ORC-1 is NW
    bundle, conversion = _convert(message(PID, PV1, ORC_NEW, OBR, WBC_SIGNED_OUT), version)
    assert fhir.validate(bundle, version) == []
    (request,) = _resources(bundle, "ServiceRequest")
    assert request["authoredOn"] == "2026-11-24T07:45:00-05:00"
    assert _unmapped_at(conversion, "MSG[1]/ORC[1]-9") == []


def test_orc_9_of_a_result_transaction_is_not_carried_and_says_why() -> None:
    bundle, conversion = _convert(message(PID, PV1, ORC_RESULT_TIMED, OBR, WBC_SIGNED_OUT), "R4")
    (request,) = _resources(bundle, "ServiceRequest")
    assert "authoredOn" not in request
    assert _unmapped_at(conversion, "MSG[1]/ORC[1]-9") == [
        (
            "ORC-9 date/time of transaction is not carried: it is the order's authoredOn only for "
            "a new order (ORC-1 NW; V2-to-FHIR IG ORC[ServiceRequest]), and ORC-1 is 'RE': "
            "'20261124090500-0500'"
        )
    ]


def test_orc_9_of_a_new_order_without_a_service_request_is_an_issue() -> None:
    # No PID: no ServiceRequest, so the time the order was written has nowhere to go.
    bundle, conversion = _convert(message(PV1, ORC_NEW, OBR, WBC_SIGNED_OUT), "R4")
    assert _resources(bundle, "ServiceRequest") == []
    (issue,) = [i for i in conversion.issues if i.code == "fhir.authored-not-written"]
    assert (issue.location, issue.text) == (
        "MSG[1]/ORC[1]-9",
        (
            "ORC-9 '2026-11-24T07:45:00-05:00' (the new order's authoredOn) is not written: no "
            "ServiceRequest (the message has no PID)"
        ),
    )


# PID-3 with CX.7 (effective date) and CX.8 (expiration date): a state driver's licence valid
# from 2019-03-01 to 2027-03-01 beside the MRN. V2-to-FHIR IG CX[Identifier]: Identifier.period.
PID_DATED = (
    "PID|1||MRN100871^^^RIVERSIDE^MR~D4410287^^^IL^DL^^20190301^20270301||OKAFOR^DANIEL^C||"
    "19610719|M"
)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_pid_3_cx_7_and_cx_8_are_the_identifiers_period(version: Literal["R4", "R5"]) -> None:
    bundle, conversion = _convert(message(PID_DATED, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (patient,) = _resources(bundle, "Patient")
    mrn, licence = patient["identifier"]
    assert "period" not in mrn
    assert licence["value"] == "D4410287"
    assert licence["period"] == {"start": "2019-03-01", "end": "2027-03-01"}
    assert _unmapped_at(conversion, "MSG[1]/PID[1]-3") == []


def test_pid_3_cx_7_alone_is_the_period_start() -> None:
    pid = PID_DATED.replace("^20270301", "")
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert patient["identifier"][1]["period"] == {"start": "2019-03-01"}
    assert _unmapped_at(conversion, "MSG[1]/PID[1]-3") == []


def test_pid_3_cx_8_that_is_no_date_is_an_issue_at_its_component() -> None:
    pid = PID_DATED.replace("20270301", "20271301")  # month 13
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (patient,) = _resources(bundle, "Patient")
    assert patient["identifier"][1]["period"] == {"start": "2019-03-01"}
    assert [
        (i.code, i.location) for i in conversion.issues if i.location.startswith("MSG[1]/PID[1]-3")
    ] == [("hl7v2.timestamp-invalid", "MSG[1]/PID[1]-3[2].8")]


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_pid_3_cx_8_before_cx_7_is_left_out_rather_than_an_inverted_period(
    version: Literal["R4", "R5"],
) -> None:
    pid = PID_DATED.replace("20190301^20270301", "20270301^20190301")
    bundle, conversion = _convert(message(pid, PV1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (patient,) = _resources(bundle, "Patient")
    assert patient["identifier"][1]["period"] == {"start": "2027-03-01"}
    assert [
        (i.severity, i.code, i.location, i.text)
        for i in conversion.issues
        if i.location.startswith("MSG[1]/PID[1]-3")
    ] == [
        (
            leukoflag.Severity.WARNING,
            "fhir.period-inverted",
            "MSG[1]/PID[1]-3[2].8",
            (
                "PID-3[2].8 '20190301' (expiration date) is before PID-3[2].7 '20270301' "
                "(effective date), which a FHIR Period cannot say: PID-3[2].8 not written"
            ),
        )
    ]


def _pid_5_issues(conversion: leukoflag.Conversion) -> list[tuple[str, str, str]]:
    """The code, location and text of each Issue located in PID-5 (the patient's names)."""
    return [
        (i.code, i.location, i.text)
        for i in conversion.issues
        if i.location.startswith("MSG[1]/PID[1]-5")
    ]


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_pv1_19_cx_7_and_cx_8_are_the_visit_numbers_period(version: Literal["R4", "R5"]) -> None:
    # a day-case visit number valid for the admission's two days: the V2-to-FHIR IG's CX map
    # holds for PV1-19 as for PID-3 (Encounter.identifier.period); it was "not carried"
    pv1 = PV1.replace("V7788^^^RIVERSIDE^VN", "V7788^^^RIVERSIDE^VN^^20261124^20261125")
    bundle, conversion = _convert(message(PID, pv1, ORC, OBR, WBC_SIGNED_OUT, SPM), version)
    (encounter,) = _resources(bundle, "Encounter")
    (number,) = encounter["identifier"]
    assert number["value"] == "V7788"
    assert number["period"] == {"start": "2026-11-24", "end": "2026-11-25"}
    assert _unmapped_at(conversion, "MSG[1]/PV1[1]-19") == []


def test_pv1_19_cx_8_before_cx_7_is_left_out_rather_than_an_inverted_period() -> None:
    pv1 = PV1.replace("V7788^^^RIVERSIDE^VN", "V7788^^^RIVERSIDE^VN^^20261125^20261124")
    bundle, conversion = _convert(message(PID, pv1, ORC, OBR, WBC_SIGNED_OUT, SPM), "R4")
    (encounter,) = _resources(bundle, "Encounter")
    assert encounter["identifier"][0]["period"] == {"start": "2026-11-25"}
    assert [
        (i.code, i.location, i.text)
        for i in conversion.issues
        if i.location.startswith("MSG[1]/PV1[1]-19")
    ] == [
        (
            "fhir.period-inverted",
            "MSG[1]/PV1[1]-19.8",
            (
                "PV1-19.8 '20261124' (expiration date) is before PV1-19.7 '20261125' "
                "(effective date), which a FHIR Period cannot say: PV1-19.8 not written"
            ),
        )
    ]
