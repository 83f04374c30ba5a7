from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import leukoflag
from leukoflag import Conversion, Issue, Severity
from leukoflag.model import Analyte
from leukoflag.settings import Settings
from leukoflag.testing import (
    Code,
    RecordedConversion,
    ResultSpec,
    anc,
    assert_count_per_ul,
    assert_flagged,
    assert_no_data_loss,
    assert_not_flagged,
    assert_valid_fhir,
    batch,
    convert_message,
    fhir_bundle,
    find_observations,
    loinc,
    ndjson,
    observation,
    order,
    oru_message,
    panel_observation,
    patient,
    result,
    to_mllp,
    ucum,
    wbc,
)

LOW_CBC = oru_message(results=[wbc(3.2), anc(1.2)])
NEUTROPHIL_PCT = loinc("770-8", "Neutrophils/100 leukocytes in Blood by Automated count")
NEUTROPHILS = loinc("26499-4", "Neutrophils [#/volume] in Blood")


def _percent(value: int) -> ResultSpec:
    return result(NEUTROPHIL_PCT, value, "%", reference_range="40-75")


@pytest.fixture
def low() -> RecordedConversion:
    return convert_message(LOW_CBC)


@pytest.fixture
def urine() -> RecordedConversion:
    return convert_message(oru_message(results=[wbc(3.2)], specimen="urine"))


def _entry_path(conversion: Conversion, code: str) -> str:
    for number, entry in enumerate(conversion.bundles[0]["entry"]):
        codes = [c["code"] for c in entry["resource"].get("code", {}).get("coding", [])]
        if entry["resource"]["resourceType"] == "Observation" and code in codes:
            return f"bundles[0].entry[{number}]"
    raise AssertionError(code)


# --------------------------------------------------------------------------- assert_flagged


def test_flagged_passes_on_the_computed_code(low: RecordedConversion) -> None:
    assert_flagged(low, "L")
    assert_flagged(low, "L", analyte="wbc")
    assert_flagged(low, "L", analyte="ANC")
    assert_flagged(low, "L", code="6690-2")
    assert_flagged(low, "L", code="http://loinc.org|751-8")


def test_flagged_accepts_a_bundle_an_observation_or_a_list(low: RecordedConversion) -> None:
    assert_flagged(low.bundles[0], "L", analyte="wbc")
    assert_flagged(low.bundles, "L", analyte="wbc")
    flagged_in_place = convert_message(observation(wbc(3.2))).bundles[0]
    assert flagged_in_place["resourceType"] == "Observation"
    assert_flagged(flagged_in_place, "L")


def test_assertions_accept_a_list_of_conversions() -> None:
    # a feed test that converts each message of the day on its own, then checks them together
    morning = convert_message(oru_message(results=[wbc(3.2)]))
    evening = convert_message(oru_message(results=[wbc(3.4, "K/µL")]), fhir_version="R5")
    both = [morning, evening]

    assert_flagged(both, "L", analyte="wbc")
    assert len(find_observations(both, analyte="wbc")) == 2
    assert_valid_fhir([evening])  # R5, as that conversion was made
    assert_valid_fhir([morning])
    with pytest.raises(AssertionError) as caught:
        assert_count_per_ul(both, 3200, analyte="wbc")
    assert "2 Observations match analyte='wbc'" in str(caught.value)
    with pytest.raises(AssertionError) as caught:
        assert_not_flagged(both, analyte="wbc")
    message = str(caught.value)
    assert f"at [1].{_entry_path(evening, '6690-2')}: flagged L" in message
    assert "units.unit-matched-tolerantly (information) at [1].MSG[1]/OBX[1]-6" in message


def test_issues_of_a_list_of_conversions_name_their_item() -> None:
    # both conversions have a MSG[1]/OBX[1]: the Issue must say which one it belongs to
    blood = convert_message(oru_message(results=[wbc(3.2, "K/µL")]))
    urine = convert_message(oru_message(results=[wbc(3.2)], specimen="urine"))
    with pytest.raises(AssertionError) as caught:
        assert_flagged([blood, urine], "L", analyte="wbc")
    message = str(caught.value)
    assert f"at [1].{_entry_path(urine, '6690-2')}: not flagged by leukoflag" in message
    assert "units.unit-matched-tolerantly (information) at [0].MSG[1]/OBX[1]-6: " in message
    assert "flag.specimen-not-blood (information) at [1].MSG[1]/OBX[1]: " in message


def test_assertions_accept_the_outcomes_of_iter_file(tmp_path: Path) -> None:
    # an engine's test converts its night batch item by item, as production does
    night = tmp_path / "night.hl7"
    low, normal = oru_message(results=[wbc(3.2), anc(1.2)]), oru_message(results=[wbc(6.1)])
    night.write_bytes(low.mllp() + normal.mllp())
    first, second = leukoflag.iter_file(night)

    assert_no_data_loss(first, low)
    assert_flagged(first, "L", analyte="wbc")
    assert_count_per_ul(first, 1200, analyte="anc")
    assert_valid_fhir([first, second])
    assert_flagged(second, "N", analyte="wbc")
    with pytest.raises(AssertionError) as caught:
        assert_count_per_ul([first, second], 3200, analyte="wbc")
    assert "2 Observations match analyte='wbc'" in str(caught.value)
    with pytest.raises(AssertionError) as caught:
        assert_not_flagged([first, second], analyte="wbc")
    message = str(caught.value)
    assert "at [0].output.entry[" in message
    assert "flagged L" in message


def test_a_preliminary_wbc_made_final_by_a_u_passes_the_assertions_as_one_final_result() -> None:
    # OBX-11 U with an empty OBX-5 makes the preliminary WBC before it final: one Observation,
    # final, for the two OBX. assert_no_data_loss counted the U's OBX as an OBX without one.
    message = oru_message(
        results=[
            wbc(2.1, status="P", notes="Smear pending."),
            wbc(None, status="U", notes="Smear reviewed: no blasts."),
        ]
    )
    conversion = convert_message(message)
    assert_no_data_loss(conversion)
    assert_flagged(conversion, "LU", analyte="wbc", status="final")
    assert_count_per_ul(conversion, 2100, analyte="wbc", status="final")
    (found,) = find_observations(conversion, analyte="wbc")
    assert [note["text"] for note in found["note"]] == [
        "Smear pending.",
        "Smear reviewed: no blasts.",
    ]
    assert_valid_fhir(conversion)


