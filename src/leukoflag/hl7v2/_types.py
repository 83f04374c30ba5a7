"""HL7 v2 composite data types → model values: CWE/CE, CX, EI, XCN, XPN, PL, XON.

Each reader takes the raw (still escaped) field or component text and the message's delimiters;
readers of values that repeat across messages (codes, units) are cached per process.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

from leukoflag._cache import text_cache
from leukoflag._construct import constructor
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
# An ISO object identifier (first arc 0, 1 or 2), as some senders write a coding system's name.
_OID = re.compile(r"[012](?:\.(?:0|[1-9][0-9]*))+")


def decoded(text: str, delimiters: Delimiters, codec: str, problems: list[str]) -> str:
    """``text`` with escapes decoded (only when it holds the escape character)."""
    if delimiters.escape not in text:
        return text
    value, problem = unescape(text, delimiters, codec)
    if problem:
        problems.append(problem)
    return value


@text_cache(512, texts=2)
def system_uri(name: str, oid: str = "") -> str:
    """The FHIR URI of a v2 coding-system name (table 0396), ``urn:oid:`` of the CWE OID
    component, or ``""`` for a local or unknown name."""
    key = name.strip().upper()
    if not key:
        return _oid_uri(oid)
    row = load_tables().coding_systems.get(key)
    if row is not None:
        return row.uri
    if len(key) == 7 and key.startswith("HL7") and key[3:].isdigit():
        # v2.8.2 table 0396: HL7nnnn names HL7-defined table nnnn.
        return f"http://terminology.hl7.org/CodeSystem/v2-{key[3:]}"
    if _OID.fullmatch(key):  # an OID sent as the name: the system is named all the same
        return f"urn:oid:{key}"
    return _oid_uri(oid)


def _oid_uri(oid: str) -> str:
    """A CWE.14/17/20 OID as a FHIR system: the table's URI for a known one (LOINC's …)."""
    if not oid:
        return ""
    row = load_tables().coding_systems.get(oid)
    return row.uri if row is not None else f"urn:oid:{oid}"


@text_cache(8192)
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


def _leaves(  # noqa: PLR0917 - the reader helpers share this argument order
    text: str, separator: str, width: int, delimiters: Delimiters, codec: str, problems: list[str]
) -> list[str]:
    """``text`` split by ``separator``, each part escape-decoded and stripped, padded to
    ``width``. Only for parts that hold no further separators (decoding comes after splitting)."""
    if delimiters.escape in text:
        parts = [decoded(p, delimiters, codec, problems).strip() for p in text.split(separator)]
    else:
        parts = [p.strip() for p in text.split(separator)]
    if len(parts) < width:
        parts.extend([""] * (width - len(parts)))
    return parts


def identifier_cx(
    field: str, delimiters: Delimiters, codec: str, problems: list[str]
) -> Identifier | None:
    """CX (PID-3, PV1-19): ID^check digit^scheme^assigning authority (HD)^type^facility."""
    component, subcomponent = delimiters.component, delimiters.subcomponent
    if subcomponent not in field:
        if delimiters.escape not in field:
            # The usual ID^^^authority^type: only the three components read are stripped.
            p = field.split(component, 5)
            value = p[0].strip()
            if not value:
                return None
            sent = len(p)
            return constructor(Identifier)(
                value, "", p[4].strip() if sent > 4 else "", p[3].strip() if sent > 3 else ""
            )
        p = _leaves(field, component, 5, delimiters, codec, problems)
        return constructor(Identifier)(p[0], "", p[4], p[3]) if p[0] else None
    raw = field.split(component)
    p = _leaves(component.join(raw[:3]), component, 3, delimiters, codec, problems)
    if not p[0]:
        return None
    hd = _leaves(raw[3] if len(raw) > 3 else "", subcomponent, 3, delimiters, codec, problems)
    kind = _leaves(raw[4] if len(raw) > 4 else "", subcomponent, 1, delimiters, codec, problems)
    return constructor(Identifier)(p[0], _hd_system(hd[1], hd[2]), kind[0], hd[0] or hd[1])


def identifier_ei(
    text: str, separator: str, delimiters: Delimiters, codec: str, problems: list[str]
) -> Identifier | None:
    """EI (OBR-2/3, ORC-2/3/4, SPM-2): entity ID^namespace^universal ID^universal ID type,
    split by ``separator`` (the subcomponent separator when the EI is itself a component)."""
    if delimiters.escape not in text:
        entity, _, namespace = text.partition(separator)
        if separator not in namespace:  # the usual ID^namespace: no universal ID to map
            entity = entity.strip()
            return constructor(Identifier)(entity, "", "", namespace.strip()) if entity else None
    p = _leaves(text, separator, 4, delimiters, codec, problems)
    if not p[0]:
        return None
    return constructor(Identifier)(p[0], _hd_system(p[2], p[3]), "", p[1] or p[2])


_Render = Callable[[str, Delimiters, str, list[str]], str]


def _cached_render(render: _Render) -> _Render:
    """``render`` cached per process by its raw text: providers, locations and organizations
    come back in message after message. Problems found are replayed into the caller's list."""

    @text_cache(4096)
    def cached(field: str, delimiters: Delimiters, codec: str) -> tuple[str, tuple[str, ...]]:
        problems: list[str] = []
        return render(field, delimiters, codec, problems), tuple(problems)

    @functools.wraps(render)
    def rendered(field: str, delimiters: Delimiters, codec: str, problems: list[str]) -> str:
        text, found = cached(field, delimiters, codec)
        problems.extend(found)
        return text

    return rendered


