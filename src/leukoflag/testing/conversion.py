"""Converting test input: builder objects, text or bytes, with settings overridden per call.

:func:`convert_message` is what the ``leukoflag_convert`` fixture calls. Its result is a
:class:`leukoflag.Conversion` that also keeps the input and the settings used, so
:func:`~leukoflag.testing.assert_no_data_loss` can check every OBX against the output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from leukoflag._text import utf8_bytes
from leukoflag.api import Conversion, convert
from leukoflag.fhir import dumps
from leukoflag.settings import Settings
from leukoflag.testing.builders import Hl7Batch, OruMessage

__all__ = ["Convertible", "RecordedConversion", "convert_message", "input_bytes"]

_Single: TypeAlias = OruMessage | Hl7Batch | Mapping[str, Any] | str | bytes
#: What the test helpers convert: builder output, FHIR dicts, text or bytes.
Convertible: TypeAlias = _Single | Sequence[OruMessage | Hl7Batch] | Sequence[Mapping[str, Any]]


@dataclass(slots=True, repr=False)  # Conversion's repr: counts, never the Patient or the input
class RecordedConversion(Conversion):
    """A :class:`leukoflag.Conversion` that remembers its input bytes and settings."""

    data: bytes = b""
    settings: Settings = dataclasses.field(default_factory=Settings)


def input_bytes(message: Convertible) -> bytes:
    """The bytes leukoflag reads for ``message``.

    Builder messages are encoded in their MSH-18 charset; a FHIR dict (or a
    :class:`~leukoflag.testing.FhirResource`) is serialized with exact decimals; text is UTF-8
    (as :func:`leukoflag.convert` encodes it; it reads the text itself as its characters).
    A list of HL7 v2 messages is concatenated (one input of several messages); a list of FHIR
    resources becomes NDJSON.
    """
    if isinstance(message, (OruMessage, Hl7Batch)):
        return message.encode()
    if isinstance(message, Mapping):
        return dumps(dict(message))
    if isinstance(message, str):
        return utf8_bytes(message)  # as leukoflag.convert(str) reads it, lone surrogates too
    if isinstance(message, (bytes, bytearray)):
        return bytes(message)
    items = list(message) if isinstance(message, Iterable) else []  # else the TypeError below
    if items and all(isinstance(i, (OruMessage, Hl7Batch)) for i in items):
        return b"".join(i.encode() for i in items if isinstance(i, (OruMessage, Hl7Batch)))
    if items and all(isinstance(i, Mapping) for i in items):
        return b"".join(dumps(dict(i), newline=True) for i in items if isinstance(i, Mapping))
    got = type(message).__name__
    if items:  # a list of texts is "a list of HL7 v2 messages" to whoever read its samples
        kinds = " and ".join(sorted({type(i).__name__ for i in items}))
        got = (
            f"a list of {kinds}: a list holds builder messages (OruMessage, Hl7Batch) or FHIR "
            "dicts; join texts or bytes into one (''.join(...)), each message ending with its "
            "segment terminator"
        )
    raise TypeError(
        "convert: pass an OruMessage, Hl7Batch, FHIR dict, str or bytes, or a list of builder "
        f"messages or of FHIR resources; got {got}"
    )


def convert_message(
    message: Convertible, settings: Settings | None = None, **overrides: Any
) -> RecordedConversion:
    """Convert ``message`` with ``settings`` (default ``Settings()``) changed by ``overrides``
    (``fhir_version="R5"``, ``strict=False`` …); an unknown or invalid setting raises
    ``TypeError`` / :class:`leukoflag.SettingsError`."""
    base = settings if settings is not None else Settings()
    if not isinstance(base, Settings):  # a conftest's leukoflag_settings returning a dict
        raise TypeError(
            "convert_message: settings must be a leukoflag.Settings (the leukoflag_settings "
            f"fixture returns one: Settings(strict=True, ...)), not {type(base).__name__}"
        )
    names = {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(
            f"unknown setting(s) {', '.join(unknown)}; Settings has {', '.join(sorted(names))}"
        )
    used = dataclasses.replace(base, **overrides) if overrides else base
    data = input_bytes(message)
    # Text goes in as text: convert reads its characters, not MSH-18's reading of its UTF-8.
    done = convert(message if isinstance(message, str) else data, used, source="<test>")
    return RecordedConversion(
        bundles=done.bundles,
        findings=done.findings,
        issues=done.issues,
        rejected=done.rejected,
        fhir_version=done.fhir_version,
        data=data,
        settings=used,
    )