def test_no_data_loss_still_counts_a_u_that_made_nothing_final() -> None:
    # a U of another sub-ID is an Observation of its own: checked against a message without
    # it, its OBX is found missing
    sent = oru_message(results=[wbc(2.1, status="P")])
    conversion = convert_message(sent)
    with_u = oru_message(results=[wbc(2.1, status="P"), wbc(None, status="U", sub_id="2")])
    with pytest.raises(AssertionError, match=r"MSG\[1\]/OBX\[2\] \(code '6690-2'\)"):
        assert_no_data_loss(conversion, with_u)


def test_no_data_loss_lists_the_rejection_of_an_outcome(tmp_path: Path) -> None:
    night = tmp_path / "night.hl7"
    night.write_bytes(b"MSH|^~\\&|LABSYS|CITYLAB\r")
    (outcome,) = leukoflag.iter_file(night)
    assert outcome.rejected is not None
    with pytest.raises(AssertionError) as caught:
        assert_no_data_loss(outcome)
    assert f"rejected MSG[1] of {night}: {outcome.rejected.reason}" in str(caught.value)
    with pytest.raises(AssertionError, match="the output is empty"):
        assert_valid_fhir(outcome)


def test_no_data_loss_of_a_rejected_later_outcome_with_its_input_names_only_the_rejection(
    tmp_path: Path,
) -> None:
    # the night's second message has no MSH-9: its Outcome (index 2), checked against its own
    # input, also said "1 messages read, but 0 Bundles and 1 rejected", which that is
    first = oru_message(results=[wbc(3.2)])
    second = "MSH|^~\\&|LABSYS|CITYLAB\rPID|1||MRN0042817^^^GENHOSP^MR||Okafor^Ada\r"
    night = tmp_path / "night.hl7"
    night.write_bytes(first.mllp() + to_mllp(second))
    _, outcome = leukoflag.iter_file(night)
    assert outcome.rejected is not None
    with pytest.raises(AssertionError) as caught:
        assert_no_data_loss(outcome, second)
    assert str(caught.value) == (
        f"data lost in conversion:\n  - rejected MSG[2] of {night}: {outcome.rejected.reason}"
    )


def test_no_data_loss_of_a_later_outcome_names_its_message_and_output(tmp_path: Path) -> None:
    # the second item, checked against a CBC with an ANC it lacks: the OBX was named
    # "MSG[1]/OBX[2] … in bundles[0]", though an Outcome's message is MSG[2], its Bundle output
    night = tmp_path / "night.hl7"
    night.write_bytes(oru_message(results=[wbc(3.2)]).mllp() * 2)
    _, second = leukoflag.iter_file(night)
    with pytest.raises(AssertionError) as caught:
        assert_no_data_loss(second, oru_message(results=[wbc(3.2), anc(1.0)]))
    assert str(caught.value) == (
        "data lost in conversion:\n  - MSG[2]/OBX[2] (code '751-8') has no Observation in output"
    )


def test_a_list_of_something_else_is_a_usage_error(low: RecordedConversion) -> None:
    with pytest.raises(TypeError, match=r"pass Conversions, Outcomes or FHIR dicts .* at \[1\]$"):
        assert_flagged([low, LOW_CBC.encode()], "L")  # type: ignore[list-item]


def test_a_component_find_observations_returned_can_be_asserted_on() -> None:
    conversion = convert_message(panel_observation([wbc(3.2), anc(1.2)]))
    [neutrophils] = find_observations(conversion, analyte="anc")
    assert "resourceType" not in neutrophils  # a component, not an Observation
    assert_count_per_ul(neutrophils, 1200)
    assert_flagged(neutrophils, "L")
    with pytest.raises(AssertionError) as caught:
        assert_count_per_ul(neutrophils, 1500)
    assert str(caught.value) == (
        'component (LOINC 751-8 "Neutrophils [#/volume] in Blood by Automated count"):'
        " expected 1500 cells/µL, found 1200 cells/µL"
    )
    with pytest.raises(AssertionError, match=r"component \(LOINC 751-8 .*\): flagged L by rule"):
        assert_not_flagged(neutrophils)


def test_the_list_find_observations_returned_holds_each_result_once() -> None:
    # a CBC panel with WBC and ANC components: find_observations gives the panel and each
    # component; passed back, every component counted twice ("2 Observations match
    # analyte='wbc'") and the failure listed five results for three
    conversion = convert_message(panel_observation([wbc(3.2), anc(1.0)]))
    found = find_observations(conversion)
    assert len(found) == 3
    assert_count_per_ul(found, 3200, analyte="wbc")
    assert_count_per_ul(list(reversed(found)), 1000, analyte="anc")
    with pytest.raises(AssertionError) as caught:
        assert_flagged(found, "LL", analyte="wbc")
    assert str(caught.value).count("LOINC 6690-2") == 1


def test_components_of_a_panel_are_results_too() -> None:
    conversion = convert_message(panel_observation([wbc(3.2), anc(1.2)]))
    assert_flagged(conversion, "L", analyte="anc")
    assert_count_per_ul(conversion, 3200, analyte="wbc")
    assert_no_data_loss(conversion)
    with pytest.raises(AssertionError) as caught:
        assert_flagged(conversion, "N", analyte="wbc")
    panel_id = conversion.bundles[0]["id"]
    assert f"component of Observation {panel_id} (LOINC 6690-2" in str(caught.value)
    assert "at bundles[0].component[0]: flagged L" in str(caught.value)


@pytest.mark.parametrize(
    ("interpretation", "holds"),
    [
        (None, "no interpretation"),
        (
            [{"coding": [{"system": "http://hl7.org/fhir/v2/0078", "code": "L"}]}],
            (
                "an interpretation without a v3-ObservationInterpretation code "
                "(http://hl7.org/fhir/v2/0078 L)"
            ),
        ),
    ],
)
def test_a_judged_result_that_lost_its_code_is_not_called_unflagged(
    low: RecordedConversion, interpretation: Any, holds: str
) -> None:
    # the pipeline dropped the interpretation (or wrote it in the pre-R4 system) but kept
    # leukoflag's explanation: the failure said "not flagged by leukoflag", sending the
    # engineer to leukoflag's Issues instead of their own mapping
    bundle = copy.deepcopy(low.bundles[0])
    (count,) = find_observations(bundle, analyte="wbc")
    for entry in bundle["entry"]:
        if entry["resource"].get("id") == count["id"]:
            entry["resource"].pop("interpretation")
            if interpretation is not None:
                entry["resource"]["interpretation"] = interpretation
    with pytest.raises(AssertionError) as caught:
        assert_flagged(bundle, "L", analyte="wbc")
    message = str(caught.value)
    assert "not flagged by leukoflag" not in message
    assert (
        "judged by leukoflag by rule wbc-leukopenia-adult, but the result has "
        f"{holds} (value 3200 cells/µL)"
    ) in message
    with pytest.raises(AssertionError) as caught:
        assert_not_flagged(bundle, analyte="wbc")
    assert f"judged by leukoflag by rule wbc-leukopenia-adult, but the result has {holds}" in (
        str(caught.value)
    )


