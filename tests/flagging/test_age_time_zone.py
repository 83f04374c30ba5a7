"""A birth date without time is a local calendar date: a result time sent in UTC is counted in
the zone of the message's local times (MSH-7's offset, else Settings.default_timezone), and when
that zone is not known and the possible local dates give different codes, no code is given."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import leukoflag
from leukoflag import fhir
from leukoflag.settings import Settings
from leukoflag.testing import builders

_ANC = "751-8^Neutrophils [#/volume] in Blood by Automated count^LN"
_WBC = "6690-2^Leukocytes [#/volume] in Blood by Automated count^LN"


def _message(
    *,
    sent: str,
    born: str,
    drawn: str,
    code: str = _ANC,
    value: str = "4.2",
    sex: str = "F",
) -> str:
    """A NICU (or adult) result message: MSH-7 ``sent``, PID-7 ``born``, OBR-7 and OBX-14
    ``drawn`` (the lab's instrument stamps the draw in UTC)."""
    segments = [
        f"MSH|^~\\&|NICULAB|RIVERSIDE|EHR|RIVERSIDE|{sent}||ORU^R01^ORU_R01|NICU-4471|P|2.5.1",
        f"PID|1||NB-30917^^^RIVERSIDE^MR||QUINTERO^BABY GIRL||{born}|{sex}",
        f"OBR|1|NB-ORD-88^EHR|NB-F-88^NICULAB|58410-2^CBC panel - Blood by Automated count^LN"
        f"|||{drawn}" + "|" * 18 + "F",
        f"OBX|1|NM|{code}||{value}|10*3/uL|||||F|||{drawn}",
    ]
    return "\r".join(segments) + "\r"


def _judged(text: str | bytes, settings: Settings | None = None) -> tuple[object, ...]:
    conversion = leukoflag.convert(text, settings=settings or Settings())
    assert conversion.rejected == []
    (finding,) = conversion.findings or (None,)
    codes = sorted(i.code for i in conversion.issues if i.code.startswith("flag.age"))
    if finding is None:
        return None, None, codes
    return finding.code, finding.rule, codes


# ------------------------------------------------------------------------ HL7 v2, zone known


@pytest.mark.parametrize(
    ("sent", "drawn", "expected"),
    [
        # west: 02:00Z on the 24th is 21:00 -05:00 on the 23rd, day 6: first-week neutropenia
        (
            "20261124031500-0500",
            "20261124020000+0000",
            ("L", "anc-neutropenia-first-week", []),
        ),
        # east: 16:00Z on the 23rd is 01:00 +09:00 on the 24th, day 7: the infant threshold
        ("20261124101500+0900", "20261123160000+0000", ("N", "anc-within-range", [])),
        # the same hours as local times: as before
        ("20261123211500-0500", "20261123210000-0500", ("L", "anc-neutropenia-first-week", [])),
        ("20261124101500+0900", "20261124010000+0900", ("N", "anc-within-range", [])),
    ],
)
def test_a_utc_result_time_is_counted_in_the_offset_of_msh7(
    sent: str, drawn: str, expected: tuple[object, ...]
) -> None:
    # was: the UTC date's age, day 7 in the west (ANC 4,200 N, a first-week neutropenia
    # missed) and day 6 in the east (L)
    assert _judged(_message(sent=sent, born="20261117", drawn=drawn)) == expected


def test_msh7_in_utc_takes_the_default_time_zone() -> None:
    text = _message(sent="20261124031500+0000", born="20261117", drawn="20261124020000+0000")
    settings = Settings(default_timezone="America/Chicago")
    assert _judged(text, settings) == ("L", "anc-neutropenia-first-week", [])


def test_an_msh7_offset_other_than_the_default_zones_wins() -> None:
    # a Tokyo lab's message read by an engine set to Chicago: 16:00Z is 01:00 on the 24th there
    text = _message(sent="20261124101500+0900", born="20261117", drawn="20261123160000+0000")
    settings = Settings(default_timezone="America/Chicago")
    assert _judged(text, settings) == ("N", "anc-within-range", [])


@pytest.mark.parametrize(
    ("zone", "sent", "born", "drawn"),
    [
        # Chicago springs forward at 08:00Z on 8 March 2026: 05:30Z is 23:30 CST on the 7th,
        # day 6, though MSH-7 (sent after the change) says -05:00, which would make it 00:30
        ("America/Chicago", "20260308100000-0500", "20260301", "20260308053000+0000"),
        # Warsaw springs forward at 01:00Z on 29 March 2026: 22:30Z is 23:30 CET on the 28th
        ("Europe/Warsaw", "20260329110000+0200", "20260322", "20260328223000+0000"),
    ],
)
def test_a_daylight_saving_change_between_the_draw_and_the_message_is_counted(
    zone: str, sent: str, born: str, drawn: str
) -> None:
    settings = Settings(default_timezone=zone)
    text = _message(sent=sent, born=born, drawn=drawn)
    assert _judged(text, settings) == ("L", "anc-neutropenia-first-week", [])


@pytest.mark.parametrize("sent", ["20261124031500+0000", "20261124101500+0900", "20261124"])
def test_a_birth_time_with_its_offset_decides_alone(sent: str) -> None:
    # born 01:30 -05:00: 02:00Z on the 24th is 21:00 -05:00 on the 23rd, day 6, whatever MSH-7
    text = _message(sent=sent, born="202611170130-0500", drawn="20261124020000+0000")
    assert _judged(text) == ("L", "anc-neutropenia-first-week", [])


# ---------------------------------------------------------------------- HL7 v2, zone unknown


def test_an_unknown_zone_that_leaves_the_code_undecided_gives_none() -> None:
    # MSH-7 in UTC too, no default zone: 02:00Z on the 24th is the 23rd (day 6, L) west of
    # UTC-02:00 and the 24th (day 7, N) east of it
    text = _message(sent="20261124031500+0000", born="20261117", drawn="20261124020000+0000")
    conversion = leukoflag.convert(text)
    assert conversion.findings == []
    (issue,) = [i for i in conversion.issues if i.code == "flag.age-imprecise"]
    assert (issue.location, issue.text) == (
        "MSG[1]/OBX[1]",
        (
            "not flagged: the result time 2026-11-24T02:00:00+00:00 is in UTC and the time zone "
            "of the birth date 2026-11-17 (a local date) is not known (the message time gives no "
            "offset other than UTC, and no default time zone is set), so the result's local "
            "date may be 2026-11-23 to 2026-11-24, and the age-dependent rules differ within "
            "that span"
        ),
    )
    observation = next(
        e["resource"]
        for e in conversion.bundles[0]["entry"]
        if e["resource"]["resourceType"] == "Observation"
    )
    assert "interpretation" not in observation


def test_an_unknown_zone_with_the_same_code_either_way_is_judged_by_the_older_age() -> None:
    # born 24 October: one month old on 24 November (WBC 5,000-19,500), not on the 23rd
    # (9,000-30,000); 15,000 is N by either range
    text = _message(
        sent="20261124031500+0000",
        born="20261024",
        drawn="20261124020000+0000",
        code=_WBC,
        value="15.0",
    )
    conversion = leukoflag.convert(text)
    (finding,) = conversion.findings
    assert finding.range is not None
    assert (finding.code, finding.rule, finding.range.low, finding.range.high) == (
        "N",
        "wbc-within-range",
        Decimal(5000),
        Decimal(19500),
    )
    (issue,) = [i for i in conversion.issues if i.code == "flag.age-imprecise-agreed"]
    assert issue.text == (
        "the result time 2026-11-24T02:00:00+00:00 is in UTC and the time zone of the birth "
        "date 2026-10-24 (a local date) is not known (the message time gives no offset other "
        "than UTC, and no default time zone is set), so the result's local date may be "
        "2026-11-23 to 2026-11-24, and the age-dependent rules differ within that span, but "
        "give the same code N at either end: judged by the rules of ages 1 month to 3 months, "
        "as born on 2026-10-24 with the result on 2026-11-24 (wbc-within-range, the age band, "
        "5,000–19,500 cells/µL); as born on 2026-10-24 with the result on 2026-11-23, those of "
        "ages birth to 1 month give N too (wbc-within-range, the age band, 9,000–30,000 "
        "cells/µL)"
    )


def test_a_birth_on_the_utc_date_leaves_no_earlier_local_date() -> None:
    # born on the 24th (a local date): the blood was drawn after the birth, so its local date
    # is the 24th whatever the zone: day 0
    text = _message(sent="20261124031500+0000", born="20261124", drawn="20261124020000+0000")
    assert _judged(text) == ("L", "anc-neutropenia-first-week", [])


# ------------------------------------------------------------------------------------- adults


@pytest.mark.parametrize(
    ("sent", "drawn", "expected"),
    [
        # 02:00Z on her 18th birthday is 21:00 -05:00 the day before: 17, the band of 10 to 18
        # years (4,500-11,100), so 11,050 is N, not H by the adult women's 4,500-11,000
        ("20261124031500-0500", "20261124020000+0000", ("N", "wbc-within-range", [])),
        # 20:00Z the day before is 05:00 +09:00 on her birthday: 18, H
        ("20261124101500+0900", "20261123200000+0000", ("H", "wbc-above-range", [])),
        # zone not known: 17 or 18, N or H
        ("20261124031500+0000", "20261124020000+0000", (None, None, ["flag.age-imprecise"])),
    ],
)
def test_an_eighteenth_birthday_is_counted_in_the_local_zone(
    sent: str, drawn: str, expected: tuple[object, ...]
) -> None:
    text = _message(sent=sent, born="20081124", drawn=drawn, code=_WBC, value="11.05")
    assert _judged(text) == expected


def test_an_adults_utc_result_of_unknown_zone_is_judged_without_a_word() -> None:
    text = _message(
        sent="20261124031500+0000", born="19610719", drawn="20261124020000+0000", code=_WBC
    )
    conversion = leukoflag.convert(text)
    (finding,) = conversion.findings
    assert (finding.code, finding.rule) == ("L", "wbc-below-range")
    assert not [i for i in conversion.issues if i.code.startswith("flag.age")]


# --------------------------------------------------------------------------------------- FHIR


def _fhir_anc(drawn: str, *, value: str = "4.2", sent: str | None = None) -> bytes:
    """A FHIR ANC for a girl born 2026-11-17 (birthDate, no time), drawn at ``drawn``; a
    ``message`` Bundle stamped ``sent`` when given."""
    bundle = builders.fhir_bundle(
        [builders.anc(value, "10*3/uL", reference_range=None, flag=None)],
        patient=builders.patient(birth_date="20261117", sex="F"),
        collected=dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC),
    )
    if sent is not None:
        bundle["type"] = "message"
        bundle["timestamp"] = sent
    else:
        bundle.pop("timestamp", None)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Observation":
            resource["effectiveDateTime"] = drawn
    return bundle.encode()


