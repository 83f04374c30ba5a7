"""ORC-7 quantity/timing (TQ, v2.3-2.4): its priority, TQ.6, read as OBR-27.6 is."""

from __future__ import annotations

import pytest

import leukoflag

_MESSAGE = (
    "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20261124101522-0600||ORU^R01|M1|P|2.3\r"
    "PID|1||123^^^HOSP^MR||DOE^JANE||19700101|F\r"
    "ORC|RE|O1^EHR|F1^LAB||||{orc7}\r"
    "OBR|1|O1^EHR|F1^LAB|57021-8^CBC^LN|||20261124093000-0600|||||||||||||||"
    "20261124101000-0600|||F||{obr27}\r"
    "OBX|1|NM|6690-2^WBC^LN||2.1|10*3/uL|4.0-10.0|L|||F\r"
)


def _read(orc7: str, obr27: str) -> tuple[list[str | None], list[tuple[str, str, str]]]:
    result = leukoflag.convert(_MESSAGE.format(orc7=orc7, obr27=obr27))
    priorities = [
        e["resource"].get("priority")
        for e in result.bundles[0]["entry"]
        if e["resource"]["resourceType"] == "ServiceRequest"
    ]
    issues = [(i.code, i.location, i.text) for i in result.issues if "/ORC[" in i.location]
    return priorities, issues


def test_a_stat_order_of_a_v2_3_sender_keeps_its_priority_from_orc_7() -> None:
    priorities, issues = _read("1^^^^^S", "")
    assert priorities == ["stat"]
    assert issues == [
        (
            "hl7v2.component-unmapped",
            "MSG[1]/ORC[1]-7.1",
            "ORC-7.1 is not carried: '1'",
        )
    ]


def test_obr_27_priority_wins_over_a_different_orc_7_which_is_said() -> None:
    priorities, issues = _read("^^^^^S", "^^^^^R")
    assert priorities == ["routine"]
    assert [(code, at) for code, at, _ in issues] == [
        ("hl7v2.component-unmapped", "MSG[1]/ORC[1]-7.6")
    ]
    assert "the order's priority is routine, from OBR[1]-27.6" in issues[0][2]


@pytest.mark.parametrize("orc7", ["^^^^^S", "^^^^^s"])
def test_orc_7_priority_equal_to_obr_27_loses_nothing(orc7: str) -> None:
    priorities, issues = _read(orc7, "^^^^^S")
    assert priorities == ["stat"]
    assert issues == []


def test_orc_7_other_components_and_repetitions_are_said_not_carried() -> None:
    priorities, issues = _read("1^Q4H^^^^A~2", "")
    assert priorities == ["asap"]
    assert sorted((code, at) for code, at, _ in issues) == [
        ("hl7v2.component-unmapped", "MSG[1]/ORC[1]-7.1"),
        ("hl7v2.component-unmapped", "MSG[1]/ORC[1]-7.2"),
        ("hl7v2.repetition-unmapped", "MSG[1]/ORC[1]-7"),
    ]
