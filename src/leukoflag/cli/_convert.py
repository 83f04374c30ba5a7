"""``leukoflag convert``: inputs → NDJSON on stdout, or one file per message in a directory.

Output files (``-o DIR``):

* ``DIR/<name>.<n>.json`` — the FHIR output of item ``n`` (1-based) of the input named ``name``.
* ``DIR/rejected/<name>.<n>.<hl7|json|txt>`` — a rejected item's bytes exactly as read, for replay.
* ``DIR/rejected/<name>.<n>.reason.json`` — why: input, item, location, reason, the item's issues.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import ExitStack
from multiprocessing.connection import Connection
from pathlib import Path
from stat import S_ISCHR
from types import FrameType
from typing import Any, BinaryIO, Protocol

from leukoflag import detect, fhir
from leukoflag.cli import EXIT_OK, EXIT_REJECTED
from leukoflag.cli._common import (
    STDOUT_NAME,
    guarded,
    raise_naming,
    settings_from,
    skipped_records,
)
from leukoflag.cli._inputs import Input, UsageError, expand_inputs, json_text, line_text
from leukoflag.cli._pipeline import (
    Event,
    FileDone,
    FileStarted,
    ItemDone,
    parallel_events,
    serial_events,
)
from leukoflag.cli._progress import Progress, StderrLines
from leukoflag.cli._records import ItemRecord, job_signals_blocked, start_worker
from leukoflag.cli._report import Report
from leukoflag.settings import Settings

__all__ = ["run_convert"]

REJECTED_DIRECTORY = "rejected"
# a rejected item's files: its record and its raw bytes, named by what they look like
_REJECTED_EXTENSIONS = ("reason.json", "hl7", "json", "txt")
_STDOUT = "-"
# blocked while multiprocessing's helper processes start, which keep them blocked (see below)
# Held while one NDJSON line is written: a stop then comes after its end, never inside it,
# unless the line is still not written this long after the stop came (a reader of stdout that
# stalled: the write blocks on a full pipe), when it stops the command there
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_STALLED_WRITE_SECONDS = 2.0


def run_convert(args: argparse.Namespace) -> int:
    """Run ``leukoflag convert`` with parsed options; returns the exit status."""
    return guarded(lambda: _convert(args))


def _convert(args: argparse.Namespace) -> int:
    started = time.monotonic()
    settings = settings_from(args)
    for option, value in (("-o", args.output), ("--report", args.report)):
        if value == "":  # `-o "$OUT"` with OUT unset: not stdout, not "no report" either
            raise UsageError(f"{option}: the name is empty (an unset variable?)")
    # `-o -` is stdout, as without -o: not a directory named "-"
    output = Path(args.output) if args.output and args.output != _STDOUT else None
    if output is None and sys.stdout is None:  # started with stdout closed (`>&-`)
        raise UsageError("stdout is closed: nowhere to write the NDJSON (use -o DIR)")
    report_path = Path(args.report) if args.report and args.report != _STDOUT else None
    # a report file replaces what is there, an input too; a pipe or device is written into
    replaced = report_path if report_path and not _written_in_place(report_path) else None
    records: list[str] = []
    inputs = expand_inputs(
        args.inputs,
        exclude=output,
        report=replaced,
        records=records,
        stdout=output is None or args.report == _STDOUT,
    )
    if not inputs and not records:
        raise UsageError("no input files found in " + ", ".join(args.inputs))
    notes = skipped_records(args.inputs, records)
    if not inputs:  # a rejected directory of envelope lines only: nothing to do, no error
        notes.append(
            f"leukoflag: nothing to replay: {line_text(', '.join(args.inputs))} holds only "
            f"rejection records ({len(records)}, *.reason.json), of items with no raw file to "
            "convert again"
        )
    # every check before anything is made: a failing one leaves no directory behind
    if output is not None:
        _check_directory(output)
    if args.report == _STDOUT:
        _check_report_to_stdout(output)
    elif report_path is not None:
        _check_report_path(report_path, args.report)
        if output is not None:
            _check_report_outside_outputs(report_path, output, inputs)
        elif _is_stdout(report_path):  # /dev/stdout, or the file stdout is redirected to
            raise UsageError(
                f"--report {report_path}: is stdout, which carries the NDJSON outputs; write the "
                "report to a file, or the outputs to -o DIR"
            )
    if output is not None:
        _prepare_directory(output)
    if report_path is not None and not _written_in_place(report_path):
        _prepare_report_directory(report_path)
    jobs = (args.jobs or _usable_cpus()) if inputs else 1  # no workers for nothing

    # not when the NDJSON goes to a terminal: its lines would be glued to the progress line
    drawn = not args.quiet and sys.stderr.isatty() and not (output is None and sys.stdout.isatty())
    lines = Progress(sys.stderr, inputs) if drawn else StderrLines(sys.stderr)
    for note in notes:
        lines.message(note)
    sink: _Sink = (
        _DirectorySink(output, inputs) if output is not None else _StdoutSink(inputs, lines)
    )
    report = Report(inputs)
    try:
        with ExitStack() as stack:
            for event in _events(inputs, settings, jobs, stack):
                _handle(event, report, sink, lines)
    except concurrent.futures.BrokenExecutor:  # a worker died: the pool cannot go on
        raise UsageError(
            "a worker process stopped unexpectedly (killed, or out of memory?): the outputs "
            "written are complete, the items after them were not converted"
        ) from None
    finally:
        if isinstance(lines, Progress):
            lines.clear()  # an error message, if any, starts on a clean line
    sink.close()
    if args.report:
        data = fhir.dumps(report.as_json(settings), pretty=True, newline=True)
        if report_path is None:
            try:
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            except OSError as exc:
                raise_naming(exc, STDOUT_NAME)
        else:
            _write_report(report_path, data)
    if not args.quiet:
        lines.message(report.summary(time.monotonic() - started))
    return EXIT_REJECTED if report.totals().rejected else EXIT_OK


def _usable_cpus() -> int:
    """The CPUs this process may run on (``--jobs 0``): a container's cpuset or ``taskset``
    leaves it fewer than the host's, which ``os.cpu_count`` counts."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _events(
    inputs: Sequence[Input], settings: Settings, jobs: int, stack: ExitStack
) -> Iterator[Event]:
    if jobs <= 1:
        return serial_events(inputs, settings)
    context = _process_context()
    # closed when this process ends, however it ends: the workers end with it (after the pool's
    # own orderly stop, registered below, when it gets the chance)
    lifeline, held = context.Pipe(duplex=False)
    stack.callback(held.close)
    stack.callback(lifeline.close)
    with job_signals_blocked():
        # first on its own: starting it unblocks SIGTERM here (it blocks SIGINT and SIGTERM itself)
        multiprocessing.resource_tracker.ensure_running()
    with job_signals_blocked():
        try:
            pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=jobs,
                mp_context=context,
                initializer=start_worker,
                initargs=(lifeline, held),
            )
        except (ValueError, OverflowError):  # beyond what a semaphore counts (2**31, 32767)
            raise UsageError(
                f"--jobs {jobs}: more worker processes than this system allows"
            ) from None
        executor = stack.enter_context(pool)
        if context.get_start_method() == "forkserver":
            multiprocessing.forkserver.ensure_running()
    events = parallel_events(inputs, settings, executor, jobs)
    stack.callback(events.close)  # cancels what is still queued if the run stops early
    return _ending_workers_if_broken(events, held)


