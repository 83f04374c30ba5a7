"""Issue texts and Rejected reasons quote input bounded: a long field's start, an ellipsis and its
length, never the whole field (megabytes of field made megabytes of report); short quotes stay
exactly ``repr(text)``."""

from __future__ import annotations

import json
import re

import leukoflag
from leukoflag._quote import LONGEST_QUOTE, defect, quoted, shortened

LONG = "Z" * 20_000
ELIDED = "… (20,000 characters)"
QUOTES_LONG = re.compile(r"… \([0-9,]{6} characters\)")
# The longest Issue text or reason: two bounded quotes and the words around them.
BOUND = 2 * LONGEST_QUOTE + 240

MSH = (
    "MSH|^~\\&|HEMLAB|NORTHGATE^2.16.840.1.113883.19.77^ISO|EHR|NORTHGATE|20261203141522-0600||"
    "ORU^R01^ORU_R01|NG2612030051|P|2.5.1|||||USA|UNICODE UTF-8"
)
V2_CODE = "6690-2^Leukocytes [#/volume] in Blood by Automated count^LN"


def test_a_short_quote_is_its_repr() -> None:
    assert quoted("10^3/uL") == "'10^3/uL'"
    assert quoted("it's") == repr("it's")
    assert quoted("Z" * LONGEST_QUOTE) == repr("Z" * LONGEST_QUOTE)
    assert quoted(12) == "12"
    assert shortened("\\Zlocal") == "\\Zlocal"


def test_a_long_quote_keeps_its_start_and_says_its_length() -> None:
    assert quoted(LONG) == f"{'Z' * LONGEST_QUOTE!r}{ELIDED}"
    assert shortened(LONG) == f"{'Z' * LONGEST_QUOTE}{ELIDED}"
    assert quoted([LONG]) == f"{'[' + repr(LONG)[: LONGEST_QUOTE - 1]}… (20,004 characters)"


def test_hl7v2_issues_quote_a_huge_field_bounded() -> None:
    segments = (
        f"PID|1||NG-771204^^^NORTHGATE^MR||BRANDVOLD^INGRID^M^{LONG}||19670302|{LONG}",
        f"NTE|1||{LONG}",
        f"PV1|1|{LONG}",
        f"ORC|RE|PL{LONG}^EHR|FL-9902^HEMLAB",
        f"OBR|1|PL-4471^EHR|FL-9902^HEMLAB|57021-8^CBC^LN|||{LONG}||||||||||||||||||{LONG}",
        (f"OBX|1|NM|6690-2^Leukocytes \\Z{LONG}\\^LN||2.9|{LONG}|11.0-4.0 {LONG}|{LONG}|||{LONG}"),
        f"OBX|2|SN|{V2_CODE}||^{LONG}^-^2|10*3/uL^^UCUM^{LONG}|4.0-11.0||||F",
        f"OBX|3|NM|{V2_CODE}||2.9|{LONG}|4.0-11.0||||F",
        f"OBX|4|NM|{V2_CODE}||2.9|10*3/uL^^UCUM|4.0-11.0|{'~'.join(['H'] * 10_000)}|||F",
        f"SPM|1|SP7790^HEMLAB||BLDV^Blood, venous^HL70487|||||||{LONG}^Patient",
    )
    conv = leukoflag.convert("\r".join((MSH, *segments)) + "\r")
    assert len(conv.bundles) == 1
    quoting = {i.code for i in conv.issues if QUOTES_LONG.search(i.text)}
    assert quoting >= {
        "hl7v2.component-unmapped",  # PID-5.4, OBX-6.4
        "hl7v2.sex-unknown",
        "fhir.note-unmapped",
        "fhir.patient-class-unknown",
        "hl7v2.order-id-mismatch",
        "hl7v2.timestamp-invalid",
        "hl7v2.report-status-unknown",
        "hl7v2.range-inverted",
        "hl7v2.flag-unknown",
        "hl7v2.status-unknown",
        "units.unknown-unit",
        "hl7v2.specimen-role-unknown",
        "flag.status-not-flaggable",
        "fhir.interpretation-unknown",
    }
    (disagreement,) = (i.text for i in conv.issues if i.code == "flag.sender-disagrees")
    assert disagreement.startswith("the sender flagged H~H~H~")
    assert "… (19,999 characters); leukoflag computed L" in disagreement
    escape = "locally defined escape \\" + "Z" * LONGEST_QUOTE + "…"
    assert any(escape in i.text for i in conv.issues)
    assert max(len(i.text) for i in conv.issues) <= BOUND


