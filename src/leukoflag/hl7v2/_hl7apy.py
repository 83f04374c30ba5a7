"""The one module that imports hl7apy: message structure validation for strict mode.

hl7apy is imported inside the functions, so ``import leukoflag`` never loads it; the reader
itself never needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from leukoflag._quote import quoted
from leukoflag.hl7v2._charset import decode_message
from leukoflag.hl7v2._er7 import segment_id_any_case

__all__ = ["parse", "unchecked", "validate"]

# hl7apy's ORU^R01 definitions of these versions cannot hold a valid message: an ORDER_DOCUMENT
# group inside COMMON_ORDER requires a TXA, and its group finder puts the order's OBX there, so
# every result message fails ("Missing required child ORU_R01_ORDER_DOCUMENT.TXA").
_DEFECTIVE = frozenset({"2.8", "2.8.1", "2.8.2"})
# Its ORU^R30 (R31, R32) definitions of these versions list patient observations (OBX) before
# the visit, and its group finder takes every OBX of the order for one of them, so every result
# message fails ("Missing required child ORU_R30.ORU_R30_OBSERVATION").
_DEFECTIVE_R30 = frozenset({"2.6", "2.7", "2.8", "2.8.1", "2.8.2"})
_R30_EVENTS = frozenset({"ORU^R30", "ORU^R31", "ORU^R32"})
_RELEASE = re.compile(r"2\.(\d+)(?:\.(\d+))?")
# The HL7 v2 releases up to 2.8.2 (table 0104): one hl7apy has no definitions for (2.0, 2.0D,
# 2.7.1) is a real version it cannot check, not a message to reject.
_BEFORE_2_8 = (
    "2.0",
    "2.0D",
    "2.1",
    "2.2",
    "2.3",
    "2.3.1",
    "2.4",
    "2.5",
    "2.5.1",
    "2.6",
    "2.7",
    "2.7.1",
)
_RELEASES = frozenset(_BEFORE_2_8) | _DEFECTIVE


def unchecked(version: str, message_type: str = "ORU^R01") -> str:
    """Why the structure of a message of HL7 ``version`` (MSH-12) and ``message_type`` (MSH-9,
    ``ORU^R31^ORU_R30``) cannot be checked: a release hl7apy does not know, or one whose
    definition of the message it gets wrong; ``""`` when it can be (also for a version that is
    not an HL7 v2 release at all, which the check then reports)."""
    from hl7apy import SUPPORTED_LIBRARIES  # noqa: PLC0415 - lazy third-party import

    parts = message_type.split("^")
    if version in _DEFECTIVE_R30 and (
        "^".join(parts[:2]) in _R30_EVENTS or parts[2:3] == ["ORU_R30"]
    ):
        return (
            f"hl7apy's ORU^R30 definition for v{version} takes the order's OBX segments for "
            "patient observations before the visit, so no point-of-care result message passes"
        )
    if version in _DEFECTIVE:
        return (
            f"hl7apy's ORU^R01 definition for v{version} requires a TXA document segment after "
            "the order's first OBX, so no result message passes"
        )
    if version in SUPPORTED_LIBRARIES:
        return ""
    if version in _RELEASES:
        return f"hl7apy has no definitions for HL7 v{version}"
    if _RELEASE.fullmatch(version) is None:
        return ""
    newest = max(SUPPORTED_LIBRARIES, key=_release_key)
    if _release_key(version) > _release_key(newest):
        return f"hl7apy knows HL7 v2 releases up to {newest}"
    return ""


def _release_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def parse(text: str) -> Any:
    """hl7apy's own parse of an ER7 message (segments separated by CR), tolerant validation."""
    from hl7apy.parser import parse_message  # noqa: PLC0415 - lazy third-party import

    return parse_message(text)