def _ending_workers_if_broken(events: Iterator[Event], held: Connection) -> Iterator[Event]:
    try:
        yield from events
    except concurrent.futures.BrokenExecutor:
        # the pool stops the other workers by SIGTERM, which they ignore: they end now
        held.close()
        raise


def _process_context() -> multiprocessing.context.BaseContext:
    # forkserver: workers never inherit this process's threads or open files; spawn elsewhere
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _handle(event: Event, report: Report, sink: _Sink, lines: StderrLines) -> None:
    progress = lines if isinstance(lines, Progress) else None
    if isinstance(event, ItemDone):
        tally = report.files[event.file]
        tally.add(event.record)
        sink.write(event.file, event.record)
        if progress is not None:
            progress.item(event.record.rejected is not None)
    elif isinstance(event, FileStarted):
        report.files[event.file].format = event.kind
        if progress is not None:
            progress.file_started(event.file, event.stream)
    elif isinstance(event, FileDone) and progress is not None:
        progress.file_done(event.file)


class _Sink(Protocol):
    """Where converted items go."""

    def write(self, file: int, record: ItemRecord) -> None: ...

    def close(self) -> None: ...


class _HeldStops:
    """Ctrl-C, SIGTERM and SIGHUP held from its making to :meth:`release`, which handles one
    that came meanwhile. Not blocked (a write blocked on a stalled reader's full pipe would
    never end, nor could the command be stopped but by SIGKILL): a signal's Python handler is
    replaced by one that notes it, and runs it when the line is written, or when the line is
    still not written ``_STALLED_WRITE_SECONDS`` after it (or at a second stop signal)."""

    __slots__ = ("_handlers", "_pending", "_timer")

    def __init__(self) -> None:
        self._handlers: dict[int, Callable[[int, FrameType | None], Any]] = {}
        self._pending: tuple[int, FrameType | None] | None = None
        self._timer: threading.Timer | None = None
        for signum in _STOP_SIGNALS:
            handler = signal.getsignal(signum)
            if callable(handler):  # ignored (nohup) or the system's default: left alone
                self._handlers[signum] = handler
                signal.signal(signum, self._note)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        if self._pending is not None:  # the line is stalled, or a second stop: stop here
            self._restore()
            self._handlers_run(signum, frame)
            return
        self._pending = (signum, frame)
        # the write may block on a reader that stopped reading: a signal then wakes it
        timer = threading.Timer(
            _STALLED_WRITE_SECONDS, signal.pthread_kill, (threading.main_thread().ident, signum)
        )
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _restore(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)

    def _handlers_run(self, signum: int, frame: FrameType | None) -> None:
        handler, self._handlers = self._handlers[signum], {}
        handler(signum, frame)

    def release(self) -> None:
        """Set the handlers back; one stop signal that came meanwhile is handled now."""
        if not self._handlers:  # set back already, by a stop during the write
            return
        self._restore()
        if self._pending is not None:
            self._handlers_run(*self._pending)