def test_a_fhir_utc_time_of_unknown_zone_that_leaves_the_code_undecided_gives_none() -> None:
    assert _judged(_fhir_anc("2026-11-24T02:00:00Z")) == (None, None, ["flag.age-imprecise"])


@pytest.mark.parametrize(
    ("drawn", "zone", "expected"),
    [
        ("2026-11-24T02:00:00Z", "America/New_York", ("L", "anc-neutropenia-first-week", [])),
        ("2026-11-23T16:00:00Z", "Asia/Tokyo", ("N", "anc-within-range", [])),
        # a local time: its own date, whatever the default zone
        ("2026-11-23T21:00:00-05:00", "Asia/Tokyo", ("L", "anc-neutropenia-first-week", [])),
    ],
)
def test_a_fhir_utc_time_is_counted_in_the_default_time_zone(
    drawn: str, zone: str, expected: tuple[object, ...]
) -> None:
    assert _judged(_fhir_anc(drawn), Settings(default_timezone=zone)) == expected


def test_a_fhir_message_timestamps_offset_names_the_zone() -> None:
    text = _fhir_anc("2026-11-24T02:00:00Z", sent="2026-11-23T22:15:00-05:00")
    assert _judged(text) == ("L", "anc-neutropenia-first-week", [])


def test_reflagging_the_output_keeps_the_zone_of_msh7() -> None:
    text = _message(sent="20261124031500-0500", born="20261117", drawn="20261124020000+0000")
    (bundle,) = leukoflag.convert(text).bundles
    assert _judged(fhir.dumps(bundle)) == ("L", "anc-neutropenia-first-week", [])


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("20261124031500-0500", ([(Decimal(4200), "L", "anc-neutropenia-first-week")], [])),
        ("20261124031500+0000", ([], ["flag.age-imprecise"])),
    ],
)
def test_a_derived_anc_is_of_the_local_date_too(sent: str, expected: tuple[object, ...]) -> None:
    # WBC 12,000 with 35 % neutrophils, drawn at 02:00Z: ANC 4,200 on day 6 (L) or 7 (N)
    text = (
        _message(sent=sent, born="20261117", drawn="20261124020000+0000", code=_WBC, value="12.0")
        + "OBX|2|NM|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||35|%"
        "|||||F|||20261124020000+0000\r"
    )
    conversion = leukoflag.convert(text)
    codes = sorted(
        i.code
        for i in conversion.issues
        if i.code.startswith("flag.age") and i.location == "MSG[1]/OBR[1]/ANC[derived]"
    )
    derived = [(f.value_per_ul, f.code, f.rule) for f in conversion.findings if f.derived]
    (note,) = [i.text for i in conversion.issues if i.code == "flag.anc-derived"]
    assert note.startswith("the order has no measured ANC: ANC 4,200 cells/µL derived")
    assert (derived, codes) == expected
