"""Run every benchmark module (``benchmarks/bench_*.py``) and print its ratios.

Each module defines ``main() -> None`` that prints lines of the form
``<name>: ratio <x> (<what it is compared with>)``. Timings on shared machines are noisy; the
ratios against reference operations run in the same process are what we compare.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main() -> None:
    here = Path(__file__).parent
    sys.path.insert(0, str(here))
    selected = sys.argv[1:]
    for path in sorted(here.glob("bench_*.py")):
        if selected and path.stem.removeprefix("bench_") not in selected:
            continue
        print(f"== {path.stem}")
        importlib.import_module(path.stem).main()


if __name__ == "__main__":
    main()
