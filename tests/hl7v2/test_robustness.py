"""Whatever the bytes, read_message returns a Message or a Rejected, and never fails inside."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from leukoflag import hl7v2
from leukoflag.hl7v2._er7 import DEFAULT, unescape
from leukoflag.model import Message, Rejected
from leukoflag.settings import Settings

from .messages import OBR, PID, SPM, WBC, calls_made, message

_INTERNAL = "leukoflag could not read this message"
_PIECES = [
    *("|", "^", "~", "\\", "&", "\r", "\n", "\\X", "\\.br\\", "<", "-", ".", "é", "\x00"),
    *("\rOBX|", "\rSPM|", "\rNTE|1||", "\rORC|", "\rOBR|", "\rPID|", "\rZZ1|", "\x0b", "\x1c"),
]
_BASE = message(PID, OBR, WBC, SPM, "NTE|1||note \\H\\x\\N\\", WBC)


def _outcome(raw: bytes) -> Message | Rejected:
    result = hl7v2.read_message(raw, index=1, source="fuzz", settings=Settings())
    assert isinstance(result, Message | Rejected)
    if isinstance(result, Rejected):
        assert result.reason
        assert not result.reason.startswith(_INTERNAL), result.reason
    return result


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_fail_inside(data: bytes) -> None:
    _outcome(data)


@settings(max_examples=400, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(_BASE)), st.sampled_from(_PIECES)),
        max_size=8,
    ),
    cut=st.integers(min_value=0, max_value=40),
)
def test_mangled_messages_never_fail_inside(edits: list[tuple[int, str]], cut: int) -> None:
    text = _BASE
    for position, piece in edits:
        text = text[:position] + piece + text[position:]
    _outcome(text[: len(text) - cut].encode("utf-8"))


def test_a_value_of_thousands_of_hex_escapes_is_decoded_in_calls_linear_in_them() -> None:
    # Each escape of a run back to back (\\XC3\\\\X41\\…: a lead byte, then A, no UTF-8)
    # gathered every escape after it again before the run failed: 2,000 took 15 s, 8,000 4 min
    def run(count: int) -> Callable[[], object]:
        return lambda: unescape("\\XC3\\\\X41\\" * count, DEFAULT, "utf-8")

    value, _ = unescape("\\XC3\\\\X41\\" * 3 + "\\XE2\\\\X80\\\\X93\\" * 2, DEFAULT, "utf-8")
    assert (
        value == "\\XC3\\A" * 3 + "\u2013\u2013"
    )  # a run of more than 4: read 4 or fewer at a time
    assert calls_made(run(2_000)) <= 2.05 * calls_made(run(1_000))


def test_a_value_of_thousands_of_indents_is_decoded_in_calls_linear_in_them() -> None:
    # A report template that indents each of 5,000 empty cells (\.in\ before any text): whether
    # each comes after text on its line was decided by looking at every cell decoded before it
    text = "\\.in\\" * 5_000 + "WBC 4.2" + " \\.ti 4\\" * 5_000
    value, problem = unescape(text, DEFAULT)
    assert value == "WBC 4.2 \n" + " " * 4_999  # text on the line once: one break
    assert problem == (
        "formatting command \\.ti 4\\ comes after text on its line, where HL7 v2 does not allow "
        "it: read as a line break"
    )
    assert calls_made(lambda: unescape("\\.in\\" * 5_000 + "WBC 4.0", DEFAULT)) <= 20 * 5_000