def validate(raw: bytes, *, fallback_charset: str) -> list[str]:
    """Every structure error hl7apy's rules find in ``raw`` (segment cardinality, data types,
    unknown elements), each at its HL7 location in plain words; ``[]`` when the message is valid.

    Warnings (a value outside an HL7 table, a length over the maximum) are not problems: real
    feeds send local codes everywhere, and the reader reports what it cannot map as Issues.
    """
    from hl7apy.consts import VALIDATION_LEVEL  # noqa: PLC0415 - lazy third-party import
    from hl7apy.exceptions import HL7apyException, UnsupportedVersion  # noqa: PLC0415
    from hl7apy.parser import parse_message  # noqa: PLC0415

    decoded = decode_message(raw, fallback_charset, "MSG")
    if isinstance(decoded, str):
        return [decoded]
    text = decoded.text.replace("\r\n", "\r").replace("\n", "\r")
    # Z-segments are the sender's own, allowed anywhere by agreement (HL7 v2 2.8.1): hl7apy has
    # no place for them in a group and reports the segments after one as misplaced. The reader
    # reports each as hl7v2.segment-unmapped, so they are left out of the structure check.
    field = text[3:4] if text.startswith("MSH") else "|"
    segments: list[tuple[str, str]] = []  # (OBX[2], the segment), numbered as the reader does
    counts: dict[str, int] = {}
    for line in filter(str.strip, text.split("\r")):
        upper = segment_id_any_case(line, field)  # zds|, pid|: checked as the reader reads them
        checked = upper + line.lstrip(" \t")[3:] if upper else line  # ' OBX|' too
        name = checked[:3]
        counts[name] = counts.get(name, 0) + 1
        if not checked.startswith("Z"):
            segments.append((f"{name}[{counts[name]}]", checked))
    # hl7apy's group finder keeps a second PID in the first PATIENT_RESULT group ("Child limit
    # exceeded"), though the group repeats: each patient's segments are checked on their own,
    # after the message header.
    groups = _patient_groups(segments)
    # hl7apy's own defects surface as builtin errors on odd input: a problem, never a crash.
    failures = (HL7apyException, LookupError, ValueError, TypeError, AttributeError)
    problems: list[str] = []
    for number, group in enumerate(groups, start=1):
        where = f"patient {number} (PID[{number}]): " if len(groups) > 1 else ""
        try:
            message = parse_message(
                "\r".join(line for _, line in group),
                validation_level=VALIDATION_LEVEL.TOLERANT,
                find_groups=True,
            )
            if message.name is None:  # its own report would say "Unknown element found: None"
                problems.append(where + _no_structure(group[0][1], message.version))
                continue
            # hl7apy drops a segment its structure does not have and starts a new group there,
            # then reports the group as missing its OBR: say which segment it is instead.
            allowed = _segment_names(message.name, message.version)
            unknown = [(at, line) for at, line in group if line[:3] not in allowed]
            problems.extend(
                f"{where}{at}: {_of(message)} has no {line[:3]} segment" for at, line in unknown
            )
            if unknown:
                kept = [(at, line) for at, line in group if line[:3] in allowed]
                message = parse_message(
                    "\r".join(line for _, line in kept),
                    validation_level=VALIDATION_LEVEL.TOLERANT,
                    find_groups=True,
                )
                group = kept  # noqa: PLW2901 - the segments hl7apy was given
            problems.extend(where + p for p in _structure_problems(message, group))
        except UnsupportedVersion:  # its words ('The version  is not supported') name no field
            problems.append(where + _no_version(group[0][1]))
        except failures as exc:
            problems.append(f"{where}hl7apy cannot parse the message: {_describe(exc)}")
    return problems


def _of(message: Any) -> str:
    return f"{message.name} in HL7 v{message.version}"


def _segment_names(structure: str, version: str) -> frozenset[str]:
    """The segments hl7apy's definition of message ``structure`` in ``version`` has anywhere."""
    from hl7apy import load_reference  # noqa: PLC0415 - lazy third-party import

    names: set[str] = set()
    pending = [load_reference(structure, "Message", version)]
    while pending:
        for child in pending.pop()[1]:
            if child[3] == "SEG":
                names.add(child[0])
            elif child[3] == "GRP":
                pending.append(child[1])
    return frozenset(names)