def test_quotes_cut_to_their_own_length_say_so_too() -> None:
    # Issues that always quoted only the start of a field (60 to 200 characters) now mark the
    # cut and give the full length, like every other quote of input.
    segments = (
        "PID|1||NG-771204^^^NORTHGATE^MR||BRANDVOLD^INGRID||19670302|F",
        "OBR|1|PL-4471^EHR|FL-9902^HEMLAB|57021-8^CBC^LN|||20261203120000-0600",
        f"OBX|1|NM|{V2_CODE}||{'9.' * 100}|10*3/uL^^UCUM|4.0-11.0||||F",
        f"OBX|2|ST|{V2_CODE}||7.9 {'x' * 300}|10*3/uL^^UCUM|4.0-11.0||||F",
        f"ZLK|1|{'q' * 500}",
        f"junk line that is not a segment {'j' * 300}",
    )
    conv = leukoflag.convert("\r".join((MSH, *segments)) + "\r")
    texts = {i.code: i.text for i in conv.issues}
    assert texts["hl7v2.value-not-numeric"] == (
        f"NM value {'9.' * 30!r}… (200 characters) is not a decimal number: kept as text"
    )
    assert texts["hl7v2.value-number-in-text"].startswith(
        f"ST value {'7.9 ' + 'x' * 56!r}… (304 characters) read as the number 7.9"
    )
    assert texts["hl7v2.segment-unmapped"].endswith(f"{'ZLK|1|' + 'q' * 114!r}… (506 characters)")
    skipped = texts["hl7v2.line-not-segment"]
    assert skipped.endswith(f"{'junk line that is not a segment ' + 'j' * 48!r}… (332 characters)")


def test_a_cancelled_order_quotes_its_report_status_bounded() -> None:
    # ORC-1 OC beside an OBR-25 of 20,000 characters: the warning names OBR-25 as any Issue does
    segments = (
        "PID|1||NG-771204^^^NORTHGATE^MR||BRANDVOLD^INGRID||19670302|F",
        "ORC|OC|PL-4471^EHR|FL-9902^HEMLAB",
        f"OBR|1|PL-4471^EHR|FL-9902^HEMLAB|57021-8^CBC^LN|||20261203120000-0600{'|' * 18}{LONG}",
        f"OBX|1|NM|{V2_CODE}||2.9|10*3/uL^^UCUM|4.0-11.0||||F",
    )
    conv = leukoflag.convert("\r".join((MSH, *segments)) + "\r")
    (cancelled,) = [i.text for i in conv.issues if i.code == "hl7v2.order-control-cancelled"]
    assert f"(OBR-25 {'Z' * LONGEST_QUOTE!r}{ELIDED}, OBX-11)" in cancelled
    assert len(cancelled) <= BOUND


def test_a_range_under_thousands_of_labels_names_ten_of_them() -> None:
    # An OBX-7 a template repeated 2,000 times: the Issue names the first ten labels, and how
    # many more, not 2,000 quoted labels (tens of kilobytes per result)
    bands = "; ".join(f"{day}-{day + 1} d: 6.0-17.5" for day in range(2_000))
    sexes = "M 4.0-10.0 F 4.5-11.0 K 4.5-11.0 " * 1_000
    segments = (
        "PID|1||NG-771204^^^NORTHGATE^MR||BRANDVOLD^INGRID||19670302|F",
        "OBR|1|PL-4471^EHR|FL-9902^HEMLAB|57021-8^CBC^LN|||20261203120000-0600",
        f"OBX|1|NM|{V2_CODE}||2.9|10*3/uL^^UCUM|{bands}||||F",
        f"OBX|2|NM|{V2_CODE}||2.9|10*3/uL^^UCUM|{sexes}||||F",
    )
    conv = leukoflag.convert("\r".join((MSH, *segments)) + "\r")
    by_age, by_sex = (i.text for i in conv.issues if i.code == "flag.lab-range-unusable")
    assert "for the ages '0-1 d', '1-2 d', " in by_age
    assert "'8-9 d', '9-10 d', and 1,990 more, and the patient (born 1967-03-02)" in by_age
    assert "limits under 'M', 'F', 'K', 'M', 'F', 'K', 'M', 'F', 'K', 'M', and 2,990 more" in by_sex
    assert "'K', 'K', and 990 more are no labels of a sex" in by_sex
    assert max(len(by_age), len(by_sex)) <= BOUND


