"""What both commands share: settings from the options, and one-line error reporting."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from types import FrameType
from typing import Any, NoReturn

from leukoflag.cli import EXIT_ERROR, EXIT_INTERRUPTED, INTERRUPTED
from leukoflag.cli._inputs import UsageError, line_text
from leukoflag.cli._progress import StderrLines
from leukoflag.errors import Error
from leukoflag.settings import Settings

__all__ = ["guarded", "settings_from"]

# SIGTERM (a service stopped, `timeout`, `kill`) and SIGHUP (its terminal closed): what each says
_STOPPING = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung up (terminal closed)"}


class _Stopped(BaseException):
    """SIGTERM or SIGHUP raised where the command is, so that it unwinds as for Ctrl-C: no output
    file left half written, the ``--jobs`` workers stopped. Its status is the shell's for the
    signal, 128 + its number (143, 129)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: FrameType | None) -> NoReturn:
    raise _Stopped(signum)


def settings_from(args: argparse.Namespace) -> Settings:
    """The :class:`Settings` the options name; raises :class:`leukoflag.SettingsError`."""
    critical_low: dict[str, str] = {}
    for option in args.critical_low:
        analyte, equals, limit = option.partition("=")
        if not equals:
            raise UsageError(f"--critical-low: expected ANALYTE=COUNT, e.g. anc=500: {option!r}")
        try:
            number = Decimal(limit.strip())
        except InvalidOperation:
            raise UsageError(f"--critical-low: not a number: {option!r}") from None
        name, text = analyte.strip().lower(), limit.strip()
        earlier = critical_low.get(name)
        if earlier is not None and earlier != text and not _same(Decimal(earlier), number):
            # which limit was meant cannot be told: the last one is not kept without a word
            raise UsageError(
                f"--critical-low given twice for {name} with different limits "
                f"({earlier}, then {text}): give it once"
            )
        # the limit as typed: Settings' errors quote it ('-1'), not Decimal('-1')
        critical_low[name] = text
    return Settings(
        fhir_version=args.fhir_version,
        bundle_type=args.bundle_type,
        range_policy=args.range_policy,
        ctcae_version=args.ctcae_version,
        critical_low=critical_low,
        duffy_null=frozenset(args.duffy_null),
        default_timezone=args.timezone,
        fallback_charset=args.fallback_charset,
        strict=args.strict,
    )


def _same(first: Decimal, second: Decimal) -> bool:
    # a NaN compares unequal to itself, an sNaN raises: Settings says what is wrong with them
    return first.is_finite() and second.is_finite() and first == second


def skipped_records(arguments: Sequence[str], records: Sequence[str]) -> list[str]:
    """The stderr line for each rejection record named on the command line (a glob of
    ``DIR/rejected/*``), which is skipped: it is leukoflag's record of an item, not an input."""
    return [
        f"leukoflag: skipped {line_text(named)}: a rejection record of leukoflag, not an input "
        "(the raw item it is about, if any, is the file beside it)"
        for named in records
        if named in arguments
    ]


STDOUT_NAME = "<stdout>"  # as stdin is <stdin> where an input is named in text


def raise_naming(exc: OSError, name: str) -> NoReturn:
    """Raise ``exc`` naming what was written to: write() names nothing, and ``[Errno 28] No
    space left on device`` alone would not say that stdout, or which device, is full."""
    if exc.filename is None and not isinstance(exc, BrokenPipeError):  # a broken pipe: own line
        raise OSError(exc.errno, exc.strerror, name) from exc
    raise exc


def guarded(command: Callable[[], int]) -> int:
    """Run a command; usage, settings and I/O errors become one line on stderr and status 2."""
    if sys.stderr is None:  # started with stderr closed: lines go nowhere, the status stays true
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the whole run
    lines = StderrLines(sys.stderr)  # a line it cannot write is lost, the status stays true
    previous = _on_stop_signals(_stop)
    try:
        return command()
    except KeyboardInterrupt:
        lines.message(INTERRUPTED)
        return EXIT_INTERRUPTED
    except _Stopped as stopped:
        lines.message(f"leukoflag: {_STOPPING[signal.Signals(stopped.signum)]}")
        return 128 + stopped.signum
    except BrokenPipeError:
        # the reader of stdout went away (`| head`): stop quietly, without a second error on exit
        _silence_stdout()
        lines.message("leukoflag: output closed before the end (broken pipe)")
        return EXIT_ERROR
    except (UsageError, Error) as exc:
        lines.message(f"leukoflag: {line_text(str(exc))}")  # it may name a walked file
        return EXIT_ERROR
    except OSError as exc:
        lines.message(f"leukoflag: {_describe(exc)}")
        return EXIT_ERROR
    finally:
        _set_back(previous)


def _on_stop_signals(handler: Any) -> dict[signal.Signals, Any]:
    """Set the handler of SIGTERM and SIGHUP, returning the ones before (only the main thread
    may set one: the command run from a thread by an embedding program keeps Python's)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[signal.Signals, Any] = {}
    for signum in _STOPPING:
        if signal.getsignal(signum) is signal.SIG_IGN:  # ignored from the start (`nohup`): kept
            continue
        previous[signum] = signal.signal(signum, handler)
    return previous


def _set_back(previous: dict[signal.Signals, Any]) -> None:
    for signum, handler in previous.items():
        # None: a handler not set from Python, which cannot be set back; the default stands in
        signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _describe(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    return str(exc) or type(exc).__name__


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