class _StdoutSink:
    """NDJSON on stdout; a rejected item is one line on stderr."""

    def __init__(self, inputs: Sequence[Input], lines: StderrLines) -> None:
        self._inputs = inputs
        self._lines = lines
        self._out: BinaryIO = sys.stdout.buffer
        # signal masks are per thread; only the main thread gets Python's signal handlers
        self._hold = threading.current_thread() is threading.main_thread()

    def write(self, file: int, record: ItemRecord) -> None:
        if record.output is not None:
            # one write, with Ctrl-C, SIGTERM and SIGHUP held: a stop during it (a handler
            # raising between two writes, or in a pipe's partial write) cut the line short
            line = record.output + b"\n"
            held = _HeldStops() if self._hold else None
            try:
                self._out.write(line)
            except OSError as exc:
                raise_naming(exc, STDOUT_NAME)
            finally:
                if held is not None:
                    held.release()  # one sent meanwhile stops the command now
            return
        rejected = record.rejected
        assert rejected is not None  # an item has an output or a rejection
        where = f" ({rejected.location})" if rejected.location else ""
        source = self._inputs[file].source
        self._lines.message(
            line_text(f"leukoflag: rejected {source} item {record.index}{where}: {rejected.reason}")
        )

    def close(self) -> None:
        try:
            self._out.flush()
        except OSError as exc:
            raise_naming(exc, STDOUT_NAME)