def test_a_value_of_thousands_of_bad_escapes_names_each_problem_once_and_five_at_most() -> None:
    # A UNC path's backslashes (\\\\srv\\…: empty escapes) sent unescaped, a note whose
    # local escapes number thousands, a CWE with one in each of 2,000 components: each Issue
    # names a problem once, and at most five, not 20,000 characters per field
    path = "\\\\" * 2_000 + "labshare"
    note = "".join(f"\\Zcol{column}\\ 4.2" for column in range(2_000))
    coded = "POS\\Z\\^" * 2_000
    segments = (
        "PID|1||NG-771204^^^NORTHGATE^MR||BRANDVOLD^INGRID||19670302|F",
        "OBR|1|PL-4471^EHR|FL-9902^HEMLAB|57021-8^CBC^LN|||20261203120000-0600",
        f"OBX|1|ST|{V2_CODE}||{path}|10*3/uL^^UCUM|4.0-11.0||||F",
        f"NTE|1||{note}",
        f"OBX|2|CWE|{V2_CODE}||{coded}|10*3/uL^^UCUM|4.0-11.0||||F",
    )
    conv = leukoflag.convert("\r".join((MSH, *segments)) + "\r")
    escapes = [(i.location, i.text) for i in conv.issues if i.code == "hl7v2.escape-invalid"]
    texts = dict(escapes)
    assert len(escapes) == len(texts) == 3
    # the last backslash closes the last empty sequence, no escape character following it: not
    # also an unterminated '\labshare' (see test_encoding, 'KOWALCZYK\Q\')
    assert texts["MSG[1]/OBX[1]-5"] == "empty escape sequence (two escape characters in a row)"
    assert texts["MSG[1]/NTE[1]-3"] == (
        "locally defined escape \\Zcol0\\ has no agreed meaning; "
        "locally defined escape \\Zcol1\\ has no agreed meaning; "
        "locally defined escape \\Zcol2\\ has no agreed meaning; "
        "locally defined escape \\Zcol3\\ has no agreed meaning; "
        "locally defined escape \\Zcol4\\ has no agreed meaning (+1,995 more)"
    )
    assert texts["MSG[1]/OBX[2]-5"] == "locally defined escape \\Z\\ has no agreed meaning"


def _observation(**elements: object) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
        "valueQuantity": {"value": 2.9, "unit": "10*3/uL"},
        **elements,
    }


def test_fhir_issues_and_reasons_quote_a_huge_element_bounded() -> None:
    entries = [
        _observation(status=LONG, subject={"reference": f"#{LONG}"}, effectiveDateTime=LONG),
        _observation(valueQuantity={"value": 2.9, "unit": LONG}),
        _observation(valueQuantity={"value": 2.9, "unit": "10*3/uL"}),
        {
            "resourceType": "DiagnosticReport",
            "status": LONG,
            "code": {"text": "CBC"},
            "result": [{"reference": f"urn:uuid:{LONG}"}],
        },
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:e{i}", "resource": r} for i, r in enumerate(entries)],
    }
    lines = [
        bundle,
        {"resourceType": LONG},
        _observation(valueQuantity={"value": LONG}),
    ]
    conv = leukoflag.convert("\n".join(json.dumps(line) for line in lines) + "\n")
    assert len(conv.bundles) == 1
    assert all(QUOTES_LONG.search(r.reason) for r in conv.rejected)
    assert len(conv.rejected) == 2
    quoting = {i.code for i in conv.issues if QUOTES_LONG.search(i.text)}
    assert quoting >= {
        "fhir.status-unknown",
        "fhir.reference-unresolved",
        "fhir.timestamp-invalid",
        "units.unknown-unit",
        "input.rejected",
    }
    assert max(len(i.text) for i in conv.issues) <= BOUND
    assert max(len(r.reason) for r in conv.rejected) <= BOUND


def test_a_defect_reason_names_the_exception_with_its_text_bounded() -> None:
    # an exception's text may quote the input: a 1 MB field made a 1 MB rejection reason
    assert defect("read this message", KeyError("OBX")) == (
        "leukoflag could not read this message (KeyError: 'OBX'); please report it"
    )
    huge = defect("convert this item", ValueError("x" * 1_000_000))
    assert huge == (
        f"leukoflag could not convert this item (ValueError: {'x' * 200}… (1,000,000 characters));"
        " please report it"
    )


