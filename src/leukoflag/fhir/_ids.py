"""Deterministic resource ids: UUIDv5 over the stable identity of a message and a path in it.

Name of one resource = the JSON array ``[<message key…>, <resourceType>, <path>]`` where the
message key is ``["v2", MSH-3, MSH-4, MSH-10, MSH-7 as sent]`` (an HD with a universal ID as
``namespace^universal ID^type``, else its namespace ID) and the path is the segment
location without its ``MSG[n]/`` prefix (``OBR[1]``, ``OBX[3]``, ``PID[1]``), so the same
message converted twice, from any position in any file, gives the same ids. A message without
MSH-10 has no identity of its own: its key is a SHA-256 of its segments as sent instead
(``Message.content_digest``; of the Message read, for one built by hand) (and an Issue says
so). The namespace is fixed: ``uuid5(NAMESPACE_URL, "http://leukoflag.org/fhir/id")``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import re
import uuid
from collections.abc import Callable
from typing import Protocol, cast

from leukoflag.fhir._json import dumps
from leukoflag.model import Message

__all__ = ["NAMESPACE", "hd", "id_maker", "message_key", "resource_id"]

# uuid.uuid5(uuid.NAMESPACE_URL, "http://leukoflag.org/fhir/id"); never change it: ids would.
NAMESPACE = uuid.UUID("2c88a5f5-3913-5fea-9c2f-91dd25288560")
_NAMESPACE_BYTES = NAMESPACE.bytes
_MESSAGE_PREFIX = re.compile(r"MSG\[\d+\]")
# a hex digit with its two high bits set to 10 (the RFC 9562 variant), by the digit it replaces
_VARIANT = dict(zip("0123456789abcdef", "89ab89ab89ab89ab", strict=True))
# The UUID's groups in the hex digest, as slice objects made once: Python 3.11 builds a new slice
# object for each ``text[8:12]`` (five per id, about a tenth of an id's instructions).
_TIME_LOW, _TIME_MID, _TIME_HIGH = slice(0, 8), slice(8, 12), slice(13, 16)
_CLOCK_SEQ, _NODE = slice(17, 20), slice(20, 32)
_FIRST_FOUR = slice(0, 4)  # a location's first characters, compared with "MSG["


class _Sha1(Protocol):
    def copy(self) -> _Sha1: ...
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


def _sha1_constructor() -> Callable[[bytes], _Sha1]:
    """SHA-1, from CPython's own C implementation when the interpreter has it (it is built in by
    default). Each id copies a partly hashed state and takes a digest of the copy: through
    OpenSSL, both allocate, copy and cleanse an EVP context, about 1,600 of the 4,600
    instructions of an id's hashing. The digests are the same."""
    try:
        return cast("Callable[[bytes], _Sha1]", importlib.import_module("_sha1").sha1)
    except ImportError:  # an interpreter built without it: OpenSSL's
        return functools.partial(hashlib.sha1, usedforsecurity=False)


_SHA1 = _sha1_constructor()


def message_key(message: Message) -> tuple[tuple[str, ...], bool]:
    """The identity of ``message`` for ids, and whether it came from MSH-10 (else content)."""
    stamp = message.timestamp.text if message.timestamp is not None else message.timestamp_unheld
    if message.control_id.strip():
        parts = (
            "v2",
            hd(message.sending_application, message.sending_application_id),
            hd(message.sending_facility, message.sending_facility_id),
            message.control_id,
            stamp,
        )
        return parts, True
    # No control id: the message's content (without its position in the input) is its identity:
    # its segments as the reader saw them, else (a Message built by hand) what was read of them.
    if message.content_digest:
        return ("v2-content", message.content_digest), False
    content = dataclasses.replace(message, index=0, source="", issues=())
    digest = hashlib.sha256(_MESSAGE_PREFIX.sub("MSG", repr(content)).encode()).hexdigest()
    return ("v2-content", digest), False


def hd(namespace: str, universal: str) -> str:
    """An HD's identity: its namespace ID, with ``^universal ID^type`` when those were sent."""
    return f"{namespace}^{universal}" if universal else namespace


def resource_id(key: tuple[str, ...], resource_type: str, path: str) -> str:
    """``uuid5(NAMESPACE, name)`` as a string, for the resource at ``path`` of message ``key``."""
    return id_maker(key)(resource_type, path)


def id_maker(key: tuple[str, ...], prefix_length: int = 0) -> Callable[[str, str], str]:
    """:func:`resource_id` for one message key, with the key's part of the hash done once.

    The function made takes a resource type and a location; a location that starts with the
    message's own ``MSG[n]/`` (``prefix_length`` characters) is hashed without it, so an id does
    not depend on where the message sits in its input. Called for every resource of every
    message: the hashing and the formatting are inline.
    """
    # the name is the JSON array [*key, type, path]: hash its opening part once
    head = dumps(list(key))[:-1] + (b"," if key else b"")
    hashed_head = _SHA1(_NAMESPACE_BYTES + head)
    variant = _VARIANT
    after_prefix = slice(prefix_length, None)  # made once, as the _TIME_LOW... slices

    def make(resource_type: str, location: str) -> str:
        # not startswith(): a method taking its arguments as a tuple costs more than this
        if prefix_length and location[_FIRST_FOUR] == "MSG[":
            location = location[after_prefix]
        hasher = hashed_head.copy()
        hasher.update(_name_tail(resource_type, location))
        text = hasher.hexdigest()
        # RFC 9562: version nibble 5, variant bits 10
        return (
            f"{text[_TIME_LOW]}-{text[_TIME_MID]}-5{text[_TIME_HIGH]}-"
            f"{variant[text[16]]}{text[_CLOCK_SEQ]}-{text[_NODE]}"
        )

    return make


@functools.lru_cache(maxsize=4096)
def _name_tail(resource_type: str, path: str) -> bytes:
    """The closing part of a name, ``"<type>","<path>"]``: the same few in every message."""
    return dumps([resource_type, path])[1:]
