"""The one module that imports hl7apy: message structure validation for strict mode.

hl7apy is imported inside the functions, so ``import leukoflag`` never loads it; the reader
itself never needs it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from leukoflag.hl7v2._charset import decode_message

__all__ = ["parse", "validate"]


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
    from hl7apy.exceptions import HL7apyException  # noqa: PLC0415
    from hl7apy.parser import parse_message  # noqa: PLC0415
    from hl7apy.validation import Validator  # noqa: PLC0415

    decoded = decode_message(raw, fallback_charset, "MSG")
    if isinstance(decoded, str):
        return [decoded]
    text = decoded.text.replace("\r\n", "\r").replace("\n", "\r")
    text = "\r".join(line for line in text.split("\r") if line.strip())
    # hl7apy's own defects surface as builtin errors on odd input: a problem, never a crash.
    failures = (HL7apyException, LookupError, ValueError, TypeError, AttributeError)
    try:
        message = parse_message(text, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=True)
    except failures as exc:
        return [f"hl7apy cannot parse the message: {_describe(exc)}"]
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
            return errors or [_describe(exc)]
    return []


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
