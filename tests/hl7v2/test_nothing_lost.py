"""Nothing sent is lost silently: each component, subcomponent and second repetition of each
field of a mapped segment, filled in turn with a unique sentinel, ends in the FHIR output or in
an Issue that quotes it at that field (or names the field in its text).

The datatypes are those of v2.5.1 (OBX-29 from v2.7). A DTM or DT part gets a valid value that
is the sentinel (a time or date used nowhere else in the message), so the reader can read it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import leukoflag

from .messages import ANC, MSH, OBR, ORC, PID, PV1, SPM, WBC

NTE = "NTE|1|L|Specimen slightly hemolyzed"
CBC = (MSH, PID, PV1, ORC, OBR, WBC, NTE, ANC, SPM)
_LINE = {"MSH": 0, "PID": 1, "PV1": 2, "ORC": 3, "OBR": 4, "OBX": 5, "NTE": 6, "SPM": 8}
# Fields each segment has (v2.5.1; OBX to v2.7's OBX-33): the ones not mapped get one sentinel.
_LENGTH = {"MSH": 21, "PID": 39, "PV1": 52, "ORC": 31, "OBR": 50, "OBX": 33, "NTE": 4, "SPM": 29}

_HD = ("ST", "ST", "ST")
_CWE = ("ST",) * 9
_TS = ("DTM", "ST")
_EI = ("ST",) * 4
_FN = ("ST",) * 5
# Composite datatypes (v2.5.1): the datatype of each component; a tuple in it has subcomponents.
_TYPES: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "HD": _HD,
    "CWE": _CWE,
    "TS": _TS,
    "EI": _EI,
    "CX": ("ST", "ST", "ST", _HD, "ST", _HD, "DT", "DT", _CWE, _CWE),
    "XPN": (_FN, "ST", "ST", "ST", "ST", "ST", "ST", "ST", _CWE[:6], _TS, "ST", _TS, _TS, "ST"),
    "XCN": (
        *("ST", _FN, "ST", "ST", "ST", "ST", "ST", "ST", _HD, "ST", "ST", "ST", "ST", _HD),
        *("ST", _CWE, _TS, "ST", _TS, _TS, "ST", _CWE, _CWE),
    ),
    "PL": ("ST", "ST", "ST", _HD, "ST", "ST", "ST", "ST", "ST", _EI, _HD),
    "XON": ("ST", "ST", "ST", "ST", "ST", _HD, "ST", _HD, "ST", "ST"),
    "EIP": (_EI, _EI),
    "SPS": (_CWE, "ST", "ST", _CWE, _CWE, _CWE, _CWE),
    "DR": (_TS, _TS),
    "MSG": ("ST", "ST", "ST"),
    "PT": ("ST", "ST"),
    # street (SAD: street, street name, dwelling number), other designation, city … county,
    # census tract, representation, validity range (deprecated), effective and expiration date
    "XAD": (("ST", "ST", "ST"), *("ST",) * 10, _TS, _TS),
    # number (deprecated), use, type, address, country, area, local number, extension, text,
    # extension prefix, speed dial, unformatted number
    "XTN": ("ST",) * 12,
    # quantity, interval, duration, start, end, priority, condition, text, conjunction, order
    # sequencing, occurrence duration, total occurrences
    "TQ": ("ST", "ST", "ST", _TS, _TS, *("ST",) * 7),
    "VID": ("ST", _CWE[:6], _CWE[:6]),
    # CNN (as subcomponents), start and end DTM, point of care, room, bed, facility (HD) …
    "NDL": (("ST",) * 11, _TS, _TS, "ST", "ST", "ST", _HD, "ST", "ST", "ST", "ST"),
}
# The fields the reader maps, by datatype (a plain string: no components).
_MAPPED: dict[str, dict[int, str]] = {
    "MSH": {3: "HD", 4: "HD", 5: "HD", 6: "HD", 7: "TS", 9: "MSG", 10: "ST", 11: "PT"}
    | {12: "VID", 18: "ST", 20: "ST"},
    "PID": {1: "ST", 2: "CX", 3: "CX", 4: "CX", 5: "XPN", 7: "TS", 8: "ST", 11: "XAD"}
    | {13: "XTN", 14: "XTN"}
    | {29: "TS", 30: "ST"},
    "PV1": {1: "ST", 2: "ST", 3: "PL", 7: "XCN", 8: "XCN", 9: "XCN", 17: "XCN", 19: "CX"}
    | {44: "TS", 45: "TS"},
    "ORC": {1: "ST", 2: "EI", 3: "EI", 4: "EI", 12: "XCN"},
    "OBR": {1: "ST", 2: "EI", 3: "EI", 4: "CWE", 7: "TS", 8: "TS", 14: "TS", 15: "SPS"}
    | {10: "XCN", 16: "XCN", 22: "TS", 24: "ST", 25: "ST", 27: "TQ", 32: "NDL"},
    "OBX": {1: "ST", 2: "ST", 3: "CWE", 4: "ST", 5: "ST", 6: "CWE", 7: "ST", 8: "ST", 11: "ST"}
    | {14: "TS", 15: "CWE", 16: "XCN", 17: "CWE", 18: "EI", 19: "TS", 21: "EI", 23: "XON"}
    | {25: "XCN", 29: "ST"},
    "SPM": {1: "ST", 2: "EIP", 4: "CWE", 8: "CWE", 11: "CWE", 17: "DR", 18: "TS"},
    "NTE": {1: "ST", 3: "ST"},
}
_SET_ID = "a set ID numbers segments of its kind: the output's own structure says it"
_LOCAL_SYSTEM = (
    "a local coding-system name stays in Coding.system_name: a FHIR Coding.system must be a "
    "URI (docs/hl7v2.md, Codes)"
)
# (segment, field, component path or None for every part): why it is not checked.
_SKIPPED: dict[tuple[str, int, tuple[int, ...] | None], str] = {
    ("MSH", 1, None): "the field separator: the message is split by it",
    ("MSH", 2, None): "the encoding characters: the message is split by them",
    ("MSH", 9, (1,)): "the message type decides whether the message is read (else rejected)",
    ("MSH", 9, (2,)): "the trigger event decides whether the message is read (else rejected)",
    ("MSH", 20, None): "read by the decoder, beside MSH-18's alternate character sets",
    ("ORC", 1, None): "the order control code is the message's verb, kept in Order.order_control",
    **{(name, 1, None): _SET_ID for name in ("PID", "PV1", "OBR", "OBX", "SPM", "NTE")},
    **{(name, n, (3,)): _LOCAL_SYSTEM for name, n in (("OBR", 4), ("OBX", 3), ("OBX", 6))},
    **{("SPM", n, (3,)): _LOCAL_SYSTEM for n in (4, 11)},
}


def _leaves(kind: str) -> Iterator[tuple[tuple[int, ...], str]]:
    """Each component path of a ``kind`` field and its leaf datatype."""
    parts = _TYPES.get(kind)
    if parts is None:
        yield (), kind
        return
    for number, part in enumerate(parts, 1):
        if isinstance(part, tuple):
            for sub, leaf in enumerate(part, 1):
                yield (number, sub), leaf
        else:
            yield (number,), part


def _placed(field: str, path: tuple[int, ...], token: str) -> str:
    """``field`` with ``token`` at ``path`` (component, subcomponent), the rest kept."""
    if not path:
        return token
    components = field.split("^") if field else [""]
    components += [""] * (path[0] - len(components))
    if len(path) == 1:
        components[path[0] - 1] = token
    else:
        subs = components[path[0] - 1].split("&")
        subs += [""] * (path[1] - len(subs))
        subs[path[1] - 1] = token
        components[path[0] - 1] = "&".join(subs)
    return "^".join(components)


class _Tokens:
    """Unique sentinels: (as sent, as the output writes it)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, leaf: str) -> tuple[str, str]:
        self.count += 1
        n = self.count
        if leaf == "DTM":  # a time on a day no other value of the message uses
            hms = f"{10 + n // 3600:02d}{n // 60 % 60:02d}{n % 60:02d}"
            shown = f"2026-03-21T{hms[:2]}:{hms[2:4]}:{hms[4:]}-05:00"
            return f"20260321{hms}-0500", shown
        if leaf == "DT":
            month, day = 1 + n // 28 % 12, 1 + n % 28
            return f"1950{month:02d}{day:02d}", f"1950-{month:02d}-{day:02d}"
        return f"QZ{n:04d}X", f"QZ{n:04d}X"


