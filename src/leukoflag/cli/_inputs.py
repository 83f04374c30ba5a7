"""Command-line inputs: files, directories and stdin, expanded in a deterministic order, and the
name each input's output files carry."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NoReturn, TypeVar

__all__ = [
    "STDIN",
    "Input",
    "UsageError",
    "expand_inputs",
    "json_text",
    "line_text",
    "rejection_sidecar",
]

_T = TypeVar("_T")

STDIN = "-"
_STDIN_SOURCE = "<stdin>"
_STDIN_NAME = "stdin"
# leukoflag's own rejection records: skipped in directories so `convert out/rejected` replays.
_SIDECAR_SUFFIX = ".reason.json"
# Output names add up to ~N, .<item> and .reason.json to the input's name: a longer name is
# shortened so that they stay within the 255 bytes file systems allow for a name (NAME_MAX).
_NAME_BYTES = 200
_DIGEST_CHARACTERS = 8


class UsageError(Exception):
    """A command-line problem reported in one line with exit status 2."""


@dataclass(frozen=True, slots=True)
class Input:
    """One input to convert. ``source`` is the path as given (or ``<stdin>``), used in reports and
    rejection records; ``name`` is the unique file name its outputs carry (``<name>.<n>.json``)."""

    source: str
    name: str
    path: Path | None  # None for stdin
    size: int | None  # bytes, when known up front

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """The input as a buffered binary stream (``peek`` works on it)."""
        if self.path is None:
            yield sys.stdin.buffer
            return
        try:
            stream = self.path.open("rb")
        except OSError as exc:
            raise UsageError(f"cannot read {self.source}: {exc.strerror}") from None
        with stream:
            yield stream

    def reading(self, items: Iterator[_T]) -> Iterator[_T]:
        """``items``, read from this input's stream: an ``OSError`` while reading (``EIO``: a
        network share gone) names the input, as one at the open does. Only the reading is
        wrapped, so an error writing the output (a broken pipe) is still reported as such."""
        try:
            yield from items
        except OSError as exc:
            raise UsageError(f"cannot read {self.source}: {exc.strerror or exc}") from None


def json_text(path_text: str) -> str:
    """A path or file name as JSON can hold it: the bytes of a name that is not UTF-8 (kept by
    Python as lone surrogates, PEP 383, which no JSON writer accepts) written as ``\\xNN``."""
    try:
        data = path_text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate the file system decoding did not make
        return path_text.encode("utf-8", "backslashreplace").decode("utf-8")
    return data.decode("utf-8", "backslashreplace")


# C0 and C1 control characters and DEL: a line break, or ESC starting a terminal sequence.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def line_text(text: str) -> str:
    """``text`` (a file name, or text read from an input) as one line on a terminal or in a log
    shows it: a control character as ``\\xNN``, so that a name or value can neither end the line
    (and forge the next: ``leukoflag: 3 messages …``) nor drive the terminal; a name's bytes
    that are not UTF-8 as :func:`json_text` writes them."""
    text = json_text(text)
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


def rejection_sidecar(name: str) -> bool:
    """Whether a file name is one of leukoflag's rejection records (``<name>.<n>.reason.json``)."""
    return name.endswith(_SIDECAR_SUFFIX)


