"""leukoflag.testing: builders and assertions, as ratios against converting the same message.

A pipeline's test suite builds, converts and checks thousands of messages; the builders and
assertions should cost a small fraction of the conversion they serve. Reference, run in the
same process on the same message: ``leukoflag.convert`` of it (default settings).
"""

from __future__ import annotations

import leukoflag
from _timing import per_call
from leukoflag.testing import (
    anc,
    assert_count_per_ul,
    assert_flagged,
    assert_no_data_loss,
    convert_message,
    fhir_bundle,
    local_code,
    observation,
    oru_message,
    wbc,
)


def _build_v2() -> object:
    lab_wbc = local_code("WBCC", "White Cell Count", "99RVS")
    return oru_message(results=[wbc(3.2, "K/µL", code=lab_wbc), anc("<0.5", flag="LL")])


def _build_fhir() -> object:
    return fhir_bundle([wbc(3.2), anc(1.2)]).encode()


def main() -> None:
    message = oru_message(results=[wbc(3.2, "K/µL"), anc(1.2)])
    raw = message.encode()
    conversion = convert_message(message)
    convert = per_call(lambda: leukoflag.convert(raw))

    def check() -> None:
        assert_no_data_loss(conversion)
        assert_flagged(conversion, "L", analyte="wbc")
        assert_count_per_ul(conversion, 3200, analyte="wbc")

    cases = (
        ("oru_message with 2 results", _build_v2),
        ("observation", lambda: observation(wbc(3.2)).encode()),
        ("fhir_bundle with 2 results", _build_fhir),
        ("assert_no_data_loss + assert_flagged + assert_count_per_ul", check),
    )
    for name, action in cases:
        spent = per_call(action)
        print(
            f"{name}: ratio {spent / convert:.2f} (leukoflag.convert of a 2-result ORU); "
            f"{spent * 1e6:.0f} µs per call"
        )


if __name__ == "__main__":
    main()
