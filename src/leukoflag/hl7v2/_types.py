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
from leukoflag.hl7v2._er7 import Delimiters, described, unescape
from leukoflag.hl7v2._tables import load_tables
from leukoflag.model import Coding, Concept, Identifier

__all__ = [
    "concept",
    "concept_from_parts",
    "cwe_unread",
    "decoded",
    "identifier_cx",
    "identifier_ei",
    "person_name",
    "render_location",
    "render_organization",
    "render_person",
    "system_uri",
    "unread_parts",
]

# Made once: a constructor() call is a cache look-up of about 900 instructions (29 a CBC).
_new_identifier = constructor(Identifier)

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
    if key.startswith("URN:OID:") and _OID.fullmatch(key[8:]):
        return _oid_uri(key[8:])  # LOINC's OID is http://loinc.org, as in CWE.14
    if "://" in key or key.startswith("URN:"):
        # a FHIR system URI sent as the name (feeds bridged from FHIR): the system as sent
        return name.strip()
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
    joined = "".join(parts)
    if '""' in joined:  # a component sent as "" is HL7's null, as a whole field is: no code
        # (told before decoding: a text of two quotes sent escaped, \X22\", is no null)
        parts = ["" if x.strip() == '""' else x for x in parts]
    if delimiters.escape in joined:
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
        return None, described(problems)
    return Concept(tuple(codings), text), described(problems)


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
            return _new_identifier(
                value, "", p[4].strip() if sent > 4 else "", p[3].strip() if sent > 3 else ""
            )
        p = _leaves(field, component, 5, delimiters, codec, problems)
        return _new_identifier(p[0], "", p[4], p[3]) if p[0] else None
    raw = field.split(component)
    p = _leaves(component.join(raw[:3]), component, 3, delimiters, codec, problems)
    if not p[0]:
        return None
    hd = _leaves(raw[3] if len(raw) > 3 else "", subcomponent, 3, delimiters, codec, problems)
    kind = _leaves(raw[4] if len(raw) > 4 else "", subcomponent, 1, delimiters, codec, problems)
    return _new_identifier(p[0], _hd_system(hd[1], hd[2]), kind[0], hd[0] or hd[1])


def identifier_ei(
    text: str, separator: str, delimiters: Delimiters, codec: str, problems: list[str]
) -> Identifier | None:
    """EI (OBR-2/3, ORC-2/3/4, SPM-2): entity ID^namespace^universal ID^universal ID type,
    split by ``separator`` (the subcomponent separator when the EI is itself a component)."""
    if delimiters.escape not in text:
        entity, _, namespace = text.partition(separator)
        if separator not in namespace:  # the usual ID^namespace: no universal ID to map
            entity = entity.strip()
            return _new_identifier(entity, "", "", namespace.strip()) if entity else None
    p = _leaves(text, separator, 4, delimiters, codec, problems)
    if not p[0]:
        return None
    return _new_identifier(p[0], _hd_system(p[2], p[3]), "", p[1] or p[2])


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
    """XPN (PID-5): (family, given names, [(component, text) of XPN.4 suffix, XPN.5 prefix and
    XPN.6 degree, those sent])."""
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


def address_parts(field: str, delimiters: Delimiters, codec: str, problems: list[str]) -> list[str]:
    """XAD (PID-11), one repetition: its components 1-9 decoded, XAD.1 its street (SAD.1)."""
    raw = field.split(delimiters.component)
    if delimiters.subcomponent in raw[0]:
        raw[0] = raw[0].split(delimiters.subcomponent)[0]  # SAD.2-3 street name, dwelling number
    return _leaves(
        delimiters.component.join(raw[:9]), delimiters.component, 9, delimiters, codec, problems
    )


def telecom_parts(field: str, delimiters: Delimiters, codec: str, problems: list[str]) -> list[str]:
    """XTN (PID-13/14), one repetition: its components 1-8 decoded."""
    return _leaves(
        delimiters.component.join(field.split(delimiters.component)[:8]),
        delimiters.component,
        8,
        delimiters,
        codec,
        problems,
    )