def expand_inputs(
    arguments: Sequence[str],
    *,
    exclude: Path | None = None,
    report: Path | None = None,
    records: list[str] | None = None,
    stdout: bool = False,
) -> list[Input]:
    """The inputs named on the command line, in order; directories are read recursively, their
    files sorted by path. Hidden files and directories, rejection records, anything under
    ``exclude`` (the output directory) and the file ``report`` (the ``--report`` file, which
    replaces what is there) are skipped inside directories; a file named explicitly is always
    read. The same file named twice is read once. Output names are the file names (``_`` before a
    hidden one's, so that its outputs are not hidden); when two
    inputs share a name (case-insensitively), the later ones get ``~2``, ``~3`` … appended.
    Raises :class:`UsageError` for a missing or unreadable path, for an input directory that is
    ``exclude`` itself, for an input file named explicitly that lies in ``exclude`` (a glob of
    an input directory that is also the output directory) and for one that is ``report``.
    With ``records`` (a list), the rejection records skipped are appended to it, and one named
    explicitly (``convert out/rejected/*``: the glob names them beside the raw items) is
    skipped too: it is leukoflag's record of an item, not an input. The file stderr is
    redirected to, and with ``stdout`` (the run writes to stdout) stdout's, is skipped in a
    directory and a usage error when named: the run would read its own lines back as input."""
    found: list[tuple[str, Path | None]] = []
    seen: set[Path] = set()
    stdin_named = False
    excluded = exclude.resolve() if exclude is not None else None
    replaced = report.resolve() if report is not None else None
    written = _written_files(stdout)
    for argument in arguments:
        if not argument:  # Path("") is the working directory: `convert "$INBOX"`, INBOX unset
            raise UsageError(
                "an input name is empty (an unset variable?): name a file, a directory or -"
            )
        if argument == STDIN:
            if stdin_named:
                raise UsageError("stdin (-) named more than once")
            if sys.stdin is None:  # started with stdin closed (`<&-`)
                raise UsageError("stdin (-) is closed: nothing to read")
            stdin_named = True
            what = _written_as(_stdin_status(), written) if written else None
            if what is not None:  # `convert - < all.ndjson >> all.ndjson`
                raise UsageError(_own_lines("stdin (-)", what))
            found.append((_STDIN_SOURCE, None))
            continue
        path = Path(argument)
        if path.is_dir():
            if _is(path, excluded):  # a re-run would read the outputs of this run as inputs
                raise UsageError(f"{argument} is both an input and the output directory (-o)")
            files = _walk(path, excluded, records)
        elif path.is_socket():  # open() fails on it: say so before anything is written
            raise UsageError(
                f"cannot read {argument}: a socket, not a file (pipe what it sends into "
                "leukoflag convert -)"
            )
        elif path.exists():
            if records is not None and rejection_sidecar(path.name) and path.is_file():
                records.append(argument)
                continue
            if _is(path.absolute().parent, excluded):  # `convert inbox/* -o inbox`: as above
                raise UsageError(
                    f"{argument} is in the output directory (-o): a re-run would convert this "
                    "run's outputs as new input; write them to another directory"
                )
            files = [path]
        elif path.is_symlink():
            raise UsageError(_unreachable(path, argument))
        else:
            raise UsageError(f"no such file or directory: {argument}")
        for file in files:
            resolved = file.resolve()
            if resolved in seen:
                continue
            if resolved == replaced:
                if file != path:  # a report of a run before, found in an input directory
                    continue
                raise UsageError(
                    f"{argument} is both an input and the --report file (the report would "
                    "replace it)"
                )
            what = _written_as(_status(file), written) if written else None
            if what is not None:
                if file != path:  # `convert inbox > inbox/day.ndjson`: this run's own output
                    continue
                raise UsageError(_own_lines(argument, what))
            seen.add(resolved)
            if not os.access(file, os.R_OK):
                raise UsageError(f"cannot read {file}: permission denied")
            found.append((os.fspath(file), file))
    if stdin_named:
        _refuse_stdin_named_again(found)
    return _named(found)


def _written_files(stdout: bool) -> list[tuple[os.stat_result, str]]:
    """The files the run writes its lines to, stderr's and with ``stdout`` stdout's, when they
    are redirected to a file (``> inbox/day.ndjson``, ``2> inbox/errors.log``), each with what
    it is; not a pipe, a terminal or a device, which no input directory holds as a file."""
    written = []
    for stream, what in ((sys.stdout, "stdout, where the outputs go"), (sys.stderr, "stderr")):
        if stream is sys.stdout and not stdout:
            continue
        try:
            status = os.fstat(stream.fileno())
        except (OSError, ValueError, AttributeError):  # closed, or of no file
            continue
        if stat.S_ISREG(status.st_mode):
            written.append((status, what))
    return written


def _written_as(
    status: os.stat_result | None, written: list[tuple[os.stat_result, str]]
) -> str | None:
    """What the file of ``status`` is of the files the run writes to, if one of them."""
    if status is None:
        return None
    return next((what for file, what in written if os.path.samestat(status, file)), None)


def _own_lines(named: str, what: str) -> str:
    lines = "outputs" if what.startswith("stdout") else "messages"
    return f"{named} is both an input and {what}: the run would read its own {lines} back as input"


def _status(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _stdin_status() -> os.stat_result | None:
    try:
        return os.fstat(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):  # a stdin of no file
        return None


def _refuse_stdin_named_again(found: list[tuple[str, Path | None]]) -> None:
    """Raise :class:`UsageError` when a path found is what stdin reads (``/dev/stdin``, or the
    file of ``< day.hl7``), as for ``-`` named twice: from a file it would be converted twice,
    from a pipe read by one of the two and found empty by the other."""
    stdin = _stdin_status()
    if stdin is None:  # a stdin of no file: no path names it
        return
    for source, path in found:
        status = _status(path) if path is not None else None
        if status is not None and os.path.samestat(status, stdin):
            raise UsageError(f"stdin (-) named more than once: {source} is stdin too")


def _walk(root: Path, excluded: Path | None, records: list[str] | None) -> list[Path]:
    files: list[Path] = []
    for directory, subdirectories, names in os.walk(root, onerror=_unlisted):
        here = Path(directory)
        subdirectories[:] = [
            d for d in subdirectories if not d.startswith(".") and not _is(here / d, excluded)
        ]
        for name in names:
            path = here / name
            if name.startswith("."):
                continue
            if rejection_sidecar(name):
                if records is not None:
                    records.append(os.fspath(path))
                continue
            if path.is_file():
                files.append(path)
            elif path.is_symlink() and not path.exists():
                # an input that is not there, as a missing file named on the command line
                raise UsageError(_unreachable(path, os.fspath(path)))
    # byte order: a name that is not UTF-8 holds its bytes as U+DC80-U+DCFF (PEP 383), which as
    # text sort after every other character below them, not as the bytes they are
    return sorted(files, key=lambda file: tuple(map(os.fsencode, file.relative_to(root).parts)))


def _unreachable(link: Path, named: str) -> str:
    """Why symbolic link ``link`` leads to no file: its target is not there, or it loops."""
    try:
        link.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # links pointing at each other: no file was moved away
            return f"symbolic link loop: {named} -> {os.readlink(link)}"
    return f"broken symbolic link: {named} -> {os.readlink(link)}"


def _unlisted(error: OSError) -> NoReturn:
    # os.walk passes over a directory it cannot list: its files would vanish without a word
    raise UsageError(f"cannot read {error.filename}: {error.strerror}")


def _is(path: Path, excluded: Path | None) -> bool:
    return excluded is not None and path.resolve() == excluded


def _named(found: list[tuple[str, Path | None]]) -> list[Input]:
    used: set[str] = set()
    inputs: list[Input] = []
    for source, path in found:
        base = _shortened(_visible(path.name)) if path is not None else _STDIN_NAME
        name, number = base, 1
        while _folded(name) in used:
            number += 1
            name = f"{base}~{number}"
        used.add(_folded(name))
        size = path.stat().st_size if path is not None else None
        inputs.append(Input(source, name, path, size))
    return inputs


def _visible(name: str) -> str:
    """``name``, with ``_`` before it when it starts with ``.``: the output files of a hidden
    input (``.night.hl7``) would be hidden too, and a replay of ``rejected/`` would skip its raw
    items as it skips every hidden file."""
    return f"_{name}" if name.startswith(".") else name


def _folded(name: str) -> str:
    """``name`` as a file system that ignores case and Unicode normalization compares it (macOS:
    ``é`` as one character, NFC, or as ``e`` and a combining accent, NFD, is the same name)."""
    return unicodedata.normalize("NFC", name).casefold()


def _shortened(name: str) -> str:
    """``name``, or when longer than :data:`_NAME_BYTES` bytes, its start and ``~`` and a digest
    of the whole name (so that two long names differing only at the end stay apart)."""
    data = os.fsencode(name)
    if len(data) <= _NAME_BYTES:
        return name
    digest = hashlib.sha256(data).hexdigest()[:_DIGEST_CHARACTERS]
    start = data[: _NAME_BYTES - _DIGEST_CHARACTERS - 1]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:  # not UTF-8: its bytes are kept as they are, as for a short name
        return f"{os.fsdecode(start)}~{digest}"
    # a UTF-8 name is cut between characters, never inside one
    return f"{start.decode('utf-8', 'ignore')}~{digest}"
