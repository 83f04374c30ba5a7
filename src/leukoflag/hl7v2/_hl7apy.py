"""The one module that imports hl7apy: message structure validation for strict mode.

hl7apy is imported inside the functions, so ``import leukoflag`` never loads it; the reader
itself never needs it.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

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
    """Every structure error hl7apy reports for ``raw`` (segment order and cardinality, data
    types, unknown elements), as readable lines; ``[]`` when the message is valid.

    Warnings (a value outside an HL7 table, a length over the maximum) are not problems: real
    feeds send local codes everywhere, and the reader reports what it cannot map as Issues.
    """
    from hl7apy.consts import VALIDATION_LEVEL  # noqa: PLC0415 - lazy third-party import
    from hl7apy.exceptions import HL7apyException, UnsupportedVersion  # noqa: PLC0415
    from hl7apy.parser import parse_message  # noqa: PLC0415
    from hl7apy.validation import Validator  # noqa: PLC0415

    decoded = decode_message(raw, fallback_charset, "MSG")
    if isinstance(decoded, str):
        return [decoded]
    text = decoded.text.replace("\r\n", "\r").replace("\n", "\r")
    # Z-segments are the sender's own, allowed anywhere by agreement (HL7 v2 2.8.1): hl7apy has
    # no place for them in a group and reports the segments after one as misplaced. The reader
    # reports each as hl7v2.segment-unmapped, so they are left out of the structure check.
    field = text[3:4] if text.startswith("MSH") else "|"
    segments = []
    for line in filter(str.strip, text.split("\r")):
        upper = segment_id_any_case(line, field)  # zds|, pid|: checked as the reader reads them
        checked = upper + line.lstrip(" \t")[3:] if upper else line  # ' OBX|' too
        if not checked.startswith("Z"):
            segments.append(checked)
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
                "\r".join(group), validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=True
            )
        except UnsupportedVersion:  # its words ('The version  is not supported') name no field
            problems.append(where + _no_version(group[0]))
            continue
        except failures as exc:
            problems.append(f"{where}hl7apy cannot parse the message: {_describe(exc)}")
            continue
        if message.name is None:  # its own report would say "Unknown element found: None"
            problems.append(where + _no_structure(group[0], message.version))
            continue
        with tempfile.TemporaryDirectory(prefix="leukoflag-hl7apy-") as folder:
            # hl7apy raises only the first error; its report file lists them all.
            report = Path(folder) / "report.txt"
            try:
                Validator.validate(message, report_file=str(report))
            except failures as exc:
                errors = [
                    line.removeprefix("Error: ").strip()
                    for line in report.read_text("utf-8").splitlines()
                    if line.startswith("Error: ")
                ]
                problems.extend(where + error for error in errors or [_describe(exc)])
    return problems


_HEADER = ("MSH", "SFT", "UAC")  # ORU^R01's segments before its PATIENT_RESULT groups


def _patient_groups(segments: list[str]) -> list[list[str]]:
    """``segments`` as one message per PATIENT_RESULT group: the first group with everything
    before it, each later one (from its PID) after the message header. One group when the
    message has at most one PID."""
    starts = [i for i, segment in enumerate(segments) if segment.startswith("PID")]
    if len(starts) < 2:  # one patient or none: the message as it is
        return [segments]
    header = [s for s in segments[: starts[0]] if s[:3] in _HEADER]
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