def test_every_sender_flag_is_reported() -> None:
    flags = [wbc(3.2, flag=["L", "A"])]
    urine = convert_message(oru_message(results=flags, specimen="urine"))
    with pytest.raises(AssertionError, match=r"not flagged .*; the sender's flag is L/A"):
        assert_flagged(urine, "L", analyte="wbc")
    blood = convert_message(oru_message(results=flags))
    with pytest.raises(AssertionError, match=r"flagged L .*; the sender's flag is L/A"):
        assert_flagged(blood, "LL", analyte="wbc")


def test_flagged_failure_says_expected_found_and_where(low: RecordedConversion) -> None:
    with pytest.raises(AssertionError) as caught:
        assert_flagged(low, "LL", analyte="wbc")
    message = str(caught.value)
    wbc_obs = find_observations(low, analyte="wbc")[0]
    assert message.startswith("expected interpretation 'LL' on analyte='wbc', found:")
    assert f"Observation {wbc_obs['id']}" in message
    assert 'LOINC 6690-2 "Leukocytes [#/volume] in Blood by Automated count"' in message
    assert f"at {_entry_path(low, '6690-2')}" in message
    assert "flagged L by rule wbc-leukopenia-adult, value 3200 cells/µL" in message


def test_flagged_failure_without_filter_lists_every_other_code() -> None:
    mixed = convert_message(oru_message(results=[wbc(3.2), anc(4.1)]))
    with pytest.raises(AssertionError) as caught:
        assert_flagged(mixed, "L")
    message = str(caught.value)
    assert "751-8" in message
    assert "flagged N by rule anc-within-range" in message
    assert "6690-2" not in message  # the WBC has L: not a problem


def test_flagged_failure_on_an_unflagged_result_shows_the_issues(
    urine: RecordedConversion,
) -> None:
    with pytest.raises(AssertionError) as caught:
        assert_flagged(urine, "L", analyte="wbc")
    message = str(caught.value)
    assert "not flagged by leukoflag (value 3.2 10*9/L); the sender's flag is L" in message
    assert "Issues leukoflag reported:" in message
    assert "flag.specimen-not-blood (information) at MSG[1]/OBX[1]" in message


def test_flagged_failure_when_nothing_matches_lists_the_observations(
    low: RecordedConversion,
) -> None:
    with pytest.raises(AssertionError) as caught:
        assert_flagged(low, "L", code="WBC")
    message = str(caught.value)
    assert message.startswith("no Observation matches code='WBC'.")
    assert "Observations in the output:" in message
    assert "3200 cells/µL, L" in message
    assert "1200 cells/µL, L" in message


def test_flagged_failure_when_leukoflag_flagged_nothing(urine: RecordedConversion) -> None:
    with pytest.raises(AssertionError, match="leukoflag flagged no result"):
        assert_flagged(urine, "L")


def test_analyte_enum_is_accepted_and_shown_as_text(low: RecordedConversion) -> None:
    assert_flagged(low, "L", analyte=Analyte.ANC)
    with pytest.raises(AssertionError, match="on analyte='anc', found"):
        assert_flagged(low, "N", analyte=Analyte.ANC)


def test_unknown_analyte_is_a_usage_error(low: RecordedConversion) -> None:
    with pytest.raises(ValueError, match="'wbc' or 'anc'"):
        assert_flagged(low, "L", analyte="platelets")


# --------------------------------------------------------------------------- assert_not_flagged


def test_not_flagged_passes_for_results_out_of_scope(urine: RecordedConversion) -> None:
    assert_not_flagged(urine)
    assert_not_flagged(urine, analyte="wbc")
    cancelled = convert_message(oru_message(results=[wbc(None, status="X"), anc(1.2)]))
    assert_not_flagged(cancelled, analyte="wbc")


def test_not_flagged_fails_when_the_message_was_rejected() -> None:
    # strict mode rejects an ORU^R01 without OBR: the EHR gets nothing, not an unflagged result
    no_obr = (
        "MSH|^~\\&|LABSYS|CITYLAB|EHR|GENHOSP|20261124092600-0500||ORU^R01^ORU_R01|LF1|P|2.5.1\r"
        "PID|1||MRN0042817^^^GENHOSP^MR||Okafor^Ada||19800314|F\r"
        "OBX|1|NM|6690-2^Leukocytes^LN||3.2|10*9/L|4.0-11.0|L|||X\r"
    )
    conversion = convert_message(no_obr, strict=True)
    assert len(conversion.rejected) == 1
    with pytest.raises(AssertionError) as caught:
        assert_not_flagged(conversion)
    message = str(caught.value)
    assert message.startswith("expected results leukoflag did not flag, but there is none.")
    assert "no Observation at all in the output" in message
    assert f"input.rejected (error) at MSG[1]: {conversion.rejected[0].reason}" in message


def test_not_flagged_fails_when_one_message_of_several_was_rejected() -> None:
    # a day's urine results: the second message is rejected (no patient name), so its WBC
    # reached the EHR neither flagged nor unflagged; the first message's WBC made it pass
    kept = oru_message(results=[wbc(3.2)], specimen="urine")
    lost = oru_message(patient(family="", given=""), results=[wbc(3.1)], specimen="urine")
    day = convert_message(batch(kept, lost), strict=True)
    assert (len(day.bundles), len(day.rejected)) == (1, 1)
    one_by_one = [convert_message(kept, strict=True), convert_message(lost, strict=True)]
    for output, where in ((day, ""), (one_by_one, "[1].")):
        with pytest.raises(AssertionError) as caught:
            assert_not_flagged(output, analyte="wbc")
        message = str(caught.value)
        assert message.startswith(
            "expected results leukoflag did not flag, but an input was rejected, its results "
            "neither flagged nor written:\n"
            f"  - {where}MSG[{2 if output is day else 1}] rejected: strict structure failed: "
            "PID[1]-5 (patient name) is empty"
        )


def test_not_flagged_failure_lists_what_was_flagged(low: RecordedConversion) -> None:
    with pytest.raises(AssertionError) as caught:
        assert_not_flagged(low, analyte="anc")
    message = str(caught.value)
    assert message.startswith("expected no interpretation from leukoflag on analyte='anc'")
    assert "flagged L by rule anc-neutropenia, value 1200 cells/µL" in message
    assert "Issues leukoflag reported:" not in message  # the low CBC raises none