def _cases(name: str) -> Iterator[tuple[str, str, str, str]]:
    """(label, segment line, token as sent, token as written) for every part of ``name``."""
    tokens = _Tokens()
    line = CBC[_LINE[name]]
    fields = line.split("|")
    if name == "MSH":
        fields.insert(1, "|")  # MSH-1 is the separator itself
    fields += [""] * (_LENGTH[name] + 1 - len(fields))
    for number in range(1, _LENGTH[name] + 1):
        if (name, number, None) in _SKIPPED:
            continue
        for path, leaf in _leaves(_MAPPED[name].get(number, "ST")):
            if (name, number, path) in _SKIPPED:
                continue
            for repeated in (False, True):
                sent, shown = tokens(leaf)
                value = _placed(fields[number], path, sent)
                if repeated:
                    value = f"{fields[number]}~{value}"
                changed = [*fields[:number], value, *fields[number + 1 :]]
                if name == "MSH":
                    del changed[1]
                part = ".".join(map(str, (number, *path)))
                label = f"{name}-{part}{' (2nd repetition)' if repeated else ''}"
                yield label, "|".join(changed), sent, shown


def _lost(name: str, label: str, line: str, sent: str, shown: str) -> str:
    """Why the token is lost, or ``""`` when the output or an Issue at its field has it."""
    segments = list(CBC)
    segments[_LINE[name]] = line
    conversion = leukoflag.convert("\r".join(segments) + "\r")
    if conversion.rejected:
        return f"{label}: rejected: {conversion.rejected[0].reason}"
    (bundle,) = conversion.bundles
    if shown in json.dumps(bundle, default=str):
        return ""
    number = label.split("-", 1)[1].split(".", maxsplit=1)[0].split(" ", maxsplit=1)[0]
    field = f"MSG[1]/{name}[1]-{number}"
    for issue in conversion.issues:
        at_field = issue.location == field or issue.location.startswith(f"{field}.")
        if (sent in issue.text or shown in issue.text) and (
            at_field or f"{name}-{number}" in issue.text
        ):
            return ""
    return f"{label}: {sent!r} is neither in the output nor in an Issue at {field}"


@pytest.mark.parametrize("name", list(_LINE))
def test_each_part_sent_is_carried_or_named_by_an_issue(name: str) -> None:
    lost = [_lost(name, *case) for case in _cases(name)]
    assert [why for why in lost if why] == []


def test_the_sentinels_reach_every_part_of_a_mapped_composite_field() -> None:
    # The table drives the test: PID-3 (CX) is filled in all of its 10 components, 30 leaves.
    labels = [label for label, *_ in _cases("PID") if label.startswith("PID-3.")]
    assert len(labels) == 2 * 30
    assert "PID-3.4.2 (2nd repetition)" in labels
