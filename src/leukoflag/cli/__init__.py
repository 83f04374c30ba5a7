"""The ``leukoflag`` command: ``leukoflag convert`` and ``leukoflag explain``.

This module only builds the argument parser: the pipeline (and pint, hl7apy, fhir.resources) is
imported when a command runs, so ``leukoflag --help`` starts fast. Only this package writes to
stdout and stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from leukoflag._version import __version__

__all__ = ["main"]

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl-C (128 + SIGINT)
INTERRUPTED = "\nleukoflag: interrupted"  # after the ^C a terminal echoes
_STDOUT = "-"

_DESCRIPTION = (
    "HL7 v2 ORU^R01 and FHIR lab results to FHIR, with WBC and ANC counts normalized to "
    "cells/µL and leukopenia/neutropenia interpretation codes."
)
_EPILOG = (
    "Exit status: 0 all converted, 1 some input rejected, 2 usage or I/O error, 129 hung up "
    "(terminal closed), 130 interrupted, 143 terminated (SIGTERM)."
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _CommandParser(_Parser):
    """A sub-command's parser: an option it does not know is its own usage error."""

    def parse_known_args(
        self, args: Iterable[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        # argparse hands a sub-command's unknown options up to `leukoflag`, whose --help lacks them
        parsed, unknown = super().parse_known_args(args, namespace)
        if unknown:
            self.error(f"unrecognized arguments: {' '.join(unknown)}")
        return parsed, unknown


class _Once(argparse.Action):
    """An option that takes one value: given twice with different values, a usage error, not
    the last one kept without a word (a wrapper script's option and the operator's own)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        given: dict[str, tuple[str | None, Any]] = namespace.__dict__.setdefault("_given", {})
        if self.dest in given:
            earlier, value = given[self.dest]
            if self.same(value, values):  # taken once: the first spelling is kept
                return
            parser.error(
                f"{option_string} given twice with different values ({earlier} {value}, then "
                f"{option_string} {values}): give it once"
            )
        given[self.dest] = (option_string, values)
        setattr(namespace, self.dest, values)

    def same(self, first: Any, second: Any) -> bool:
        return bool(first == second)


class _OncePath(_Once):
    """A path option that takes one value: two spellings of one place (``out`` and ``out/``, a
    wrapper script's and the operator's) are the same value, not a usage error."""

    def same(self, first: Any, second: Any) -> bool:
        if first == second:
            return True
        # an empty name (an unset variable) or `-` (stdout) is no path to compare
        if not first or not second or _STDOUT in (first, second):
            return False
        return os.path.realpath(str(first)) == os.path.realpath(str(second))


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``leukoflag`` command and its sub-commands."""
    parser = _Parser(prog="leukoflag", description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"leukoflag {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)

    convert = commands.add_parser(
        "convert",
        help="convert HL7 v2 / FHIR files to FHIR (NDJSON on stdout, or one file per message)",
        description=(
            "Convert every message of every INPUT. INPUT is a file, a directory (read "
            "recursively, in sorted order) or - for stdin; HL7 v2 or FHIR is detected from the "
            "content. Without -o, one FHIR resource per line (NDJSON) goes to stdout."
        ),
        epilog=_EPILOG,
    )
    convert.add_argument("inputs", nargs="+", metavar="INPUT", help="file, directory or -")
    convert.add_argument(
        "-o",
        "--output",
        action=_OncePath,
        metavar="DIR",
        help=(
            "write each message to DIR/<input file name>.<n>.json and each rejected input, raw, "
            "to DIR/rejected/ with a <name>.<n>.reason.json beside it (-: NDJSON on stdout, as "
            "without -o)"
        ),
    )
    convert.add_argument(
        "--report",
        action=_OncePath,
        metavar="FILE",
        help="write a JSON summary per input file and totals (-: to stdout, with -o)",
    )
    convert.add_argument(
        "--jobs",
        "-j",
        action=_Once,
        metavar="N",
        type=_jobs,
        default=1,
        help=(
            "worker processes for HL7 v2 and FHIR NDJSON input (0: one per CPU it may use); "
            "output is identical (default 1)"
        ),
    )
    convert.add_argument(
        "--quiet", "-q", action="store_true", help="no progress bar and no summary line"
    )
    _add_settings_options(convert)

    explain = commands.add_parser(
        "explain",
        help="show why each WBC/ANC result got its interpretation code",
        description=(
            "For every in-scope WBC and ANC result: the value as written, the count in "
            "cells/µL, the code, the rule and range used, the finding and the CTCAE grade; "
            "and why a count was not judged."
        ),
        epilog=_EPILOG,
    )
    explain.add_argument(
        "inputs", nargs="+", metavar="FILE", help="HL7 v2 or FHIR file, directory or -"
    )
    _add_settings_options(explain)
    return parser


def _add_settings_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("conversion settings (see docs/settings.md)")
    group.add_argument(
        "--fhir-version", action=_Once, choices=("R4", "R5"), default="R4", help="default R4"
    )
    group.add_argument(
        "--bundle-type",
        action=_Once,
        choices=("transaction", "collection"),
        default="transaction",
        help="Bundle.type of each message's Bundle (default transaction)",
    )
    group.add_argument(
        "--range-policy",
        action=_Once,
        choices=("lab", "default"),
        default="lab",
        help="lab: the lab's reference range when sent (default); default: leukoflag's ranges",
    )
    group.add_argument(
        "--ctcae-version", action=_Once, choices=("5.0", "6.0"), default="5.0", help="default 5.0"
    )
    group.add_argument(
        "--critical-low",
        metavar="ANALYTE=COUNT",
        action="append",
        default=[],
        help="critical-low limit in cells/µL, e.g. anc=500 (repeatable; defaults wbc=2000 anc=500)",
    )
    group.add_argument(
        "--duffy-null",
        metavar="ID",
        action="append",
        default=[],
        help="patient identifier (value or system|value) known to be Duffy-null (repeatable)",
    )
    group.add_argument(
        "--timezone",
        action=_Once,
        metavar="ZONE",
        help="IANA zone for timestamps sent without an offset, e.g. America/Chicago",
    )
    group.add_argument(
        "--fallback-charset",
        action=_Once,
        metavar="CODEC",
        default="cp1252",
        help="charset for HL7 v2 bytes valid neither in their MSH-18 charset nor as UTF-8 "
        "(default cp1252)",
    )
    group.add_argument(
        "--strict",
        action="store_true",
        help="validate message structure and FHIR output; a failure rejects the message",
    )


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (one per CPU) or more: {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``leukoflag`` command; returns the exit status."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl-C before the command handles it itself: while it loads its modules (the pipeline,
        # multiprocessing), which takes a moment, or parses its options
        with contextlib.suppress(OSError, ValueError, AttributeError):  # stderr closed: lost
            sys.stderr.write(INTERRUPTED + "\n")
            sys.stderr.flush()
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    if isinstance(sys.stdout, io.TextIOWrapper):
        # a stdout in a legacy locale's charset (Latin-1 has no →, ASCII no µ), which explain
        # and --help write: escaped, as on stderr, not a traceback
        sys.stdout.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    if args.command == "convert":
        from leukoflag.cli._convert import run_convert  # noqa: PLC0415 - lazy: fast --help

        return run_convert(args)
    from leukoflag.cli._explain import run_explain  # noqa: PLC0415 - lazy: fast --help

    return run_explain(args)
