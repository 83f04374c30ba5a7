"""What the command keeps of one converted item, and the unit of work of ``--jobs``.

An :class:`ItemRecord` is the item's output already serialized plus the few values the report
counts, so that worker processes send back bytes and small tuples rather than the whole outcome,
and the main process keeps nothing but counters once an item is written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from leukoflag import api, fhir
from leukoflag.model import Issue, Rejected
from leukoflag.settings import Settings

__all__ = ["ItemConverter", "ItemRecord", "convert_batch", "record_of", "start_worker"]

# One raw item (raw, index, source, settings) → its outcome; a module-level function, so that
# it pickles by name.
ItemConverter = Callable[[bytes, int, str, Settings], api.Outcome]


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """One input item as the command writes and counts it.

    ``output`` is the JSON written (exactly one of ``output`` and ``rejected`` is set);
    ``issues`` holds ``(severity, code)`` pairs, ``judged`` ``(analyte, code)`` per finding;
    ``observations`` counts the output's Observations, ``normalized`` the values leukoflag
    rewrote to cells/µL (:attr:`leukoflag.api.Outcome.normalized`); ``rejection_issues`` are
    the full issues of a rejected item, for its record file.
    """

    index: int
    output: bytes | None
    rejected: Rejected | None
    issues: tuple[tuple[str, str], ...] = ()
    judged: tuple[tuple[str, str], ...] = ()
    observations: int = 0
    normalized: int = 0
    rejection_issues: tuple[Issue, ...] = ()


def record_of(outcome: api.Outcome) -> ItemRecord:
    """The record of one outcome: its output serialized with leukoflag's exact-decimal writer."""
    issues = tuple((str(issue.severity), issue.code) for issue in outcome.issues)
    judged = tuple((str(finding.analyte), finding.code) for finding in outcome.findings)
    if outcome.output is None:
        return ItemRecord(
            outcome.index,
            None,
            outcome.rejected,
            issues,
            judged,
            rejection_issues=outcome.issues,
        )
    return ItemRecord(
        outcome.index,
        fhir.dumps(outcome.output),
        None,
        issues,
        judged,
        _count_observations(outcome.output),
        outcome.normalized,
    )


def convert_batch(
    items: Sequence[tuple[ItemConverter, str, int, bytes]], settings: Settings
) -> list[ItemRecord]:
    """Convert raw items ``(convert, source, index, raw)`` in a worker process (``--jobs``).

    ``convert`` is :func:`leukoflag.api.convert_v2_message` for an HL7 v2 message and
    :func:`leukoflag.api.convert_fhir_line` for an NDJSON line: the same call
    :func:`leukoflag.api.iter_outcomes` makes for each item, so the output is byte-identical to a
    single process.
    """
    return [
        record_of(convert(raw, index, source, settings)) for convert, source, index, raw in items
    ]


# What a terminal (Ctrl-C), systemd or `timeout` (SIGTERM) and a closed terminal (SIGHUP) send to
# a whole job: the main process handles them and stops the workers (start_worker ignores them).
JOB_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@contextlib.contextmanager
def job_signals_blocked() -> Iterator[None]:
    """Start multiprocessing's helper processes (the forkserver the workers are forked from, the
    resource tracker) with SIGINT, SIGTERM and SIGHUP blocked, which they keep: a signal sent to
    the whole job (Ctrl-C on a terminal, systemd stopping a service, `timeout`, a closed
    terminal) would end them, and the pool would then take its workers for dead. A worker is
    forked blocking them too, so that one sent while it loads leukoflag, before it ignores them
    (``start_worker``), does not end it either. They end when this process and its workers do.
    Each batch is submitted with them blocked as well: the pool forks a worker in ``submit``,
    and Ctrl-C raised there left it half started (its start-up data never sent: the command
    hung, or ended with a worker's traceback or status 1); it arrives when the submit is done."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, JOB_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # one sent meanwhile arrives now


def start_worker(lifeline: Connection, held: Connection) -> None:
    """Worker start-up: Ctrl-C, SIGTERM and SIGHUP are handled by the main process, which stops
    the workers. A worker ends when the main process does, even killed (SIGKILL, out of memory)
    with no chance to stop it: ``lifeline`` is the reading end of a pipe whose writing end
    ``held`` only the main process keeps open (this process closes its copy)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM sent to the whole job (systemd, `timeout`) too: a worker ended while it sends its
    # results would leave the pool waiting for the rest of them for ever
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # and a closed terminal's, sent to its whole job
    # blocked since it was forked (the forkserver's mask): one sent while it loaded is dropped
    signal.pthread_sigmask(signal.SIG_UNBLOCK, JOB_SIGNALS)
    held.close()
    # a worker left behind would hold stdout, stderr and its share of the input for ever
    threading.Thread(target=_exit_when_closed, args=(lifeline,), daemon=True).start()


def _exit_when_closed(lifeline: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv_bytes()  # nothing is ever sent: returns at the end of the pipe
    os._exit(1)


def _count_observations(resource: dict[str, Any]) -> int:
    """Observations in ``resource``: itself, its Bundle entries, contained resources."""
    observations = 0
    pending: list[Any] = [resource]
    while pending:
        item = pending.pop()
        if not isinstance(item, dict):
            continue
        kind = item.get("resourceType")
        if kind == "Bundle":
            pending.extend(
                entry.get("resource") for entry in _listed(item, "entry") if isinstance(entry, dict)
            )
        pending.extend(_listed(item, "contained"))
        observations += kind == "Observation"
    return observations


def _listed(resource: dict[str, Any], name: str) -> list[Any]:
    """Element ``name`` of ``resource`` when it is a JSON array: FHIR input passed through
    unchanged may hold a number or an object where an array belongs."""
    value = resource.get(name)
    return value if isinstance(value, list) else []