def test_not_flagged_failure_lists_the_issues() -> None:
    conversion = convert_message(oru_message(results=[wbc(3.2, "K/µL")]))
    with pytest.raises(AssertionError) as caught:
        assert_not_flagged(conversion, analyte="wbc")
    message = str(caught.value)
    assert "flagged L by rule wbc-leukopenia-adult, value 3200 cells/µL" in message
    assert (
        "\nIssues leukoflag reported:\n  - units.unit-matched-tolerantly (information)" in message
    )


def _report_with_contained_results() -> dict[str, Any]:
    """A DiagnosticReport carrying its CBC results as contained Observations."""
    contained = []
    for number, spec in enumerate((wbc(3.2), anc(1.2)), start=1):
        resource = {k: v for k, v in observation(spec).items() if k != "contained"}
        resource.update(id=f"result{number}", subject={"reference": "#patient"})
        resource["specimen"] = {"reference": "#specimen"}
        contained.append(resource)
    return {
        "resourceType": "DiagnosticReport",
        "id": "cbc-report-1",
        "contained": [*observation()["contained"], *contained],
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "57021-8"}]},
        "subject": {"reference": "#patient"},
        "result": [{"reference": "#result1"}, {"reference": "#result2"}],
    }


def test_contained_observations_are_results_too() -> None:
    conversion = convert_message(_report_with_contained_results())
    assert not conversion.rejected

    assert_flagged(conversion, "L", analyte="wbc")
    assert_count_per_ul(conversion, 1200, analyte="anc")
    assert [o["id"] for o in find_observations(conversion)] == ["result1", "result2"]
    assert_no_data_loss(conversion)
    with pytest.raises(AssertionError) as caught:
        assert_not_flagged(conversion, analyte="wbc")
    assert "Observation result1 (LOINC 6690-2" in str(caught.value)
    assert "at bundles[0].contained[2]: flagged L by rule wbc-leukopenia-adult" in str(caught.value)


def test_no_data_loss_finds_a_missing_contained_observation() -> None:
    conversion = convert_message(_report_with_contained_results())
    conversion.bundles[0]["contained"].pop()
    with pytest.raises(AssertionError) as caught:
        assert_no_data_loss(conversion)
    assert "input Observation result2 (LOINC 751-8" in str(caught.value)


# --------------------------------------------------------------------------- assert_count_per_ul


@pytest.mark.parametrize("expected", [3200, "3200", "3,200", Decimal("3.2E+3"), 3200.0])
def test_count_matches_as_a_number(low: RecordedConversion, expected: Any) -> None:
    assert_count_per_ul(low, expected, analyte="wbc")


def test_count_of_an_observation_dict(low: RecordedConversion) -> None:
    assert_count_per_ul(find_observations(low, analyte="anc")[0], 1200)


def test_count_with_comparator() -> None:
    conversion = convert_message(oru_message(results=[anc("<0.5", flag="LL")]))
    assert_count_per_ul(conversion, "<500")
    with pytest.raises(AssertionError, match="expected 500 cells/µL, found <500 cells/µL"):
        assert_count_per_ul(conversion, 500)


def test_count_failure_says_expected_and_found(low: RecordedConversion) -> None:
    with pytest.raises(AssertionError) as caught:
        assert_count_per_ul(low, 3000, analyte="wbc")
    message = str(caught.value)
    assert "(LOINC 6690-2" in message
    assert message.endswith("expected 3000 cells/µL, found 3200 cells/µL")


def test_count_failure_on_a_value_not_normalized(urine: RecordedConversion) -> None:
    with pytest.raises(AssertionError) as caught:
        assert_count_per_ul(urine, 3200, analyte="wbc")
    message = str(caught.value)
    assert "expected 3200 cells/µL, found 3.2 10*9/L (not normalized" in message
    assert "flag.specimen-not-blood" in message


def test_count_needs_exactly_one_result(low: RecordedConversion) -> None:
    with pytest.raises(AssertionError, match="2 Observations in the output; pass analyte="):
        assert_count_per_ul(low, 3200)
    with pytest.raises(AssertionError, match="no Observation matches code='777-3'"):
        assert_count_per_ul(low, 3200, code="777-3")


def test_count_of_a_text_value() -> None:
    conversion = convert_message(oru_message(results=[wbc("see comment")]))
    with pytest.raises(AssertionError, match="found valueString 'see comment'"):
        assert_count_per_ul(conversion, 3200)


@pytest.mark.parametrize(
    ("unit", "says"),
    [
        ("10*3/uL", "unit text '10*3/uL' is not the /uL of its code: 1 10*3/uL is 1000 cells/µL"),
        ("%", "unit text '%' is not the /uL of its code: percent"),
    ],
)
def test_count_whose_unit_text_names_another_unit_fails(
    low: RecordedConversion, unit: str, says: str
) -> None:
    # a pipeline that puts the lab's unit back as the display: an EHR shows "3200 10*3/uL"
    # (3.2 million cells/µL) beside code /uL; it passed as 3,200 cells/µL
    bundle = copy.deepcopy(low.bundles[0])
    (count,) = find_observations(bundle, analyte="wbc")
    for entry in bundle["entry"]:
        if entry["resource"].get("id") == count["id"]:
            entry["resource"]["valueQuantity"]["unit"] = unit
    with pytest.raises(AssertionError) as caught:
        assert_count_per_ul(bundle, 3200, analyte="wbc")
    message = str(caught.value)
    assert f"expected 3200 cells/µL, found 3200 {unit} (the " in message
    assert says in message


def test_count_with_a_unit_text_of_the_same_unit_passes(low: RecordedConversion) -> None:
    bundle = copy.deepcopy(low.bundles[0])
    for entry in bundle["entry"]:
        quantity = entry["resource"].get("valueQuantity")
        if quantity is not None:
            quantity["unit"] = "cells/uL"
    assert_count_per_ul(bundle, 3200, analyte="wbc")


def test_count_sent_as_json_text_is_not_a_number(low: RecordedConversion) -> None:
    # a pipeline that serializes Decimals with json.dumps(default=str) sends "value": "3200",
    # which FHIR JSON does not allow (a decimal is a JSON number): it passed as 3,200
    feed = leukoflag.fhir.dumps(low.bundles[0]).replace(b'"value":3200,', b'"value":"3200",')
    assert b'"value":"3200"' in feed
    with pytest.raises(AssertionError) as caught:
        assert_count_per_ul(feed, 3200, analyte="wbc")
    message = str(caught.value)
    assert "(LOINC 6690-2" in message
    assert "valueQuantity.value is the JSON string '3200', not a number" in message


