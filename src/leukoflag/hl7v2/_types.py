"""HL7 v2 composite data types → model values: CWE/CE, CX, EI, XCN, XPN, PL, XON.

Each reader takes the raw (still escaped) field or component text and the message's delimiters;
readers of values that repeat across messages (codes, units) are cached per process.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from leukoflag.hl7v2._er7 import Delimiters, unescape
from leukoflag.hl7v2._tables import load_tables
from leukoflag.model import Coding, Concept, Identifier

__all__ = [
    "concept",
    "concept_from_parts",
    "decoded",
    "identifier_cx",
    "identifier_ei",
    "person_name",
    "render_location",
    "render_organization",
    "render_person",
    "system_uri",
]

# CWE (v2.7): identifier, text, system, alt id, alt text, alt system, version, alt version,
# original text, 2nd alt id, 2nd alt text, 2nd alt system, 2nd alt version, system OID (14),
# …, alt system OID (17), …, 2nd alt system OID (20).
_TRIPLETS = ((0, 1, 2, 6, 13), (3, 4, 5, 7, 16), (9, 10, 11, 12, 19))
_CWE_WIDTH = 20


def decoded(text: str, delimiters: Delimiters, codec: str, problems: list[str]) -> str:
    """``text`` with escapes decoded (only when it holds the escape character)."""
    if delimiters.escape not in text:
        return text
    value, problem = unescape(text, delimiters, codec)
    if problem:
        problems.append(problem)
    return value


@functools.lru_cache(maxsize=512)
def system_uri(name: str, oid: str = "") -> str:
    """The FHIR URI of a v2 coding-system name (table 0396), ``urn:oid:`` of the CWE OID
    component, or ``""`` for a local or unknown name."""
    key = name.strip().upper()
    if not key:
        return f"urn:oid:{oid}" if oid else ""
    row = load_tables().coding_systems.get(key)
    if row is not None:
        return row.uri
    if len(key) == 7 and key.startswith("HL7") and key[3:].isdigit():
        # v2.8.2 table 0396: HL7nnnn names HL7-defined table nnnn.
        return f"http://terminology.hl7.org/CodeSystem/v2-{key[3:]}"
    return f"urn:oid:{oid}" if oid else ""


@functools.lru_cache(maxsize=8192)
def concept(field: str, delimiters: Delimiters, codec: str) -> tuple[Concept | None, str]:
    """A CWE/CE/CNE field → (Concept or None when empty, problem text)."""
    if not field:
        return None, ""
    return concept_from_parts(field.split(delimiters.component), delimiters, codec)


def concept_from_parts(
    parts: Sequence[str], delimiters: Delimiters, codec: str
) -> tuple[Concept | None, str]:
    """A CWE given as its parts (components, or subcomponents when CWE is itself a component)."""
    problems: list[str] = []
    if delimiters.escape in "".join(parts):
        parts = [decoded(p, delimiters, codec, problems) for p in parts]
    p = list(parts) + [""] * (_CWE_WIDTH - len(parts))
    codings: list[Coding] = []
    for code_at, display_at, system_at, version_at, oid_at in _TRIPLETS:
        code = p[code_at].strip()
        if code:
            name = p[system_at].strip()
            codings.append(
                Coding(
                    code,
                    p[display_at].strip(),
                    system_uri(name, p[oid_at].strip()),
                    name,
                    p[version_at].strip(),
                )
            )
    text = p[8].strip()
    if not codings and not text:
        # A CWE with text but no code: the text is the concept (V2-to-FHIR: CWE.2 → text).
        text = p[1].strip() or p[4].strip()
    if not codings and not text:
        return None, "; ".join(problems)
    return Concept(tuple(codings), text), "; ".join(problems)


def _hd_system(universal: str, kind: str) -> str:
    """An HD universal ID as a FHIR system URI (ISO → urn:oid, UUID → urn:uuid, URI as is)."""
    kind = kind.strip().upper()
    if not universal:
        return ""
    if kind == "ISO":
        return f"urn:oid:{universal}"
    if kind == "UUID":
        return f"urn:uuid:{universal}"
    if kind in ("URI", "URL"):
        return universal
    return ""


def identifier_cx(
    field: str, delimiters: Delimiters, codec: str, problems: list[str]
) -> Identifier | None:
    """CX (PID-3, PV1-19): ID^check digit^scheme^assigning authority (HD)^type^facility."""
    parts = field.split(delimiters.component)
    value = decoded(parts[0], delimiters, codec, problems).strip()
    if not value:
        return None
    authority = parts[3] if len(parts) > 3 else ""
    hd = [*authority.split(delimiters.subcomponent), "", ""]
    namespace = decoded(hd[0], delimiters, codec, problems).strip()
    universal = decoded(hd[1], delimiters, codec, problems).strip()
    type_code = decoded(parts[4], delimiters, codec, problems).strip() if len(parts) > 4 else ""
    return Identifier(value, _hd_system(universal, hd[2]), type_code, namespace or universal)


def identifier_ei(
    parts: Sequence[str], delimiters: Delimiters, codec: str, problems: list[str]
) -> Identifier | None:
    """EI (OBR-2/3, ORC-2/3/4, SPM-2): entity ID^namespace^universal ID^universal ID type."""
    p = [decoded(x, delimiters, codec, problems).strip() for x in parts[:4]] + ["", "", ""]
    if not p[0]:
        return None
    return Identifier(p[0], _hd_system(p[2], p[3]), "", p[1] or p[2])


def render_person(field: str, delimiters: Delimiters, codec: str, problems: list[str]) -> str:
    """XCN/CNN as readable text: ``prefix given middle family suffix, degree (id)``."""
    p = field.split(delimiters.component) + [""] * 7
    family = p[1].split(delimiters.subcomponent)[0]
    words = [p[5], p[2], p[3], family, p[4]]
    name = " ".join(decoded(w, delimiters, codec, problems).strip() for w in words if w.strip())
    degree = decoded(p[6], delimiters, codec, problems).strip()
    if degree:
        name = f"{name}, {degree}" if name else degree
    ident = decoded(p[0], delimiters, codec, problems).strip()
    if ident:
        return f"{name} ({ident})" if name else ident
    return name


def person_name(
    field: str, delimiters: Delimiters, codec: str, problems: list[str]
) -> tuple[str, tuple[str, ...], list[tuple[int, str]]]:
    """XPN (PID-5): (family, given names, [(component, text) not carried: suffix, prefix …])."""
    p = field.split(delimiters.component) + [""] * 6
    family = decoded(p[0].split(delimiters.subcomponent)[0], delimiters, codec, problems).strip()
    given = [decoded(p[1], delimiters, codec, problems).strip()]
    given.extend(decoded(p[2], delimiters, codec, problems).split())
    dropped = [
        (number, decoded(p[number - 1], delimiters, codec, problems).strip())
        for number in (4, 5, 6)
        if p[number - 1].strip()
    ]
    return family, tuple(g for g in given if g), dropped


def render_location(field: str, delimiters: Delimiters, codec: str, problems: list[str]) -> str:
    """PL (PV1-3): point of care, room, bed, facility, building, floor, description."""
    p = field.split(delimiters.component) + [""] * 9
    facility = p[3].split(delimiters.subcomponent)[0]
    parts = (p[0], p[1], p[2], p[6], p[7], facility, p[8])
    return ", ".join(decoded(x, delimiters, codec, problems).strip() for x in parts if x.strip())


def render_organization(field: str, delimiters: Delimiters, codec: str, problems: list[str]) -> str:
    """XON (OBX-23): organization name (identifier)."""
    p = field.split(delimiters.component) + [""] * 10
    name = decoded(p[0], delimiters, codec, problems).strip()
    ident = decoded(p[9] or p[2], delimiters, codec, problems).strip()
    if ident:
        return f"{name} ({ident})" if name else ident
    return name
