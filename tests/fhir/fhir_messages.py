"""HL7 v2 ORU^R01 messages written for the FHIR end-to-end tests (segments joined with CR)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "bench_fhir.py"


def er7(*segments: str) -> bytes:
    return ("\r".join(segments) + "\r").encode("utf-8")


ONCOLOGY_CBC = er7(
    "MSH|^~\\&|HEMLAB|LAKESIDE^2.16.840.1.113883.19.40^ISO|EHR|LAKESIDE|20261124101522-0600||"
    "ORU^R01^ORU_R01|LK26112400317|P|2.5.1|||AL|NE||UNICODE UTF-8",
    "PID|1||LK-0045521^^^LAKESIDE^MR||NAKASHIMA^HARUTO^K||19580212|M",
    "PV1|1|O|INFUSION^BAY 3^^LAKESIDE||||3321^ABERNATHY^LOUISE^^^^MD",
    "ORC|RE|PL-88310^EHR|FL-20261124-0091^HEMLAB|",
    "OBR|1|PL-88310^EHR|FL-20261124-0091^HEMLAB|57021-8^CBC W Auto Differential panel - Blood^LN"
    "|||20261124093000-0600|||||||||3321^ABERNATHY^LOUISE^^^^MD||||||20261124101000-0600|||F",
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||2.4|x10\\S\\9/L^^L"
    "|4.0-11.0|L|||F|||20261124093000-0600",
    "NTE|1|L|Repeated on a second analyzer; result confirmed.",
    "OBX|2|SN|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||<^0.5|10*3/uL^^UCUM"
    "|1.8-7.7|LL|||F|||20261124093000-0600",
    "OBX|3|NM|718-7^Hemoglobin [Mass/volume] in Blood^LN||10.1|g/dL^^UCUM|13.5-17.5|L|||F"
    "|||20261124093000-0600",
    "OBX|4|NM|777-3^Platelets [#/volume] in Blood by Automated count^LN||88|10*3/uL^^UCUM"
    "|150-400|L|||F|||20261124093000-0600",
    "SPM|1|SP-55102^HEMLAB||BLDV^Blood venous^HL70487|||||||||||||20261124093000-0600"
    "|20261124094500-0600",
    "OBX|5|CWE|48767-8^Annotation comment [Interpretation] Narrative^LN||HEMOLYZED^Slightly "
    "hemolyzed^99LKS||||||F",
)

PEDIATRIC_LOCAL_CODES = er7(
    "MSH|^~\\&|KIDSLAB|MAPLEWOOD|EHR|MAPLEWOOD|20261123161004+0100||ORU^R01|MW-4471-0009|P|2.4",
    "PID|1||MW778120^^^MAPLEWOOD^MR||SOUSA^INES||20250618|F",
    "OBR|1||MW-L-55318|CBC^Full blood count^L|||20261123152000+0100|||||||||||||||"
    "20261123160500+0100|||F",
    "OBX|1|NM|WCC^White cell count^L||5.2|10*9/L|6.0-17.5||||F",
    "OBX|2|NM|NEUT%^Neutrophils %^L||14|%|||||F",
    "OBX|3|NM|HB^Haemoglobin^L||118|g/L|105-135||||F",
)

STATUSES = er7(
    "MSH|^~\\&|HEMLAB|LAKESIDE|EHR|LAKESIDE|20261124181100-0600||ORU^R01^ORU_R01|LK26112400388|P|2.5.1",
    "PID|1||LK-0045521^^^LAKESIDE^MR||NAKASHIMA^HARUTO^K||19580212|M",
    "OBR|1|PL-88311^EHR|FL-20261124-0140^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
    "|||20261124170000-0600|||||||||||||||20261124181000-0600|||C",
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.9|10*3/uL^^UCUM"
    "|4.0-11.0|L|||C",
    "OBX|2|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||||||||X",
    "OBX|3|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||1.1|10*3/uL^^UCUM"
    "|1.8-7.7|L|||D",
    "OBX|4|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||1.4|10*3/uL^^UCUM"
    "|1.8-7.7|L|||P",
)

DERIVED_ANC = er7(
    "MSH|^~\\&|HEMLAB|LAKESIDE|EHR|LAKESIDE|20261124120000-0600||ORU^R01^ORU_R01|LK26112400401|P|2.5.1",
    "PID|1||LK-0099310^^^LAKESIDE^MR||OYELARAN^FUNMI||19900503|F",
    "OBR|1|PL-88400^EHR|FL-20261124-0201^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
    "|||20261124110000-0600|||||||||||||||20261124115500-0600|||F",
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.0|10*3/uL^^UCUM"
    "|4.0-11.0|L|||F|||20261124110000-0600",
    "OBX|2|NM|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||41|%^^UCUM"
    "|40-75||||F|||20261124110000-0600",
)


def batch(*messages: bytes, junk: bytes = b"") -> bytes:
    """An FHS/BHS batch of ``messages``; ``junk`` is put between the first two."""
    parts = [b"FHS|^~\\&|HEMLAB|LAKESIDE\rBHS|^~\\&|HEMLAB|LAKESIDE\r", messages[0], junk]
    parts.extend(messages[1:])
    parts.append(f"BTS|{len(messages)}\rFTS|1\r".encode())
    return b"".join(parts)


def benchmark_cbc() -> bytes:
    """The 20-OBX CBC of ``benchmarks/bench_fhir.py`` (the message the speed target is set on)."""
    if str(_BENCHMARK.parent) not in sys.path:  # its helpers, as benchmarks/run.py finds them
        sys.path.append(str(_BENCHMARK.parent))
    spec = importlib.util.spec_from_file_location("bench_fhir", _BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.cbc_message()
    return text.encode("utf-8")


# Every element whose form differs between R4 and R5: a discharged inpatient's class, doctors
# and stay; an order with its code; a specimen with its site, role and collector; a report note.
# The second message has no PV1-2 (R4's required Encounter.class) and an MSH-7 without a time
# (R4's required Provenance.recorded).
VERSION_DIFFERENCES = batch(
    er7(
        "MSH|^~\\&|HEMLAB|ST-BRIGID^2.16.840.1.113883.19.77^ISO|EHR|ST-BRIGID|20261124101500-0600||"
        "ORU^R01^ORU_R01|SB26112400731|P|2.5.1",
        "PID|1||SB-1177031^^^ST-BRIGID^MR||ADEYEMI^CHIAMAKA^O||19800312|F|||"
        "48 ORCHARD ROW^APT 3^SPRINGFIELD^IL^62704^USA^H||^PRN^PH^^1^217^5550101",
        "PV1|1|I|4W^401^B^ST-BRIGID||||1234^NGUYEN^LINH^^^DR|5678^RUIZ^CARLA^^^DR|"
        "9012^SMITH^PAUL^^^DR||||||||3456^ADAMS^KIM^^^DR||V7788^^^ST-BRIGID^VN|||||||||||||||||||||"
        "||||20261120080000-0600|20261124090000-0600",
        "ORC|RE|PL1001^EHR|FL2002^HEMLAB|GRP77^EHR|CM|||||||1234^NGUYEN^LINH^^^DR",
        "OBR|1|PL1001^EHR|FL2002^HEMLAB|57021-8^CBC W Auto Differential panel - Blood^LN|||"
        "20261124083000-0600|||PB117^QUINTERO^LUZ||||||1234^NGUYEN^LINH^^^DR||||||"
        "20261124100000-0600||HM|F||^^^^^S|||||7777&PATEL&RAVI&&&DR",
        "NTE|1||Specimen slightly hemolyzed; results not affected.",
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1|10*3/uL^^UCUM"
        "|4.0-11.0|L|||F|||20261124083000-0600",
        "OBX|2|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||0.9|10*3/uL^^UCUM"
        "|1.5-7.5|L|||F|||20261124083000-0600",
        "SPM|1|SP1^HEMLAB||BLDV^Blood venous^HL70487||||LACF^Left antecubital fossa^HL70163|||"
        "P^Patient^HL70369||||||20261124083000-0600^20261124083200-0600|20261124084000-0600",
        "NTE|1||Drawn above the IV site.",
        "OBX|3|CWE|48767-8^Annotation comment [Interpretation] Narrative^LN||HEMOLYZED^Slightly "
        "hemolyzed^99SBH||||||F",
    ),
    er7(
        "MSH|^~\\&|HEMLAB|ST-BRIGID|EHR|ST-BRIGID|20261124||ORU^R01^ORU_R01|SB26112400732|P|2.5.1",
        "PID|1||SB-1177032^^^ST-BRIGID^MR||OKONJO^EMEKA||19671105|M",
        "PV1|1||ER^2^^ST-BRIGID",
        "OBR|1|PL1002^EHR|FL2003^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN|||"
        "20261124091500-0600|||||||||||||||20261124094500-0600|||F",
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||6.4|10*3/uL^^UCUM"
        "|4.0-11.0||||F|||20261124091500-0600",
    ),
)