_HEADER = ("MSH", "SFT", "UAC")  # ORU^R01's segments before its PATIENT_RESULT groups
_LONGEST = 40  # characters of a sent value a reason quotes (longer ones shortened by quoted)


def _patient_groups(segments: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """``segments`` as one message per PATIENT_RESULT group: the first group with everything
    before it, each later one (from its PID) after the message header. One group when the
    message has at most one PID."""
    starts = [i for i, (_, segment) in enumerate(segments) if segment.startswith("PID")]
    if len(starts) < 2:  # one patient or none: the message as it is
        return [segments]
    header = [s for s in segments[: starts[0]] if s[1][:3] in _HEADER]
    groups = [segments[: starts[1]]]
    for start, end in zip(starts[1:], [*starts[2:], len(segments)], strict=True):
        groups.append([*header, *segments[start:end]])
    return groups


def _no_structure(header: str, version: str) -> str:
    """Why hl7apy found no structure for the message of MSH segment ``header`` in ``version``."""
    fields = header.split(header[3:4] or "|")
    sent = fields[8] if len(fields) > 8 else ""
    parts = sent.split(fields[1][:1] or "^") if len(fields) > 1 else [sent]
    if len(parts) > 2 and parts[2]:
        return f"hl7apy has no message structure {parts[2]} for HL7 v{version} (MSH-9 {sent!r})"
    shared = " (ORU_R30 for ORU^R31 and ORU^R32)" if "^".join(parts[:2]) in _R30_EVENTS else ""
    return (
        f"hl7apy finds no message structure for MSH-9 {sent!r} in HL7 v{version}: MSH-9.3, "
        f"where it reads the structure{shared}, is empty"
    )


def _no_version(header: str) -> str:
    """Why hl7apy has no definitions to check the message of MSH segment ``header`` against."""
    fields = header.split(header[3:4] or "|")
    sent = fields[11] if len(fields) > 11 else ""
    version = sent.split(fields[1][:1] or "^")[0].strip() if len(fields) > 1 else sent.strip()
    if not version:
        return (
            "MSH-12 (version ID) is empty: the structure is checked against the definition of "
            "the HL7 v2 version MSH-12 names"
        )
    return (
        f"MSH-12 version {version!r} is not an HL7 v2 release (table 0104): the structure is "
        "checked against the definition of the HL7 v2 version MSH-12 names"
    )


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True, slots=True)
class _Check:
    """One hl7apy message being checked: where each of its segments was in the message sent."""

    version: str
    structure: str  # hl7apy's message structure, ORU_R01
    segments: dict[int, tuple[str, str]]  # id() of hl7apy's Segment → (OBX[2], the line sent)
    delimiters: str  # field, component, repetition, escape, subcomponent, as MSH-1 and MSH-2
    problems: list[str] = field(default_factory=list)

    @property
    def of(self) -> str:
        return f"{self.structure} in HL7 v{self.version}"


def _structure_problems(message: Any, lines: list[tuple[str, str]]) -> list[str]:
    """hl7apy's structure check of ``message`` (its Validator's rules), each problem at its HL7
    location (``OBX[2]-29``) of ``lines``, the (location, segment) pairs sent to hl7apy."""
    found: list[Any] = []
    _segments_of(message, found)
    if [s.name for s in found] == [line[:3] for _, line in lines]:
        segments = {id(s): pair for s, pair in zip(found, lines, strict=True)}
    else:  # hl7apy dropped or added a segment: locations without the repetition
        segments = {id(s): (str(s.name), s.to_er7()) for s in found}
    header = lines[0][1] if lines else "MSH|^~\\&"
    check = _Check(message.version, str(message.name), segments, header[3:8])
    _element(message, None, check)
    return check.problems


def _segments_of(element: Any, found: list[Any]) -> None:
    for child in element.children:
        if child.classname == "Segment":
            found.append(child)
        elif child.classname == "Group":
            _segments_of(child, found)


