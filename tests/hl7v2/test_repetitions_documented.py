"""The fields read from one repetition, as docs/issues.md (hl7v2.repetition-unmapped) and
docs/hl7v2.md list them, are the ones whose second repetition the reader reports so.

Each populated field of a message that sends every mapped field once (and of a v2.3-style one
whose specimen is OBR-15) is sent again with a second, equal repetition; the fields that give
``hl7v2.repetition-unmapped`` at themselves must be the page's list, no more and no fewer.
"""

from __future__ import annotations

import re
from pathlib import Path

import leukoflag

ROOT = Path(__file__).resolve().parents[2]

MSH = (
    "MSH|^~\\&|CORELAB|RIVERSIDE|EHR|RIVERSIDE|20261124091047-0500||ORU^R01^ORU_R01|RS24-000117"
    "|P|2.5.1|||AL|NE||UNICODE UTF-8"
)
PID = (
    "PID|1|PT4410^^^RIVERSIDE|MRN100871^^^RIVERSIDE^MR|ALT77^^^RIVERSIDE|OKAFOR^DANIEL^C||"
    "19610719|M|||4821 LAKEVIEW DR^^MADISON^WI^53704^USA^H||(608)555-0142^PRN^PH|"
    "^WPN^PH^^1^608^5550199|||||||||||||||20261201080000-0500|Y"
)
PV1 = (
    "PV1|1|O|ONC^12^B^RIVERSIDE||||5820^VARGA^ILONA^^^^MD|5821^NAGY^EVA|5822^TOTH^ADAM||||||||"
    "5823^KISS^ANNA||V7788^^^RIVERSIDE^VN" + "|" * 25 + "20261120080000-0500|20261124080000-0500"
)
ORC = "ORC|RE|ORD55377^EHR|LAB88164^CORELAB|REQ2201^EHR|CM||^^^^^S|||||5820^VARGA^ILONA^^^^MD"
OBR = (
    "OBR|1|ORD55377^EHR|LAB88164^CORELAB|58410-2^CBC panel - Blood by Automated count^LN|||"
    "20261124080500-0500|20261124081000-0500||PB117^QUINTERO^LUZ^^^^CPT|G|||"
    "20261124083000-0500|{obr15}|5820^VARGA^ILONA^^^^MD||||||20261124090000-0500||HM|F||^^^^^S"
    "||ORD55000&EHR^LAB88000&CORELAB|||PATH1&SMITH&JOHN"
)
TQ1 = "TQ1|1||||||||S^Stat^HL70485"
WBC = (
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN|1|3.1|10*3/uL^^UCUM|"
    "4.0-11.0|L|||F|||20261124080500-0500|CORELAB^Riverside Core Laboratory|5830^LEE^MAI|"
    "AUTO^Automated^HL70936|XN1000^SYSMEX|20261124085000-0500||INST1^CORELAB||"
    "Riverside Core Laboratory||5831^PATEL^RAVI||||LAB"
)
# a critical value phoned to the ward: who called it (NTE-5) and when (NTE-6)
NTE = (
    "NTE|1|L|Called to and read back by RN on 4 West.||4410^MORALES^ELENA^^^^MT|20261124084500-0500"
)
SPM = (
    "SPM|1|SP7790^CORELAB||BLDV^Blood, venous^HL70487||||LACF^Left antecubital fossa^HL70163|||"
    "P^Patient^HL70369||||||20261124080500-0500|20261124081900-0500|||||||||LAV^Lavender top^99CONT"
)
MESSAGES = (
    (MSH, PID, PV1, ORC, OBR.format(obr15=""), TQ1, WBC, NTE, SPM),
    # v2.3 style: no SPM, the specimen in OBR-15
    (MSH, PID, PV1, ORC, OBR.format(obr15="BLDV&Blood venous&HL70070"), TQ1, WBC, NTE),
)
FIELD = re.compile(r"\b([A-Z][A-Z0-9]{2})-(\d+)(?: to \1-(\d+))?")


def _repeated(segments: tuple[str, ...]) -> set[str]:
    """The fields of ``segments`` whose second repetition is reported as not carried."""
    found: set[str] = set()
    for line, segment in enumerate(segments):
        fields = segment.split("|")
        name = fields[0]
        for index, value in enumerate(fields[1:], 1):
            number = index + 1 if name == "MSH" else index
            if not value or (name == "MSH" and number <= 2):
                continue  # MSH-2 is the delimiters
            sent = list(segments)
            sent[line] = "|".join([*fields[:index], f"{value}~{value}", *fields[index + 1 :]])
            conversion = leukoflag.convert(("\r".join(sent) + "\r").encode())
            assert conversion.rejected == []
            at = f"MSG[1]/{name}[1]-{number}"
            if any(
                i.code == "hl7v2.repetition-unmapped" and i.location == at
                for i in conversion.issues
            ):
                found.add(f"{name}-{number}")
    return found


def _listed(text: str) -> set[str]:
    listed: set[str] = set()
    for name, first, last in FIELD.findall(text):
        listed.update(f"{name}-{n}" for n in range(int(first), int(last or first) + 1))
    return listed


def test_the_fields_read_from_one_repetition_are_the_ones_the_pages_list() -> None:
    repeated: set[str] = set().union(*(_repeated(segments) for segments in MESSAGES))
    issues = (ROOT / "docs" / "issues.md").read_text(encoding="utf-8")
    row = re.search(r"^\| `hl7v2\.repetition-unmapped` \|.*$", issues, re.MULTILINE)
    assert row is not None
    hl7v2 = (ROOT / "docs" / "hl7v2.md").read_text(encoding="utf-8")
    paragraph = re.search(r"A field of which one repetition is read \((.*?)\) is read", hl7v2, re.S)
    assert paragraph is not None
    assert sorted(repeated - _listed(row.group())) == []
    assert sorted(_listed(row.group()) - repeated) == []
    assert sorted(repeated - _listed(paragraph.group(1))) == []
    assert sorted(_listed(paragraph.group(1)) - repeated) == []
    assert len(repeated) >= 35
