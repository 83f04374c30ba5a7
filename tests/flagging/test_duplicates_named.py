"""flag.result-duplicate names the other counts of one result: the first ten, and how many more.

An interface that sends an order again under a new OBR for each count it resends (or an
instrument that sends one WBC many times) must not make each Issue name every count before it:
n results would give Issues of n² names in all."""

from __future__ import annotations

import re

import leukoflag

_HEAD = (
    "MSH|^~\\&|CORELAB|NORTHGATE|EHR|NORTHGATE|20261124151047-0500||ORU^R01^ORU_R01|NG24-7|P|2.5.1",
    "PID|1||MRN100871^^^NORTHGATE^MR||OKAFOR^DANA^C||19800101|F",
)
_OBR = "OBR|{n}|PL-88420^EHR|FL-0240^HEMLAB|58410-2^CBC^LN|||20261124080500-0500" + "|" * 18 + "F"
_WBC = "OBX|{n}|NM|6690-2^WBC^LN||{value}|10*3/uL|4.0-11.0||||F|||20261124080500-0500"
_MANY = 60


def _value(n: int) -> str:
    return f"{2 + n // 10}.{n % 10}"  # 2.0, 2.1, … 7.9: each count differs


def _duplicates(conversion: leukoflag.Conversion) -> list[leukoflag.Issue]:
    return [i for i in conversion.issues if i.code == "flag.result-duplicate"]


def test_a_count_sent_again_under_many_obrs_of_one_order_names_ten_others_and_how_many_more() -> (
    None
):
    segments = list(_HEAD)
    for n in range(_MANY):
        segments += [_OBR.format(n=n + 1), _WBC.format(n=1, value=_value(n))]
    conversion = leukoflag.convert("\r".join(segments) + "\r")
    issues = _duplicates(conversion)
    assert len(issues) == _MANY - 1
    last = issues[-1]
    assert last.location == f"MSG[1]/OBX[{_MANY}]-5"
    assert last.text.startswith(
        "this final result (7,900 cells/µL) and MSG[1]/OBX[1] (2,000 cells/µL), "
        "MSG[1]/OBX[2] (2,100 cells/µL),"
    )
    assert (
        f"MSG[1]/OBX[10] (2,900 cells/µL), and {_MANY - 11:,} more of MSG[1]/OBR[1]," in last.text
    )
    assert f"MSG[1]/OBR[10], and {_MANY - 11:,} more, the same order sent again" in last.text
    for issue in issues:
        assert len(re.findall(r"OBX\[\d+\] \(", issue.text)) <= 10
        assert len(re.findall(r"OBR\[\d+\]", issue.text)) <= 10


def test_a_count_sent_many_times_in_one_obr_names_ten_others_and_how_many_more() -> None:
    segments = [*_HEAD, _OBR.format(n=1)]
    segments += [_WBC.format(n=n + 1, value=_value(n)) for n in range(_MANY)]
    conversion = leukoflag.convert("\r".join(segments) + "\r")
    issues = _duplicates(conversion)
    assert len(issues) == _MANY - 1
    for issue in issues:
        assert len(re.findall(r"OBX\[\d+\] \(", issue.text)) <= 10
    assert f"MSG[1]/OBX[10] (2,900 cells/µL), and {_MANY - 11:,} more are final results" in (
        issues[-1].text
    )