def _element(element: Any, reference: Any, check: _Check) -> None:
    """hl7apy's ``Validator._is_valid`` and ``_check_known_element``, reporting where."""
    from hl7apy import load_reference  # noqa: PLC0415 - lazy third-party import
    from hl7apy.core import is_base_datatype  # noqa: PLC0415
    from hl7apy.exceptions import ChildNotFound  # noqa: PLC0415

    if element.is_z_element():  # Z-segments are left out before; a Z field is the sender's own
        return
    if reference is None:
        try:
            reference = load_reference(element.name, element.classname, element.version)
        except ChildNotFound:
            check.problems.append(f"{_where(element, check)}: {check.of} has no such element")
            return
    if reference[0] in {"sequence", "choice"}:
        _children(element, reference, check)
        return
    if element.datatype == "varies":  # OBX-5: its type is OBX-2's, which the reader checks
        return
    if element.datatype != reference[2]:
        check.problems.append(_wrong_type(element, reference, check))
    elif element.datatype is not None and not is_base_datatype(element.datatype, element.version):
        _element(
            element, load_reference(element.datatype, "Datatypes_Structs", element.version), check
        )


def _children(element: Any, reference: Any, check: _Check) -> None:
    known = [c for c in element.children if not c.is_z_element()]
    allowed = {c[0] for c in reference[1]}
    if any(c.name not in allowed for c in known):
        check.problems.extend(_beyond(element, len(reference[1]), allowed, check))
    for child_reference in reference[1]:
        name, (least, most) = child_reference[0], child_reference[2]
        children = [c for c in known if c.name == name]
        if len(children) < least:
            check.problems.append(_missing(element, child_reference, check))
        elif most != -1 and len(children) > most:
            check.problems.append(_too_many(element, children[most], most, check))
        for child in children:
            _element(child, child_reference[1], check)


def _missing(element: Any, child_reference: Any, check: _Check) -> str:
    name, kind = child_reference[0], child_reference[3]
    if kind in {"SEG", "GRP"}:
        what = f"{name} segment" if kind == "SEG" else f"{_group(name, check)} group"
        if element.classname == "Message":
            return f"{what} missing: {check.of} requires one in the message"
        group = _group(element.name, check)
        return (
            f"{what} missing: {check.of} requires one in each {group} group "
            f"(the one at {_where(element, check)})"
        )
    number = name.rsplit("_", 1)[-1]
    return (
        f"{_where(element, check)}{'-' if kind == 'FIE' else '.'}{number} "
        f"({_words(child_reference[1][3])}) is empty: {check.of} requires it"
    )


def _too_many(element: Any, extra: Any, most: int, check: _Check) -> str:
    where = _where(extra, check)
    if extra.classname in {"Segment", "Group"}:
        what = (
            f"{extra.name} segment"
            if extra.classname == "Segment"
            else f"{_group(extra.name, check)} group"
        )
        inside = (
            "the message"
            if element.classname == "Message"
            else f"each {_group(element.name, check)} group"
        )
        return f"{where}: {check.of} allows {most} {what} in {inside}"
    value = quoted(_sent(extra, check), _LONGEST)
    if most == 0:
        return f"{where} {value}: {_name_of(extra)} is withdrawn in HL7 v{check.version}"
    return f"{where} {value}: {_name_of(extra)} does not repeat in {check.of}"


def _wrong_type(element: Any, reference: Any, check: _Check) -> str:
    where, value = _where(element, check), quoted(_sent(element, check), _LONGEST)
    if element.datatype is None:  # hl7apy's word for a value it could not give the type
        parts = "components" if element.classname == "Field" else "subcomponents"
        return (
            f"{where} {value} has {parts}, but {_name_of(element, reference[3])} is of type "
            f"{reference[2]}, "
            f"which has none in HL7 v{check.version}"
        )
    return (
        f"{where} {value} is of type {element.datatype}, but {check.of} defines "
        f"{_name_of(element, reference[3])} as {reference[2]}"
    )