class _DirectorySink:
    """One file per item in ``directory``; rejected items, raw, in ``directory/rejected``."""

    def __init__(self, directory: Path, inputs: Sequence[Input]) -> None:
        self._directory = directory
        self._rejected = directory / REJECTED_DIRECTORY
        self._inputs = inputs
        self._rejected_ready = False
        # rejections of an earlier run: one of an item converted now is removed (one file each),
        # but never a raw item replayed in this very run, which is still to be read
        self._earlier = set(os.listdir(self._rejected)) if self._rejected.is_dir() else set()
        if self._earlier:
            here = self._rejected.resolve()
            self._earlier -= {
                i.path.name
                for i in inputs
                if i.path is not None and i.path.resolve().parent == here
            }

    def write(self, file: int, record: ItemRecord) -> None:
        name = self._inputs[file].name
        if record.output is not None:
            _write_whole(self._directory / f"{name}.{record.index}.json", record.output)
            if self._earlier:
                self._remove_earlier_rejection(f"{name}.{record.index}")
            return
        rejected = record.rejected
        assert rejected is not None  # an item has an output or a rejection
        if not self._rejected_ready:
            self._rejected.mkdir(exist_ok=True)
            self._rejected_ready = True
        stem = f"{name}.{record.index}"
        # an envelope line (BTS|3) is no message: a raw file of it would be replayed and
        # rejected again, as 'no batch header came before it', so the record holds the line
        raw_name = "" if rejected.envelope else f"{stem}.{_extension(rejected.raw)}"
        reason: dict[str, Any] = {
            "input": json_text(self._inputs[file].source),
            "item": record.index,
            "location": rejected.location,
            "reason": rejected.reason,
            "raw": json_text(raw_name) if raw_name else None,
            **({"envelope": _line(rejected.raw)} if rejected.envelope else {}),
            "issues": [
                {
                    "severity": str(issue.severity),
                    "code": issue.code,
                    "location": issue.location,
                    "text": issue.text,
                }
                for issue in record.rejection_issues
            ],
        }
        sidecar = self._rejected / f"{stem}.reason.json"
        data = fhir.dumps(reason, pretty=True, newline=True)  # before the raw item: no gap
        if not raw_name:
            _write_whole(sidecar, data)
        else:
            self._write_raw(raw_name, rejected.raw, sidecar, data)
        # an earlier run's output of this item (converted then, rejected now) is not its output
        (self._directory / f"{stem}.json").unlink(missing_ok=True)
        if self._earlier:
            self._remove_earlier_rejection(stem, keep={raw_name, sidecar.name})

    def _write_raw(self, raw_name: str, raw: bytes, sidecar: Path, data: bytes) -> None:
        """Write a rejected item's raw file and then its record, both or neither."""
        _write_whole(self._rejected / raw_name, raw)
        try:
            _write_whole(sidecar, data)
        except BaseException:
            # a raw item without its record would be replayed with no word of why it was set aside
            with contextlib.suppress(OSError):  # the record's own error is the one to report
                (self._rejected / raw_name).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        """Every file is complete when written."""

    def _remove_earlier_rejection(self, stem: str, keep: Collection[str] = ()) -> None:
        """Remove the files of item ``stem``'s rejection that an earlier run left, but those
        named in ``keep`` (this run's own: a raw item of other content than before replaced)."""
        for extension in _REJECTED_EXTENSIONS:
            earlier = f"{stem}.{extension}"
            if earlier in self._earlier and earlier not in keep:
                (self._rejected / earlier).unlink(missing_ok=True)


def _write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``; a file cut short (disk full, I/O error, Ctrl-C) is removed."""
    try:
        path.write_bytes(data)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # the write's own error is the one to report
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:  # write() does not name the file
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc
        raise


def _line(raw: bytes) -> str:
    """An envelope line as text: UTF-16/32 after its byte-order mark, other bytes as ``\\xNN``
    when not UTF-8."""
    codec = detect.wide_encoding(raw)
    return raw.decode(codec or "utf-8", "backslashreplace")


def _extension(raw: bytes) -> str:
    kind = detect.detect(raw[:4096])
    if kind == "hl7v2":
        return "hl7"
    if kind == "fhir":
        return "json"
    return "txt"


def _check_directory(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"-o {directory}: exists and is not a directory")
    _creatable(directory, f"-o {directory}")


def _creatable(directory: Path, option: str) -> None:
    """Check, making nothing, that ``directory`` is there or can be made: its nearest existing
    ancestor is a directory this process may write in."""
    ancestor = directory
    while not (ancestor.exists() or ancestor.is_symlink()) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():  # a file, or a broken link, where a directory belongs
        raise UsageError(f"{option}: cannot create {directory}: {ancestor} is not a directory")
    if ancestor == directory:  # there already: whether it may be written is checked by its user
        return
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"{option}: cannot create {directory}: {ancestor} is not writable")


def _prepare_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"-o {directory}: cannot create: {exc.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"-o {directory}: not writable")
    rejected = directory / REJECTED_DIRECTORY
    if (rejected.exists() or rejected.is_symlink()) and not rejected.is_dir():
        # checked before anything is written, not at the first rejected item ('File exists')
        raise UsageError(
            f"-o {directory}: {rejected} is not a directory, where rejected items go: move it "
            "away or write to another directory"
        )
    if rejected.is_dir() and not os.access(rejected, os.W_OK | os.X_OK):
        # as for DIR itself: not at the first rejected item, after the items before it
        raise UsageError(
            f"-o {directory}: {rejected} is not writable, where rejected items go: make it "
            "writable or write to another directory"
        )


def _check_report_to_stdout(output: Path | None) -> None:
    # `-` is stdout, as for INPUT; a file named "-" in the working directory would surprise
    if output is None:
        raise UsageError(
            "--report -: stdout carries the NDJSON outputs; write the report to a file, or the "
            "outputs to -o DIR"
        )
    if sys.stdout is None:
        raise UsageError("--report -: stdout is closed")


def _is_stdout(path: Path) -> bool:
    """Whether ``path`` names the pipe or file stdout writes to (``/dev/stdout``, ``/dev/fd/1``,
    or the file of ``> day.ndjson``, which the shell has opened before the command starts); a
    terminal or ``/dev/null`` takes both as it takes stderr's lines."""
    try:
        named = path.stat()
        return os.path.samestat(named, os.fstat(sys.stdout.fileno())) and not S_ISCHR(named.st_mode)
    except (OSError, ValueError, AttributeError):  # no such file yet, or a stdout of no file
        return False