# "3,2" (a decimal comma) was read as 32 and "1,5" as 15: a comma only groups thousands
@pytest.mark.parametrize("expected", ["lots", "", True, "3,2", "1,5", "32,00"])
def test_count_expected_must_be_a_number(low: RecordedConversion, expected: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        assert_count_per_ul(low, expected, analyte="wbc")


# a final WBC of 2,400 and its correction to 6,400 in one message: the original is superseded
CORRECTED_CBC = oru_message(results=[wbc(2.4), wbc(6.4, status="C")])


def test_status_chooses_the_correction_beside_the_result_it_replaces() -> None:
    conversion = convert_message(CORRECTED_CBC)
    with pytest.raises(AssertionError) as caught:
        assert_count_per_ul(conversion, 6400, analyte="wbc")
    message = str(caught.value)
    assert "2 Observations match analyte='wbc'; pass analyte=, code= or status=" in message
    assert '"Leukocytes [#/volume] in Blood by Automated count"; status corrected) at' in message

    assert_count_per_ul(conversion, 6400, analyte="wbc", status="corrected")
    assert_flagged(conversion, "N", analyte="wbc", status="corrected")
    assert_count_per_ul(conversion, 2400, analyte="wbc", status="final")
    assert_not_flagged(conversion, analyte="wbc", status="final")  # flag.result-superseded
    assert [o["status"] for o in find_observations(conversion, status="corrected")] == ["corrected"]


def test_status_chooses_the_new_anc_beside_the_one_withdrawn() -> None:
    replaced = convert_message(oru_message(results=[wbc(1.0, status="W"), _percent(30), wbc(5.0)]))
    assert_count_per_ul(replaced, 1500, analyte="anc", status="final")
    assert_flagged(replaced, "N", analyte="anc", status="final")
    assert_count_per_ul(replaced, 300, analyte="anc", status="entered-in-error")


def test_status_of_a_component_is_its_panels() -> None:
    panel = panel_observation([wbc(3.2, status="corrected"), anc(1.2, status="corrected")])
    assert len(find_observations(panel, status="corrected")) == 3  # the panel and its components
    assert_count_per_ul(convert_message(panel), 1200, analyte="anc", status="corrected")
    with pytest.raises(
        AssertionError, match="no Observation matches analyte='wbc', status='final'"
    ):
        assert_flagged(convert_message(panel), "L", analyte="wbc", status="final")


def test_an_unknown_status_is_a_usage_error(low: RecordedConversion) -> None:
    with pytest.raises(ValueError, match=r"status: an Observation.status .*'C'"):
        assert_flagged(low, "L", status="C")


# --------------------------------------------------------------------------- assert_no_data_loss


def test_no_data_loss_passes_for_a_clean_conversion(low: RecordedConversion) -> None:
    assert_no_data_loss(low)


def test_no_data_loss_ignores_the_derived_anc_leukoflag_adds() -> None:
    percent = result(loinc("770-8", "Neutrophils/100 leukocytes"), "40", "%")
    conversion = convert_message(oru_message(results=[wbc(3.2), percent]))
    assert len(find_observations(conversion)) == 3
    assert_no_data_loss(conversion)


def test_no_data_loss_passes_for_fhir_input() -> None:
    assert_no_data_loss(convert_message(fhir_bundle([wbc(3.2), anc(1.2)])))
    assert_no_data_loss(convert_message([observation(wbc(3.2)), observation(anc(1.2))]))


def test_no_data_loss_lists_rejected_inputs() -> None:
    conversion = convert_message(b"MSH|^~\\&|LABSYS|CITYLAB")
    assert len(conversion.rejected) == 1
    with pytest.raises(AssertionError) as caught:
        assert_no_data_loss(conversion)
    message = str(caught.value)
    assert message.startswith("data lost in conversion:")
    assert f"rejected MSG[1] of <test>: {conversion.rejected[0].reason}" in message


def test_no_data_loss_of_rejected_fhir_items_names_only_the_rejection(tmp_path: Path) -> None:
    # an NDJSON export whose second Observation strict mode rejects: its Observation was also
    # listed as "not in the output", which the rejection says, as for a rejected HL7 v2 message
    good, bad = observation(wbc(3.2)), observation(anc(1.0))
    bad["status"] = "done"
    export = convert_message([good, bad], strict=True)
    (rejected,) = export.rejected
    with pytest.raises(AssertionError) as caught:
        assert_no_data_loss(export)
    assert str(caught.value) == (
        f"data lost in conversion:\n  - rejected ITEM[2] of <test>: {rejected.reason}"
    )
    # the same, item by item: the rejected Outcome against its own line
    feed = tmp_path / "export.ndjson"
    feed.write_text(ndjson(good, bad), "utf-8")
    _, second = leukoflag.iter_file(feed, Settings(strict=True))
    assert second.rejected is not None
    with pytest.raises(AssertionError) as caught:
        assert_no_data_loss(second, ndjson(bad))
    assert str(caught.value) == (
        f"data lost in conversion:\n  - rejected ITEM[2] of {feed}: {second.rejected.reason}"
    )


def test_no_data_loss_lists_error_issues() -> None:
    conversion = Conversion(
        issues=[
            Issue(Severity.ERROR, "fhir.example-error", "MSG[1]/OBX[2]", "could not be written"),
            Issue(Severity.WARNING, "units.no-unit", "MSG[1]/OBX[1]-6", "no unit"),
        ]
    )
    with pytest.raises(AssertionError) as caught:
        assert_no_data_loss(conversion)
    message = str(caught.value)
    assert "error Issue fhir.example-error at MSG[1]/OBX[2]: could not be written" in message
    assert "units.no-unit" not in message


def test_no_data_loss_finds_an_obx_without_observation(low: RecordedConversion) -> None:
    damaged = copy.deepcopy(low)
    entries = damaged.bundles[0]["entry"]
    entries[:] = [e for e in entries if "751-8" not in str(e["resource"].get("code"))]
    with pytest.raises(AssertionError) as caught:
        assert_no_data_loss(damaged)
    assert "MSG[1]/OBX[2] (code '751-8') has no Observation in bundles[0]" in str(caught.value)


def test_no_data_loss_matches_a_result_coded_in_the_alternate_components_only() -> None:
    # OBX-3 ^^^6690-2^Leukocytes…^LN: the reader takes the alternate code; the check did not
    alternate_only = wbc(3.2, code=(Code(""), loinc("6690-2", "Leukocytes [#/volume] in Blood")))
    conversion = convert_message(oru_message(results=[alternate_only, anc(1.2)]))
    assert_no_data_loss(conversion)
    damaged = copy.deepcopy(conversion)
    damaged.bundles[0]["entry"] = [
        e for e in damaged.bundles[0]["entry"] if "6690-2" not in str(e["resource"].get("code"))
    ]
    with pytest.raises(AssertionError, match=r"MSG\[1\]/OBX\[1\] \(code '6690-2'\) has no"):
        assert_no_data_loss(damaged)


def test_no_data_loss_matches_a_result_without_code_by_its_text() -> None:
    text_only = wbc(3.2, code=Code("", "WBC count"))
    conversion = convert_message(oru_message(results=[text_only, anc(1.2)], delimiters="#$*@!"))
    assert_no_data_loss(conversion)
    damaged = copy.deepcopy(conversion)
    damaged.bundles[0]["entry"] = [
        e for e in damaged.bundles[0]["entry"] if "WBC count" not in str(e["resource"].get("code"))
    ]
    with pytest.raises(AssertionError, match=r"MSG\[1\]/OBX\[1\] \(text 'WBC count'\)"):
        assert_no_data_loss(damaged)


def test_no_data_loss_matches_a_result_sent_without_any_obx3() -> None:
    # a feed whose OBX-3 is empty: leukoflag writes the Observation with its code data-absent
    # (fhir.code-missing), but the check said "MSG[1]/OBX[1] (text '') has no Observation"
    unnamed = result(Code(""), 3.2, "K/uL")
    conversion = convert_message(oru_message(results=[unnamed, wbc(3.2)]))
    assert "fhir.code-missing" in {issue.code for issue in conversion.issues}
    assert_no_data_loss(conversion)
    damaged = copy.deepcopy(conversion)
    damaged.bundles[0]["entry"] = [
        e
        for e in damaged.bundles[0]["entry"]
        if "coding" in e["resource"].get("code", {"coding": 0})
    ]
    with pytest.raises(AssertionError, match=r"MSG\[1\]/OBX\[1\] \(no code or text\) has no"):
        assert_no_data_loss(damaged)


def test_no_data_loss_reads_the_escapes_of_a_text_only_obx3_as_the_standard_does() -> None:
    # HL7 v2 2.7.4: \H\ and \N\ only start and end highlighting, \E\ is the escape
    # character itself. The check kept "\H\count\N\" and read "\E\S\E\" as
    # "\E^E\" (each escape undone in turn), so both results were reported lost
    message = "\r".join(
        [
            "MSH|^~\\&|LABSYS|CITYLAB|EHR|GENHOSP|20261124092600-0500||ORU^R01^ORU_R01|C77|P|2.5.1",
            "PID|1||MRN0042817^^^GENHOSP^MR||Okafor^Ada||19800314|F",
            "OBR|1|ORD1001|LAB2001|57021-8^CBC^LN|||20261124083000-0500||||||||||||||||||F",
            "OBX|1|NM|^WBC \\H\\count\\N\\||3.2|10*9/L^10*9/L^UCUM|4.0-11.0|L|||F",
            "OBX|2|NM|^Smear\\E\\S\\E\\est||3.1|10*9/L^10*9/L^UCUM|4.0-11.0|L|||F",
            "",
        ]
    )
    conversion = convert_message(message)
    texts = {o["code"].get("text") for o in find_observations(conversion)}
    assert {"WBC count", "Smear\\S\\est"} <= texts
    assert_no_data_loss(conversion)
    damaged = copy.deepcopy(conversion)
    damaged.bundles[0]["entry"] = [
        e for e in damaged.bundles[0]["entry"] if "Smear" not in str(e["resource"].get("code"))
    ]
    with pytest.raises(AssertionError) as caught:
        assert_no_data_loss(damaged)
    assert str(caught.value).endswith(
        "MSG[1]/OBX[2] (text 'Smear\\\\S\\\\est') has no Observation in bundles[0]"
    )


def test_no_data_loss_with_the_input_given_explicitly(low: RecordedConversion) -> None:
    plain = Conversion(bundles=copy.deepcopy(low.bundles))
    plain.bundles[0]["entry"] = [
        e for e in plain.bundles[0]["entry"] if e["resource"]["resourceType"] != "Observation"
    ]
    assert_no_data_loss(plain)  # without the input only rejections and errors can be checked
    with pytest.raises(AssertionError, match=r"MSG\[1\]/OBX\[1\] \(code '6690-2'\)"):
        assert_no_data_loss(plain, LOW_CBC.text)


def test_no_data_loss_takes_the_input_as_the_builder_gave_it(low: RecordedConversion) -> None:
    # a test that converted with leukoflag.convert passes the message it built: that was a
    # TypeError ('OruMessage' object is not subscriptable)
    plain = Conversion(bundles=copy.deepcopy(low.bundles))
    assert_no_data_loss(plain, LOW_CBC)
    plain.bundles[0]["entry"] = [
        e for e in plain.bundles[0]["entry"] if "751-8" not in str(e["resource"].get("code"))
    ]
    with pytest.raises(AssertionError, match=r"MSG\[1\]/OBX\[2\] \(code '751-8'\) has no"):
        assert_no_data_loss(plain, LOW_CBC)


def test_no_data_loss_takes_text_read_with_surrogate_escapes() -> None:
    # an ISO 8859-1 message read as UTF-8 with errors="surrogateescape", as docs/index.md says
    # convert takes it: its text was encoded strictly, a UnicodeEncodeError at the ü
    latin = oru_message(patient=patient(family="Müller"), results=[wbc(3.2)], charset="8859/1")
    text = latin.encode().decode("utf-8", "surrogateescape")
    conversion = leukoflag.convert(text)
    assert conversion.bundles[0]["entry"][0]["resource"]["name"][0]["family"] == "Müller"
    assert_no_data_loss(conversion, text)
    conversion.bundles[0]["entry"] = [
        e for e in conversion.bundles[0]["entry"] if e["resource"]["resourceType"] != "Observation"
    ]
    with pytest.raises(AssertionError, match=r"MSG\[1\]/OBX\[1\] \(code '6690-2'\) has no"):
        assert_no_data_loss(conversion, text)


def test_no_data_loss_counts_messages_against_bundles() -> None:
    conversion = convert_message([oru_message(), oru_message(results=[wbc(3.2)])])
    conversion.bundles.pop()
    with pytest.raises(AssertionError, match="2 messages read, but 1 Bundles and 0 rejected"):
        assert_no_data_loss(conversion)


def test_no_data_loss_finds_a_missing_fhir_observation() -> None:
    conversion = convert_message(fhir_bundle([wbc(3.2), anc(1.2)]))
    dropped = conversion.bundles[0]["entry"].pop()
    with pytest.raises(AssertionError) as caught:
        assert_no_data_loss(conversion)
    assert f"input Observation {dropped['resource']['id']}" in str(caught.value)
    assert "is not in the output" in str(caught.value)


def test_no_data_loss_finds_locally_coded_fhir_results_leukoflag_added_a_loinc_to() -> None:
    # the lab's own code: leukoflag adds LOINC 26464-8 to the result it normalizes
    white_cells = Code("WBCC", "White Cell Count", "99RVS")
    panel = convert_message(panel_observation([wbc(3.2, "K/µL", code=white_cells), anc(1.2)]))
    without_id = observation(wbc(3.2, "K/µL", code=white_cells))
    del without_id["id"]
    single = convert_message(without_id)
    assert find_observations(panel, code="WBCC")[0]["code"]["coding"][1]["code"] == "26464-8"
    assert find_observations(single, code="WBCC")[0]["code"]["coding"][1]["code"] == "26464-8"

    assert_no_data_loss(panel)
    assert_no_data_loss(single)


def test_no_data_loss_finds_a_missing_fhir_component() -> None:
    white_cells = Code("WBCC", "White Cell Count", "99RVS")
    conversion = convert_message(panel_observation([wbc(3.2, "K/µL", code=white_cells), anc(1.2)]))
    del conversion.bundles[0]["component"][0]
    with pytest.raises(AssertionError) as caught:
        assert_no_data_loss(conversion)
    assert "input component of Observation" in str(caught.value)
    assert '(99rvs WBCC "White Cell Count") at component[0] is not in the output' in str(
        caught.value
    )


def test_no_data_loss_does_not_take_a_withdrawn_anc_for_a_measured_one() -> None:
    # order 1: a WBC posted wrong (W) beside its neutrophil % withdraws the ANC they gave,
    # written 26499-4 without explanation; order 2: the lab's own ANC, sent as 26499-4
    message = oru_message(
        orders=[order([wbc(3.0, status="W"), _percent(41)]), order([anc(1.2, code=NEUTROPHILS)])]
    )
    conversion = convert_message(message)
    assert_no_data_loss(conversion)
    damaged = copy.deepcopy(conversion)
    damaged.bundles[0]["entry"] = [
        e
        for e in damaged.bundles[0]["entry"]
        if not ("26499-4" in str(e["resource"].get("code")) and e["resource"]["status"] == "final")
    ]
    with pytest.raises(AssertionError, match=r"MSG\[1\]/OBX\[3\] \(code '26499-4'\)"):
        assert_no_data_loss(damaged)


def test_a_withdrawn_anc_is_named_as_derived_and_entered_in_error_in_failures() -> None:
    # the WBC posted wrong is replaced in the same message: the new ANC beside the withdrawn one
    replaced = oru_message(results=[wbc(1.0, status="W"), _percent(30), wbc(5.0)])
    conversion = convert_message(replaced)
    with pytest.raises(AssertionError) as caught:
        assert_flagged(conversion, "N", analyte="anc")
    message = str(caught.value)
    assert (
        '(LOINC 26499-4 "Neutrophils [#/volume] in Blood"; derived by leukoflag; '
        "status entered-in-error) at bundles[0].entry[9]: not flagged by leukoflag "
        "(value 300 cells/µL)"
    ) in message
    assert "bundles[0].entry[8]" not in message  # the new ANC, 1,500: N


# --------------------------------------------------------------------------- assert_valid_fhir


def test_valid_fhir_passes_for_leukoflag_output(low: RecordedConversion) -> None:
    assert_valid_fhir(low)
    assert_valid_fhir(low.bundles[0], version="R4")
    assert_valid_fhir(convert_message(LOW_CBC, Settings(fhir_version="R5")))


def test_valid_fhir_failure_names_the_resource_and_problem(low: RecordedConversion) -> None:
    broken = copy.deepcopy(low.bundles[0])
    obs = next(
        e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "Observation"
    )
    obs["status"] = "done"
    with pytest.raises(AssertionError) as caught:
        assert_valid_fhir([broken])
    message = str(caught.value)
    assert message.startswith("not valid FHIR R4:")
    assert f"Bundle {broken['id']} at [0]:" in message
    assert "done" in message


@pytest.mark.parametrize("version", ["r5", "R4B", "4.0.1"])
def test_valid_fhir_for_a_version_it_cannot_check_says_so(
    low: RecordedConversion, version: str
) -> None:
    # a KeyError from inside the validator told the test author nothing; then the message
    # named fhir_version, an argument the call does not have
    said = f"^assert_valid_fhir: version is 'R4' or 'R5', got '{version}'$"
    with pytest.raises(ValueError, match=said):
        assert_valid_fhir(low, version=version)
    with pytest.raises(ValueError, match=said):
        assert_valid_fhir(Conversion(), version=version)  # not "the output is empty"


def test_valid_fhir_on_a_rejected_message_says_why_there_is_no_output() -> None:
    nameless = oru_message(patient=patient(family="", given=[]))  # PID-5 is required
    conversion = convert_message(nameless, strict=True)
    with pytest.raises(AssertionError) as caught:
        assert_valid_fhir(conversion)
    assert str(caught.value) == (
        "no FHIR resource to validate: the output is empty\n"
        "Issues leukoflag reported:\n"
        "  - input.rejected (error) at MSG[1]: strict structure failed: "
        "PID[1]-5 (patient name) is empty: ORU_R01 in HL7 v2.5.1 requires it"
    )


def test_valid_fhir_checks_a_plain_conversion_in_the_version_it_was_written_in(
    tmp_path: Path,
) -> None:
    # leukoflag.convert, not the fixture: its R5 Bundle was checked with the R4 models
    r5 = leukoflag.convert(LOW_CBC.text, Settings(fhir_version="R5"))
    assert r5.fhir_version == "R5"
    assert_valid_fhir(r5)
    path = tmp_path / "low.hl7"
    path.write_bytes(LOW_CBC.encode())
    assert_valid_fhir(leukoflag.convert_file(path, Settings(fhir_version="R5")))
    broken = copy.deepcopy(r5)
    broken.bundles[0]["entry"][-1]["resource"]["status"] = "done"
    with pytest.raises(AssertionError, match=r"^not valid FHIR R5:"):
        assert_valid_fhir(broken)


def test_valid_fhir_checks_an_outcome_in_the_version_it_was_written_in(tmp_path: Path) -> None:
    # an Outcome of iter_file(path, R5) was checked with the R4 models: Encounter.class failed
    path = tmp_path / "low.hl7"
    path.write_bytes(LOW_CBC.encode())
    (outcome,) = leukoflag.iter_file(path, Settings(fhir_version="R5"))
    assert outcome.fhir_version == "R5"
    assert_valid_fhir(outcome)
    assert_valid_fhir([outcome, *leukoflag.iter_file(path)])
    with pytest.raises(AssertionError, match=r"^not valid FHIR R4:"):
        assert_valid_fhir(outcome, version="R4")


def test_valid_fhir_checks_each_conversion_of_a_list_in_its_own_version(
    low: RecordedConversion,
) -> None:
    r5 = leukoflag.convert(LOW_CBC.text, Settings(fhir_version="R5"))
    assert_valid_fhir([low, r5])
    broken = copy.deepcopy(low)
    broken.bundles[0]["entry"][-1]["resource"]["status"] = "done"
    with pytest.raises(AssertionError) as caught:
        assert_valid_fhir([r5, broken])
    message = str(caught.value)
    assert message.startswith("not valid FHIR R4 and R5:")
    assert f"Bundle {low.bundles[0]['id']} at [1].bundles[0] (R4): " in message
    assert "(R5)" not in message


def test_valid_fhir_takes_the_components_find_observations_returned() -> None:
    # docs/testing.md: each assertion takes what find_observations returned, a panel's
    # component too; assert_valid_fhir failed each valid component 'unknown resourceType None'
    panel = convert_message(panel_observation([wbc(3.2), anc(1.0)]), Settings(strict=True))
    assert_valid_fhir(find_observations(panel))  # the panel, then its two components
    assert_valid_fhir(find_observations(panel, analyte="wbc"))  # a component alone
    (alone,) = find_observations(panel, analyte="anc")
    assert_valid_fhir(alone)
    broken = {**alone, "valueQuantity": {**alone["valueQuantity"], "value": "1000"}}
    with pytest.raises(AssertionError) as caught:
        assert_valid_fhir(broken)
    assert str(caught.value) == (
        "not valid FHIR R4:\n  - component: component.valueQuantity.value: the string '1000': "
        "FHIR JSON writes a decimal as a number"
    )


def test_valid_fhir_of_nothing_fails() -> None:
    with pytest.raises(AssertionError, match="no FHIR resource to validate"):
        assert_valid_fhir(Conversion())


# --------------------------------------------------------------------------- find_observations


def test_find_observations_filters_by_analyte_and_code(low: RecordedConversion) -> None:
    assert len(find_observations(low)) == 2
    assert [o["code"]["coding"][0]["code"] for o in find_observations(low, analyte="anc")] == [
        "751-8"
    ]
    assert find_observations(low, code="nope") == []
    with pytest.raises(TypeError, match="got HL7 v2 text: convert the message first"):
        find_observations("OBX|1")


def test_fhir_json_bytes_from_a_feed_are_checked_as_the_resources_they_hold(
    low: RecordedConversion,
) -> None:
    # what the pipeline's outbound queue (or `leukoflag convert` on stdout, or -o DIR) holds:
    # JSON bytes, not a dict; they were refused as "raw text"
    line = leukoflag.fhir.dumps(low.bundles[0])
    assert_flagged(line, "L", analyte="wbc")
    assert_count_per_ul(line.decode(), 3200, analyte="wbc")
    assert_valid_fhir(leukoflag.fhir.dumps(low.bundles[0], pretty=True))
    feed = b"\xef\xbb\xbf" + line + b"\n\n" + line + b"\n"  # NDJSON, as stdout carries it
    assert len(find_observations(feed, analyte="anc")) == 2
    with pytest.raises(
        AssertionError, match=r"(?s)expected interpretation 'LL'.* at \[1\]\.entry\["
    ):
        assert_flagged(feed, "LL", analyte="wbc")
    assert len(find_observations(b"[" + line + b"," + line + b"]", analyte="wbc")) == 2


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            LOW_CBC.text,
            "got HL7 v2 text: convert the message first (leukoflag_convert, convert_message)",
        ),
        (b"3200 cells/uL", "FHIR dict or its JSON), got text that is not JSON"),
        (b"[1, 2]", "a resource is a JSON object, got int at [0]"),
        (b'{"resourceType": "Bundle"}\n{"resourceType": ', "pass FHIR JSON or NDJSON: line 2"),
        # the line of the file, blank lines counted: it said "line 2" of the fourth line
        (
            b'{"resourceType": "Bundle"}\n\n\n{"resourceType": ',
            "pass FHIR JSON or NDJSON: line 4:",
        ),
    ],
)
def test_text_that_is_not_fhir_json_says_what_to_pass(text: str | bytes, says: str) -> None:
    with pytest.raises(TypeError) as raised:
        assert_flagged(text, "L")
    assert says in str(raised.value)


