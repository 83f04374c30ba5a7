"""Deterministic resource ids: UUIDv5 over the stable identity of a message and a path in it.

Name of one resource = the JSON array ``[<message key…>, <resourceType>, <path>]`` where the
message key is ``["v2", MSH-3, MSH-4, MSH-10, MSH-7 as sent]`` and the path is the segment
location without its ``MSG[n]/`` prefix (``OBR[1]``, ``OBX[3]``, ``PID[1]``), so the same
message converted twice, from any position in any file, gives the same ids. A message without
MSH-10 has no identity of its own: its key is a SHA-256 of its content instead (and an Issue says
so). The namespace is fixed: ``uuid5(NAMESPACE_URL, "http://leukoflag.org/fhir/id")``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import uuid

import orjson

from leukoflag.model import Message

__all__ = ["NAMESPACE", "message_key", "resource_id"]

# uuid.uuid5(uuid.NAMESPACE_URL, "http://leukoflag.org/fhir/id"); never change it: ids would.
NAMESPACE = uuid.UUID("2c88a5f5-3913-5fea-9c2f-91dd25288560")
_NAMESPACE_BYTES = NAMESPACE.bytes
_MESSAGE_PREFIX = re.compile(r"MSG\[\d+\]")


def message_key(message: Message) -> tuple[tuple[str, ...], bool]:
    """The identity of ``message`` for ids, and whether it came from MSH-10 (else content)."""
    stamp = message.timestamp.text if message.timestamp is not None else ""
    if message.control_id.strip():
        parts = (
            "v2",
            message.sending_application,
            message.sending_facility,
            message.control_id,
            stamp,
        )
        return parts, True
    # No control id: the message's content (without its position in the input) is its identity.
    content = dataclasses.replace(message, index=0, source="", issues=())
    digest = hashlib.sha256(_MESSAGE_PREFIX.sub("MSG", repr(content)).encode()).hexdigest()
    return ("v2-content", digest), False


def resource_id(key: tuple[str, ...], resource_type: str, path: str) -> str:
    """``uuid5(NAMESPACE, name)`` as a string, for the resource at ``path`` of message ``key``."""
    name = orjson.dumps([*key, resource_type, path])
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # RFC 9562: version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 9562: variant 10
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
