"""HL7 v2 messages written for leukoflag's tests, and small helpers to read them."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from types import FrameType

from leukoflag import Conversion, Finding, hl7v2
from leukoflag.model import Issue, LabResult, Message, NormalizedRange, Order, Rejected
from leukoflag.settings import Settings

MSH = (
    "MSH|^~\\&|CORELAB|RIVERSIDE^2.16.840.1.113883.3.8821^ISO|EHR|RIVERSIDE|20261124091047-0500||"
    "ORU^R01^ORU_R01|RS24-000117|P|2.5.1|||AL|NE||UNICODE UTF-8"
)
PID = "PID|1||MRN100871^^^RIVERSIDE^MR||OKAFOR^DANIEL^C||19610719|M"
PV1 = "PV1|1|O|ONC^12^B^RIVERSIDE||||5820^VARGA^ILONA^^^DR^MD||||||||||||V7788^^^RIVERSIDE^VN"
ORC = "ORC|RE|ORD55377^EHR|LAB88164^CORELAB||CM"
OBR = (
    "OBR|1|ORD55377^EHR|LAB88164^CORELAB|58410-2^CBC panel - Blood by Automated count^LN|||"
    "20261124080500-0500|||||||||5820^VARGA^ILONA^^^^MD||||||20261124090500-0500|||F"
)
WBC = (
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1|10*3/uL^^UCUM|"
    "4.0-11.0|L|||F|||20261124080500-0500"
)
ANC = (
    "OBX|2|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||1.20|10*3/uL^^UCUM|"
    "1.8-7.7|L|||F|||20261124080500-0500"
)
SPM = (
    "SPM|1|SP7790^CORELAB||BLDV^Blood, venous^HL70487|||||||P^Patient^HL70369||||||"
    "20261124080500-0500|20261124081900-0500"
)
CBC = "\r".join((MSH, PID, PV1, ORC, OBR, WBC, ANC, SPM)) + "\r"


def message(*segments: str, msh: str = MSH, terminator: str = "\r") -> str:
    """A message of ``msh`` then ``segments``, each ended by ``terminator``."""
    return terminator.join((msh, *segments)) + terminator


def obx(
    value: str,
    *,
    value_type: str = "NM",
    unit: str = "10*3/uL^^UCUM",
    reference: str = "4.0-11.0",
    flags: str = "",
    status: str = "F",
    code: str = "6690-2^Leukocytes [#/volume] in Blood by Automated count^LN",
    set_id: str = "1",
) -> str:
    """An OBX segment with the given OBX-5 and neighbours."""
    return f"OBX|{set_id}|{value_type}|{code}||{value}|{unit}|{reference}|{flags}|||{status}"


def read(data: str | bytes, settings: Settings | None = None, index: int = 1) -> Message:
    """Read one message that must be accepted."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    result = hl7v2.read_message(
        raw, index=index, source="test.hl7", settings=settings or Settings()
    )
    assert isinstance(result, Message), getattr(result, "reason", result)
    return result


def reject(data: str | bytes, settings: Settings | None = None) -> Rejected:
    """Read one message that must be rejected."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    result = hl7v2.read_message(raw, index=1, source="test.hl7", settings=settings or Settings())
    assert isinstance(result, Rejected), result
    return result


def split(data: bytes, block_size: int | None = None) -> list[bytes]:
    """``split_stream`` over ``data``."""
    if block_size is None:
        return list(hl7v2.split_stream(io.BytesIO(data)))
    from leukoflag.hl7v2._framing import split_stream

    return list(split_stream(io.BytesIO(data), block_size))


def only_order(read_message: Message) -> Order:
    (group,) = read_message.groups
    (order,) = group.orders
    return order


def results(read_message: Message) -> list[LabResult]:
    return [r for g in read_message.groups for o in g.orders for r in o.results]


def first_result(segment: str, settings: Settings | None = None) -> tuple[LabResult, Message]:
    """The single result of a CBC message whose OBX is ``segment``."""
    read_message = read(message(PID, OBR, segment), settings)
    (result,) = results(read_message)
    return result, read_message


def codes(issues: tuple[Issue, ...] | list[Issue]) -> list[str]:
    return [i.code for i in issues]


def issue(read_message: Message, code: str) -> Issue:
    found = [i for i in read_message.issues if i.code == code]
    assert found, f"no {code} in {codes(read_message.issues)}"
    return found[0]


def finding_and_range(conversion: Conversion) -> tuple[Finding, NormalizedRange]:
    """The conversion's one finding and the range it was judged with, which there must be."""
    (finding,) = conversion.findings
    assert finding.range is not None
    return finding, finding.range


def calls_made(run: Callable[[], object]) -> int:
    """The function calls (Python and built-in) ``run`` makes."""
    calls = 0

    def count(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        calls += event in ("call", "c_call")

    sys.setprofile(count)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls
