"""Instructions per end-to-end message under callgrind: an A/B measure that noise cannot move.

On a shared machine a change of a few per cent in ``bench_fhir``'s end-to-end time is lost in
the noise. The number of instructions one ``leukoflag.convert`` + ``fhir.dumps`` of its 20-OBX
CBC executes is not: it is the same run after run, so two commits can be compared by it (it
does not see cache misses, so confirm a large change with the timed benchmarks).

    .venv/bin/python benchmarks/instructions.py                   # the working tree
    .venv/bin/python benchmarks/instructions.py --against HEAD~3  # and a commit, as a ratio

Needs ``valgrind`` (with ``callgrind_control``) on the PATH. The program warms up (tables, pint,
caches) with instrumentation off, switches it on for ``--messages`` conversions only, and off
again before the interpreter exits. A commit is measured from a ``git archive`` of its
``src/leukoflag``, first on ``sys.path``; the working tree from a copy at a path of the same
length, since the path moves the heap's layout and with it whether orjson's output buffer is
moved on growth (up to 0.7 % of the count, docs/benchmarks.md). That move is glibc's
``realloc`` under ``PyMem_RawRealloc``, so each count is also printed without that function's
inclusive cost, the steadier of the two for a small change. Not part of ``make bench``.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
_WARM_UP = 20


def _measured(source: Path, messages: int) -> tuple[float, float]:
    """Instructions per message of the package under ``source`` (a directory holding
    ``leukoflag``), counted by callgrind in a child process: all of them, and all but those
    under ``PyMem_RawRealloc`` (glibc's ``realloc`` copying orjson's output buffer or not)."""
    with tempfile.TemporaryDirectory() as scratch:
        out = f"{scratch}/callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            str(source),
            str(messages),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise SystemExit(f"callgrind printed no total:\n{done.stderr[-2000:]}")
        annotated = subprocess.run(
            ["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    total = int(found.group(1))
    realloc = re.search(r"^\s*([\d,]+) .*:PyMem_RawRealloc \[", annotated, re.MULTILINE)
    moved = int(realloc.group(1).replace(",", "")) if realloc else 0
    return total / messages, (total - moved) / messages


def _child(source: str, messages: int) -> None:
    """The measured program: convert the benchmark CBC ``messages`` times, instrumented."""
    sys.path.insert(0, source)  # before the installed package: imported by name below
    sys.path.insert(1, str(_HERE))
    leukoflag = importlib.import_module("leukoflag")
    fhir = importlib.import_module("leukoflag.fhir")
    raw = importlib.import_module("bench_fhir").cbc_message().encode()
    for _ in range(_WARM_UP):
        fhir.dumps(leukoflag.convert(raw).bundles[0])
    gc.collect()
    gc.disable()  # as timeit does: a collection would land in one run and not another
    control = ["callgrind_control", "-i"]
    subprocess.run([*control, "on", str(os.getpid())], capture_output=True, check=True)
    for _ in range(messages):
        fhir.dumps(leukoflag.convert(raw).bundles[0])
    subprocess.run([*control, "off", str(os.getpid())], capture_output=True, check=True)


def _snapshot(commit: str, into: Path) -> Path:
    """``src/leukoflag`` of ``commit``, unpacked under ``into``; the directory holding it."""
    archive = into / "source.tar"
    with archive.open("wb") as out:
        subprocess.run(
            ["git", "-C", str(_ROOT), "archive", commit, "src/leukoflag"],
            stdout=out,
            check=True,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _copy(into: Path) -> Path:
    """The working tree's ``src/leukoflag`` copied under ``into``, as ``_snapshot`` lays it out."""
    shutil.copytree(
        _ROOT / "src" / "leukoflag",
        into / "src" / "leukoflag",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="COMMIT", help="also measure this commit")
    # About one cycle of fhir._json's Decimal cache (emptied at 4,096, 6 new entries a message):
    # over fewer, whether a table doubling falls in the window moves the count by ~0.5 %.
    parser.add_argument("--messages", type=int, default=700, help="conversions counted")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        _child(options.child[0], int(options.child[1]))
        return
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        raise SystemExit("instructions.py needs valgrind and callgrind_control on the PATH")
    with tempfile.TemporaryDirectory() as scratch:
        here = _measured(_copy(Path(scratch)), options.messages)
    _report("working tree", here)
    if options.against:
        with tempfile.TemporaryDirectory() as scratch:
            there = _measured(_snapshot(options.against, Path(scratch)), options.messages)
        _report(options.against, there)
        print(
            f"working tree vs {options.against}: ratio {here[0] / there[0]:.3f}"
            f" ({here[1] / there[1]:.3f} without PyMem_RawRealloc)"
        )


def _report(name: str, counts: tuple[float, float]) -> None:
    print(
        f"{name}: {counts[0] / 1000:,.0f}k instructions per message"
        f" ({counts[1] / 1000:,.0f}k without PyMem_RawRealloc)"
    )


if __name__ == "__main__":
    main()