# The components each composite reader above carries, by datatype; every other populated one
# is unread. A component in the second set is read from its first subcomponent only (FN, HD).
_READ_PARTS: dict[str, tuple[frozenset[int], frozenset[int]]] = {
    "CX": (frozenset({1, 4, 5}), frozenset({5})),  # ID, assigning authority (HD), type
    "CXD": (frozenset({1, 4, 5, 7, 8}), frozenset({5})),  # PID-2/3/4, PV1-19: CX.7-8 the period too
    "XPN": (frozenset(range(1, 8)), frozenset({1})),  # family (FN.1) … degree, type (PID-5)
    "XCN": (frozenset(range(1, 8)), frozenset({2})),  # ID, family (FN.1) … degree
    "PL": (frozenset({1, 2, 3, 4, 7, 8, 9}), frozenset({4})),  # facility: the HD namespace
    "EI": (frozenset({1, 2, 3, 4}), frozenset()),
    "HD": (frozenset({1, 2, 3}), frozenset()),
    "XON": (frozenset({1, 3, 10}), frozenset()),
    "XAD": (frozenset({1, 2, 3, 4, 5, 6, 7, 9}), frozenset({1})),  # street (SAD.1) … county
    "XTN": (frozenset(range(1, 9)), frozenset()),  # number, use, type, address … extension
}
_HD_TYPES = frozenset({"ISO", "UUID", "URI", "URL"})  # universal ID types _hd_system maps


@text_cache(4096)
def unread_parts(field: str, kind: str, delimiters: Delimiters) -> tuple[tuple[str, str], ...]:
    """The populated components (``"6"``) and subcomponents (``"4.2"``) of one repetition of a
    ``kind`` field that its reader above does not carry, with their text as sent."""
    component, subcomponent = delimiters.component, delimiters.subcomponent
    parts = field.split(component)
    if kind == "CWE":
        return cwe_unread(parts)
    read, first_only = _READ_PARTS[kind]
    if kind in ("CX", "CXD", "EI") and not parts[0].strip():  # no ID: nothing carried
        return tuple((str(at), part) for at, part in enumerate(parts, 1) if part.strip())
    unread: list[tuple[str, str]] = []
    for number, part in enumerate(parts, 1):
        if not part.strip():
            continue
        if number not in read:
            unread.append((str(number), part))
        elif number in first_only and subcomponent in part:
            unread.extend(
                (f"{number}.{at}", sub)
                for at, sub in enumerate(part.split(subcomponent)[1:], 2)
                if sub.strip()
            )
        elif kind[:2] == "CX" and number == 4 and subcomponent in part:
            unread.extend((f"4.{at}", text) for at, text in _hd_unread(part.split(subcomponent)))
    if kind == "EI" and len(parts) > 2:  # EI.2-4 are an HD: namespace, universal ID, its type
        unread.extend((str(at + 1), text) for at, text in _hd_unread(parts[1:]))
    elif kind == "HD" and len(parts) > 2 and parts[2].strip():
        # MSH-3 to MSH-6: universal ID ^ type are kept beside a namespace ID, else the type is not
        if not (parts[0].strip() and parts[1].strip()):
            unread.append(("3", parts[2]))
    elif kind == "XON" and len(parts) > 9 and parts[9].strip() and parts[2].strip():
        unread.append(("3", parts[2]))  # XON.10 is the identifier then
        unread.sort(key=lambda found: int(found[0].split(".")[0]))
    return tuple(unread)


def _hd_unread(hd: list[str]) -> list[tuple[int, str]]:
    """The parts of an HD (namespace, universal ID, type) that an Identifier does not carry: a
    universal ID that is no system (its type unknown) beside a namespace, a type without use."""
    namespace, universal, kind = (*hd[:3], "", "")[:3]
    if universal.strip() and kind.strip().upper() in _HD_TYPES:
        return []
    unread = []
    if universal.strip() and namespace.strip():
        unread.append((2, universal))
    if kind.strip():
        unread.append((3, kind))
    return unread


def cwe_unread(parts: list[str]) -> tuple[tuple[str, str], ...]:
    """The components of a CWE that :func:`concept_from_parts` does not carry: the text, system
    and versions of a coding sent without its code (CWE.2 or CWE.5 stays as the concept's text
    when no code and no CWE.9 come), the version of a coding sent without any system (no CWE.3
    name or OID: FHIR writes it without system, and a version without one means nothing; a
    local ``99LAB`` is written with its v2-named system and the version), and the value set
    OIDs and versions (15-16, 18-19, 21-22)."""
    p = [part.strip() for part in parts] + [""] * (22 - len(parts))
    unread = {number for number in (15, 16, 18, 19, 21, 22) if p[number - 1]}
    coded = False
    for code_at, *rest in _TRIPLETS:
        if p[code_at]:
            coded = True
            _, system_at, version_at, oid_at = rest
            if p[version_at] and not p[system_at] and not system_uri("", p[oid_at]):
                unread.add(version_at + 1)
        else:
            unread.update(at + 1 for at in rest if p[at])
    if not coded and not p[8]:
        unread.discard(2 if p[1] else 5)  # the text of a concept without code
    unread.update(number for number in range(23, len(parts) + 1) if p[number - 1])
    return tuple((str(number), parts[number - 1]) for number in sorted(unread))