@_cached_render
def render_person(field: str, delimiters: Delimiters, codec: str, problems: list[str]) -> str:
    """XCN/CNN as readable text: ``prefix given middle family suffix, degree (id)``."""
    raw = field.split(delimiters.component)
    if delimiters.subcomponent in field and len(raw) > 1:
        raw[1] = raw[1].split(delimiters.subcomponent)[0]  # FN: surname & own surname prefix …
    p = _leaves(
        delimiters.component.join(raw), delimiters.component, 7, delimiters, codec, problems
    )
    name = " ".join(w for w in (p[5], p[2], p[3], p[1], p[4]) if w)
    if p[6]:
        name = f"{name}, {p[6]}" if name else p[6]
    if p[0]:
        return f"{name} ({p[0]})" if name else p[0]
    return name


def person_name(
    field: str, delimiters: Delimiters, codec: str, problems: list[str]
) -> tuple[str, tuple[str, ...], list[tuple[int, str]]]:
    """XPN (PID-5): (family, given names, [(component, text) not carried: suffix, prefix …])."""
    if delimiters.subcomponent in field:
        raw = field.split(delimiters.component)
        raw[0] = raw[0].split(delimiters.subcomponent)[0]
        field = delimiters.component.join(raw)
    p = _leaves(field, delimiters.component, 6, delimiters, codec, problems)
    given = (p[1], *p[2].split()) if p[1] else tuple(p[2].split())
    dropped = [(number, p[number - 1]) for number in (4, 5, 6) if p[number - 1]]
    return p[0], given, dropped


@_cached_render
def render_location(field: str, delimiters: Delimiters, codec: str, problems: list[str]) -> str:
    """PL (PV1-3): point of care, room, bed, facility, building, floor, description."""
    raw = field.split(delimiters.component)
    if delimiters.subcomponent in field and len(raw) > 3:
        raw[3] = raw[3].split(delimiters.subcomponent)[0]  # HD: the namespace
    p = _leaves(
        delimiters.component.join(raw), delimiters.component, 9, delimiters, codec, problems
    )
    return ", ".join(x for x in (p[0], p[1], p[2], p[6], p[7], p[3], p[8]) if x)


@_cached_render
def render_organization(field: str, delimiters: Delimiters, codec: str, problems: list[str]) -> str:
    """XON (OBX-23): organization name (identifier)."""
    p = _leaves(field, delimiters.component, 10, delimiters, codec, problems)
    ident = p[9] or p[2]
    if ident:
        return f"{p[0]} ({ident})" if p[0] else ident
    return p[0]
