"""A lab range of one limit that excludes it (OBX-7 '> lower limit', '< upper limit', HL7 v2.5.1
section 7.4.2.7): a value equal to that limit is outside the range."""

from __future__ import annotations

from decimal import Decimal

import pytest

import leukoflag
from leukoflag import fhir
from leukoflag.testing import builders
from leukoflag.testing.builders import oru_message

WOMAN = builders.patient(birth_date="19800101", sex="F")


def _judged(result: builders.ResultSpec) -> tuple[str, str, Decimal | None]:
    conversion = leukoflag.convert(oru_message(patient=WOMAN, results=[result]).text)
    (finding,) = conversion.findings
    return finding.code, finding.rule, finding.threshold


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        # normal is above 4.5: 4.5 is not, so it is below the range (was N, within it)
        (builders.wbc("4.5", "10*3/uL", reference_range=">4.5"), ("L", "wbc-below-range", 4500)),
        (builders.wbc("4.5", "10*3/uL", reference_range="> 4.5"), ("L", "wbc-below-range", 4500)),
        # normal is below 11.0: 11.0 is not (was N)
        (builders.wbc("11.0", "10*3/uL", reference_range="<11.0"), ("H", "wbc-above-range", 11000)),
        # an adult's ANC of 1,500 is no neutropenia (< 1,500), but outside the lab's '>1.5'
        (builders.anc("1.5", "10*3/uL", reference_range=">1.5"), ("L", "anc-below-range", 1500)),
    ],
)
def test_a_value_equal_to_a_limit_the_lab_range_excludes_is_outside_it(
    result: builders.ResultSpec, expected: tuple[str, str, int]
) -> None:
    code, rule, threshold = expected
    assert _judged(result) == (code, rule, Decimal(threshold))


@pytest.mark.parametrize(
    ("result", "code"),
    [
        # a limit the range includes holds a value equal to it
        (builders.wbc("4.5", "10*3/uL", reference_range=">=4.5"), "N"),
        (builders.wbc("4.5", "10*3/uL", reference_range="≥4.5"), "N"),
        (builders.wbc("4.5", "10*3/uL", reference_range="4.5-11.0"), "N"),
        (builders.wbc("11.0", "10*3/uL", reference_range="<=11.0"), "N"),
        # a value past the excluded limit is judged as before
        (builders.wbc("4.6", "10*3/uL", reference_range=">4.5"), "N"),
        (builders.wbc("10.9", "10*3/uL", reference_range="<11.0"), "N"),
    ],
)
def test_a_value_a_lab_range_holds_is_within_it(result: builders.ResultSpec, code: str) -> None:
    assert _judged(result)[0] == code


def test_the_excluded_limit_is_judged_alike_when_the_bundle_is_read_back() -> None:
    message = oru_message(
        patient=WOMAN, results=[builders.wbc("4.5", "10*3/uL", reference_range=">4.5")]
    )
    (bundle,) = leukoflag.convert(message.text).bundles
    (finding,) = leukoflag.convert(fhir.dumps(bundle)).findings
    assert (finding.code, finding.rule) == ("L", "wbc-below-range")