def _beyond(element: Any, count: int, allowed: set[str], check: _Check) -> list[str]:
    """A problem for each part of ``element`` sent after the last one its definition has."""
    kind = {"Segment": "fields", "Field": "components", "Component": "subcomponents"}.get(
        element.classname, "children"
    )
    where, sent = _where(element, check), _sent(element, check)
    if element.classname == "Segment":
        parts = sent.split(check.delimiters[0])[1:]
        first = 2 if element.name == "MSH" else 1  # MSH-1 is the field separator itself
        has = f"{element.name} has {count} {kind}"
        joint = "-"
    else:
        separator = check.delimiters[1] if element.classname == "Field" else check.delimiters[4]
        parts, first = sent.split(separator), 1
        has = f"{_name_of(element, kind=element.datatype)} has {count} {kind}"
        joint = "."
    extra = [
        f"{where}{joint}{number} {quoted(part, _LONGEST)}: {has} in HL7 v{check.version}"
        for number, part in enumerate(parts, start=first)
        if number > count and part
    ]
    names = sorted({str(c.name) for c in element.children if c.name not in allowed})
    return extra or [f"{where}: {check.of} does not define its {kind} {names}"]


def _group(name: str, check: _Check) -> str:
    return name.removeprefix(f"{check.structure}_")


def _where(element: Any, check: _Check) -> str:
    """``element``'s HL7 location: ``OBX[2]``, ``PID[1]-3[2]``, ``PV1[1]-7.7``, ``PID[1]-3.4.4``;
    a group's is its first segment's."""
    kind = element.classname
    if kind == "Segment":
        return check.segments.get(id(element), (str(element.name), ""))[0]
    if kind in {"Message", "Group"}:
        first: list[Any] = []
        _segments_of(element, first)
        return _where(first[0], check) if first else check.structure
    number = _number(element)
    if kind == "Field":
        same = [c for c in element.parent.children if c.name == element.name]
        repeat = f"[{same.index(element) + 1}]" if len(same) > 1 else ""
        return f"{_where(element.parent, check)}-{number}{repeat}"
    return f"{_where(element.parent, check)}.{number}"


def _sent(element: Any, check: _Check) -> str:
    """What the message sent at ``element``, cut from the segment as the sender wrote it."""
    kind = element.classname
    if kind == "Segment":
        return str(check.segments.get(id(element), ("", element.to_er7()))[1])
    if kind in {"Message", "Group"}:
        return ""
    outer = _sent(element.parent, check)
    if kind == "Field":
        fields = outer.split(check.delimiters[0])
        index = _number(element) - (1 if element.parent.name == "MSH" else 0)
        repetitions = (fields[index] if index < len(fields) else "").split(check.delimiters[2])
        same = [c for c in element.parent.children if c.name == element.name]
        at = same.index(element)
        return repetitions[at] if at < len(repetitions) else ""
    separator = check.delimiters[1] if kind == "Component" else check.delimiters[4]
    parts = outer.split(separator)
    number = _number(element)
    return parts[number - 1] if number <= len(parts) else ""


def _number(element: Any) -> int:
    """A field's, component's or subcomponent's position from hl7apy's name (``PV1_18``,
    ``XCN_7``); 1 for a primitive type's only component (``ST``)."""
    last = str(element.name).rsplit("_", 1)[-1]
    return int(last) if last.isdigit() else 1


def _name_of(element: Any, long_name: Any = None, kind: str = "") -> str:
    """``PV1-18 (patient type)``, ``XCN.7 (degree)``, ``MSH-9 (message type, CM_MSG)``: an
    element's definition, with its data type ``kind`` when given."""
    number, words = _number(element), _words(long_name or element.long_name)
    words += f", {kind}" if kind else ""
    if element.classname == "Field":
        return f"{element.parent.name}-{number} ({words})"
    return f"{element.parent.datatype}.{number} ({words})"


def _words(name: Any) -> str:
    # hl7apy's long names carry the standard's examples: DEGREE_E_G_MD, SUFFIX_E_G_JR_OR_III
    text = re.sub(r"_E_G_.*", "", str(name or ""))
    return text.lower().replace("_", " ").strip() or "unnamed"