def test_the_builders_fhir_input_is_refused_where_it_would_pass_unconverted() -> None:
    # a test that forgot to convert: the builder's urine WBC (and its /uL count) passed
    # assert_not_flagged and assert_count_per_ul whatever leukoflag does with it
    urine = observation(wbc(3200, ucum("/uL"), flag=None), specimen="urine")
    says = r"got the builders' FHIR input \(FhirResource\): convert it first"
    with pytest.raises(TypeError, match=says):
        assert_not_flagged(urine)
    with pytest.raises(TypeError, match=says):
        assert_count_per_ul(urine, 3200)
    with pytest.raises(TypeError, match=says):
        assert_flagged([fhir_bundle([wbc(3.2)])], "L")
    # converted, the same checks pass; the builders' output is still validated and searched
    assert_not_flagged(convert_message(urine), analyte="wbc")
    assert_valid_fhir(urine)
    assert len(find_observations(urine)) == 1


def test_an_output_that_is_not_one_says_what_to_pass(low: RecordedConversion) -> None:
    # a helper that forgot its return gave None: "'NoneType' object is not iterable"
    for wrong, named in ((None, "NoneType"), (low.findings[0], "Finding")):
        with pytest.raises(TypeError, match=f"pass the converted output .*not {named}$"):
            assert_flagged(wrong, "L")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not NoneType"):
        assert_count_per_ul(None, 3200)  # type: ignore[arg-type]
    # a Bundle has no rejected items: "'dict' object has no attribute 'rejected'"
    with pytest.raises(TypeError, match=r"assert_no_data_loss: pass the Conversion .*not dict"):
        assert_no_data_loss(low.bundles[0])  # type: ignore[arg-type]
    # what convert_message cannot convert: "'int' object is not iterable"
    with pytest.raises(TypeError, match=r"convert: pass an OruMessage, .*got int"):
        convert_message(3200)  # type: ignore[arg-type]
    # sample messages read from the lab's specification are texts: "a list of HL7 v2 messages"
    # was what the error asked for, and what it refused
    samples = [LOW_CBC.text, oru_message().text]
    with pytest.raises(TypeError) as raised:
        convert_message(samples)  # type: ignore[arg-type]
    assert str(raised.value).endswith(
        "got a list of str: a list holds builder messages (OruMessage, Hl7Batch) or FHIR dicts; "
        "join texts or bytes into one (''.join(...)), each message ending with its segment "
        "terminator"
    )
    joined = convert_message("".join(samples))
    assert (len(joined.bundles), joined.rejected) == (2, [])