def _check_report_path(path: Path, named: str) -> None:
    if path.is_dir():
        raise UsageError(f"--report {path}: is a directory")
    last = named.rpartition("/")[2]
    if last in ("", ".", ".."):
        # Path drops a trailing slash and '.': 'reports/' and 'reports/.' were written as a file
        # 'reports'; 'reports/..' failed only when the report was written, after the outputs
        raise UsageError(
            f"--report {named}: names a directory (it ends with /{last}): name the report file, "
            f"e.g. {named if not last else named + '/'}report.json"
        )
    if _written_in_place(path):
        if not os.access(path, os.W_OK):
            raise UsageError(f"--report {path}: not writable")
        return
    parent = _report_target(path).parent
    _creatable(parent, f"--report {path}")
    if parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--report {path}: {parent} is not writable")


def _check_report_outside_outputs(path: Path, output: Path, inputs: Sequence[Input]) -> None:
    """A ``--report`` where this run writes its outputs would replace one, or fail after them
    (``-o out/day --report out/day``): a usage error before anything is written. Where they are
    written counts, not how they are named: a symlink (the report's, one of its directories, the
    -o directory) is followed, as writing them follows it."""
    report, directory = Path(os.path.realpath(path)), Path(os.path.realpath(output))
    rejected = directory / REJECTED_DIRECTORY
    why = ""
    if report == directory:
        why = "the -o directory"
    elif report == rejected:
        why = f"the directory of rejected items in -o {output}"
    elif report.parent == rejected:
        why = f"inside the directory of rejected items in -o {output}"
    elif report.parent == directory:
        stem, _, number = report.name.casefold().removesuffix(".json").rpartition(".")
        named = next((i for i in inputs if i.name.casefold() == stem), None)
        if named is not None and number.isdigit() and report.name.casefold().endswith(".json"):
            why = (
                f"the name of output file {int(number)} of {line_text(named.source)} in -o {output}"
            )
    if why:
        raise UsageError(f"--report {path}: is {why}: the report would replace an output")


def _prepare_report_directory(path: Path) -> None:
    parent = _report_target(path).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--report {path}: cannot create {parent}: {exc.strerror}") from None


def _written_in_place(path: Path) -> bool:
    """Whether ``path`` is a device or a pipe (``/dev/stdout``): renaming a file over it would
    replace it, so the report is written into it."""
    return path.exists() and not path.is_file()


def _write_report(path: Path, data: bytes) -> None:
    if _written_in_place(path):
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise_naming(exc, os.fspath(path))
        return
    target = _report_target(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(target)
    except BaseException as exc:  # disk full, Ctrl-C: no hidden partial report left for good
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # named as the operator named it, not its temporary file
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc
        raise


def _report_target(path: Path) -> Path:
    # through a symlink to its target: a rename over the link would replace the link itself
    return path.resolve() if path.is_symlink() else path