def test_a_number_of_thousands_of_digits_is_shown_bounded_as_quotes_are() -> None:
    # The number read from a field was shown whole beside the bounded quote of the field: a
    # 20,000-digit WBC gave a 40,000-character units.implausible text.
    digits = "7" * 20_000
    segments = (
        "PID|1||NG-771204^^^NORTHGATE^MR||BRANDVOLD^INGRID||19670302|F",
        "OBR|1|PL-4471^EHR|FL-9902^HEMLAB|57021-8^CBC^LN|||20261203120000-0600",
        f"OBX|1|NM|{V2_CODE}||{digits}|10*3/uL^^UCUM|4.0-11.0||||F",
        f"OBX|2|NM|{V2_CODE}||{digits}||4.0-11.0||||F",
        f"OBX|3|ST|{V2_CODE}||{digits}|10*3/uL^^UCUM|4.0-11.0||||F",
        f"OBX|4|NM|{V2_CODE}||<{digits}|10*3/uL^^UCUM|4.0-11.0||||F",
        f"OBX|5|NM|{V2_CODE}||{digits}|mg/dL|4.0-11.0||||F",
        f"OBX|6|NM|{V2_CODE}||2.9|10*3/uL^^UCUM|4.0-{digits}||||F",
        f"OBX|7|ST|{V2_CODE}||{digits} or less (verified)|10*3/uL^^UCUM|4.0-11.0||||F",
        f"OBX|8|ST|{V2_CODE}||{digits} or less|10*3/uL^^UCUM|4.0-11.0||||F",
    )
    conv = leukoflag.convert("\r".join((MSH, *segments)) + "\r")
    texts = {(i.code, i.location): i.text for i in conv.issues}
    number = f"{'7' * LONGEST_QUOTE}… (20,000 characters)"
    assert texts["units.implausible", "MSG[1]/OBX[1]-5"] == (
        f"implausible: {number} '10*3/uL' (10*3/uL) is 7.{'7' * (LONGEST_QUOTE - 2)}… "
        "(20,008 characters) cells/µL, outside 0–1000000 for a blood WBC/ANC count "
        "(a mislabelled unit?)"
    )
    assert texts["units.implausible", "MSG[1]/OBX[2]-5"].startswith(f"implausible: {number} with")
    assert texts["hl7v2.value-number-in-text", "MSG[1]/OBX[3]-5"].endswith(
        f"read as the number {number}"
    )
    assert texts["hl7v2.value-comparator-in-nm", "MSG[1]/OBX[4]-5"].endswith(f"< {number}")
    assert f"; {number} was not normalized" in texts["units.wrong-analyte", "MSG[1]/OBX[5]-6"]
    assert "(implausible: " in texts["flag.lab-range-unusable", "MSG[1]/OBX[6]-7"]
    assert texts["hl7v2.value-bound-in-words", "MSG[1]/OBX[7]-5"].endswith(
        f"not the number {number}: kept as text"
    )
    # a plain English bound is read as one (<=): its number is shown bounded too
    assert texts["hl7v2.value-number-in-text", "MSG[1]/OBX[8]-5"].endswith(
        f"read as the bound <={number} ('or less')"
    )
    assert max(len(i.text) for i in conv.issues) <= 2 * BOUND


def test_a_json_number_of_few_bytes_and_a_huge_exponent_is_shown_with_its_exponent() -> None:
    # 1e-99999 is eight bytes of JSON; written out in cells/µL it made an Issue text of 100,000
    # characters (1e-999999999 one of a billion).
    limits = {
        "low": {"value": "LOW", "unit": "10*3/uL"},
        "high": {"value": "HIGH", "unit": "10*3/uL"},
    }
    anc = {"coding": [{"system": "http://loinc.org", "code": "751-8"}]}
    bound = {"value": "LOW", "comparator": "<", "unit": "10*3/uL"}
    lines = [
        json.dumps(_observation(referenceRange=[limits])),
        json.dumps(_observation(code=anc, valueQuantity=bound)),
    ]
    lines = [line.replace('"LOW"', "1e-99999").replace('"HIGH"', "2e-99999") for line in lines]
    conv = leukoflag.convert("\n".join(lines) + "\n")
    assert len(conv.bundles) == 2
    texts = {(i.code, i.location): i.text for i in conv.issues}
    assert texts["flag.lab-range-unusable", "ITEM[1]/Observation.referenceRange[0]"] == (
        "the lab's reference range '1E-99999-2E-99999 10*3/uL' is not used (1E-99996–2E-99996 "
        "cells/µL is not a plausible WBC range (sent in another unit than the value?)); "
        "leukoflag's default range applies"
    )
    assert texts["flag.bound-interpreted", "ITEM[2]/Observation.valueQuantity"] == (
        "the ANC value <1E-99996 cells/µL is known only by its limits; every value it allows is LL"
    )
