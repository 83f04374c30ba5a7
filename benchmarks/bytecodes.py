"""Bytecodes per function of one end-to-end message: an A/B measure the heap's layout cannot move.

``instructions.py`` counts what the processor executes, which includes the allocator's
bookkeeping and glibc's ``realloc`` copies: both move with the heap's layout, by about ±0.2 %
between two trees whose code does the same work (docs/benchmarks.md). This counts the
bytecodes each function of leukoflag executes for the benchmark CBC (``sys.settrace`` with
opcode events), which depend on the code alone, and prints the functions whose count differs:

    .venv/bin/python benchmarks/bytecodes.py --against 2f6f3f2

A bytecode costs some 20-40 instructions; a C call inside one (a Decimal operation) is not
seen, so confirm with ``instructions.py``. Not part of ``make bench``.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
_WARM_UP = 30
_COUNTED = 5


def _child(source: str) -> None:
    """Count the bytecodes of ``_COUNTED`` conversions of the package under ``source``."""
    sys.path.insert(0, source)
    sys.path.insert(1, str(_HERE))
    leukoflag = importlib.import_module("leukoflag")
    fhir = importlib.import_module("leukoflag.fhir")
    raw = importlib.import_module("bench_fhir").cbc_message().encode()
    for _ in range(_WARM_UP):
        fhir.dumps(leukoflag.convert(raw).bundles[0])
    ops: collections.Counter[str] = collections.Counter()

    def tracer(frame: FrameType, event: str, _: Any) -> Any:
        code = frame.f_code
        if event == "call":
            frame.f_trace_opcodes = True
        elif event == "opcode":
            ops[f"{code.co_filename.rpartition('leukoflag/')[2]}:{code.co_name}"] += 1
        return tracer

    sys.settrace(tracer)
    for _ in range(_COUNTED):
        fhir.dumps(leukoflag.convert(raw).bundles[0])
    sys.settrace(None)
    print(json.dumps({name: count / _COUNTED for name, count in ops.items()}))


def _counted(source: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(source)],
        capture_output=True,
        text=True,
        check=True,
    )
    counts: dict[str, float] = json.loads(done.stdout)
    return counts


def _tree(into: Path, commit: str | None) -> Path:
    """``src/leukoflag`` of ``commit`` (the working tree's for None) under ``into``."""
    if commit is None:
        return _ROOT / "src"
    archive = subprocess.run(
        ["git", "-C", str(_ROOT), "archive", commit, "src/leukoflag"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="COMMIT", help="also count this commit, and compare")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        _child(options.child)
        return
    here = _counted(_tree(Path(), None))
    print(f"working tree: {sum(here.values()):,.0f} bytecodes per message")
    if not options.against:
        return
    with tempfile.TemporaryDirectory() as scratch:
        there = _counted(_tree(Path(scratch), options.against))
    print(f"{options.against}: {sum(there.values()):,.0f} bytecodes per message")
    for name in sorted(
        set(here) | set(there), key=lambda n: -abs(here.get(n, 0) - there.get(n, 0))
    ):
        change = here.get(name, 0) - there.get(name, 0)
        if change:
            print(f"{change:+9.1f}  {name}  ({there.get(name, 0):g} -> {here.get(name, 0):g})")


if __name__ == "__main__":
    main()
