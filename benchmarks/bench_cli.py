"""``leukoflag convert`` on a generated directory of CBC messages, as ratios.

The data: 10,000 ORU^R01 CBC messages (WBC, differential, hemoglobin, platelets; varied patients,
ages, sexes, values, unit spellings and framings) in 200 files, generated in a temporary
directory. Ratios, each against a reference run on the same machine in the same run:

* ``convert_vs_cat``: ``leukoflag convert DIR -o OUT`` against ``cat DIR/* > /dev/null`` (reading
  the bytes is the least any converter does).
* ``convert_vs_library``: the command against the library doing the same work in a loop in this
  process (``iter_file_outcomes`` + ``fhir.dumps`` + writing the files): the command's own cost,
  start-up included.
* ``jobs2_vs_jobs1``: ``--jobs 2`` against ``--jobs 1`` (below 1 is a speed-up; 0.5 is ideal on
  two idle cores).
* ``fhir_jobs2_vs_jobs1``: the same on FHIR NDJSON as integration engines export it (one CBC
  Bundle or one WBC/ANC Observation per line, in ``FHIR_FILES`` large files), converted to NDJSON
  on stdout (thrown away): the main process splits the lines, the workers parse, flag and
  serialize them.
* ``help_vs_python``: ``leukoflag --help`` against ``python -c pass`` (start-up cost of the
  command: lazy imports keep it to tens of milliseconds).

``LEUKOFLAG_BENCH_MESSAGES`` changes the number of messages (default 10,000) and of NDJSON
lines (as many).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from leukoflag import api, fhir
from leukoflag.settings import Settings

FILES = 200
FHIR_FILES = 4
MESSAGES = int(os.environ.get("LEUKOFLAG_BENCH_MESSAGES", "10000"))
_UNITS = ("10*3/uL^^UCUM", "K/uL", "x10\\S\\9/L", "10*9/L^^UCUM", "x10E3/uL")
_CBC = (  # LOINC, name, low, high, unit kind ("count" takes a count unit, else the unit given)
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", 2.0, 14.0, "count"),
    ("789-8", "Erythrocytes [#/volume] in Blood by Automated count", 3.5, 5.8, "10*6/uL^^UCUM"),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", 9.0, 17.0, "g/dL^^UCUM"),
    ("4544-3", "Hematocrit [Volume Fraction] of Blood", 28.0, 50.0, "%^^UCUM"),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", 40.0, 450.0, "10*3/uL^^UCUM"),
    ("770-8", "Neutrophils/100 leukocytes in Blood by Automated count", 20.0, 80.0, "%^^UCUM"),
    ("751-8", "Neutrophils [#/volume] in Blood by Automated count", 0.2, 9.0, "count"),
    ("731-0", "Lymphocytes [#/volume] in Blood by Automated count", 0.5, 4.0, "count"),
    ("742-7", "Monocytes [#/volume] in Blood by Automated count", 0.1, 1.0, "count"),
)


def _message(number: int, rng: random.Random) -> bytes:
    unit = rng.choice(_UNITS)
    born = f"{rng.randint(1935, 2024)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    taken = f"202611{rng.randint(1, 28):02d}{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}00-0500"
    segments = [
        (
            f"MSH|^~\\&|CORELAB|BENCH HOSP|EHR|BENCH HOSP|{taken}||ORU^R01^ORU_R01|B{number:08d}"
            "|P|2.5.1|||AL|NE||UNICODE UTF-8"
        ),
        (
            f"PID|1||MRN{rng.randint(100000, 999999)}^^^BENCH^MR||BENCHMARK^PATIENT{number}"
            f"||{born}|{rng.choice('MFU')}"
        ),
        f"ORC|RE|O{number}^EHR|L{number}^CORELAB||CM",
        (
            f"OBR|1|O{number}^EHR|L{number}^CORELAB|58410-2^CBC panel - Blood by Automated count"
            f"^LN|||{taken}{'|' * 15}{taken}|||F"
        ),
    ]
    for index, (code, name, low, high, kind) in enumerate(_CBC, start=1):
        value = f"{rng.uniform(low, high):.{rng.choice((1, 2))}f}"
        segments.append(
            f"OBX|{index}|NM|{code}^{name}^LN||{value}|{unit if kind == 'count' else kind}|"
            f"{low:.1f}-{high:.1f}||||F|||{taken}"
        )
    return ("\r".join(segments) + "\r").encode()


def generate(directory: Path, messages: int = MESSAGES) -> int:
    """Write ``messages`` CBC messages into ``FILES`` files; returns the bytes written."""
    rng = random.Random(20261124)
    per_file = max(1, messages // FILES)
    written = 0
    for number in range(0, messages, per_file):
        batch = [_message(n, rng) for n in range(number, min(number + per_file, messages))]
        if number % 3 == 0:  # MLLP frames
            data = b"".join(b"\x0b" + message + b"\x1c\r" for message in batch)
        elif number % 3 == 1:  # one message after another
            data = b"".join(batch)
        else:  # a batch file
            data = (
                b"FHS|^~\\&|CORELAB|BENCH HOSP\rBHS|^~\\&|CORELAB|BENCH HOSP\r"
                + b"".join(batch)
                + f"BTS|{len(batch)}\rFTS|1\r".encode()
            )
        (directory / f"feed-{number:06d}.hl7").write_bytes(data)
        written += len(data)
    return written


_FHIR_UNITS = (("10*3/uL", 1), ("10*9/L", 1), ("/uL", 1000), ("K/uL", 1))
_BASE = "http://fhir.bench.example"


def _observation(
    number: int, rng: random.Random, row: tuple[str, str, float, float, str], patient: str
) -> dict[str, Any]:
    code, name, low, high, kind = row
    value = rng.uniform(low, high)
    if kind == "count":
        unit, scale = rng.choice(_FHIR_UNITS)
        value *= scale
    else:
        unit = kind.split("^")[0]
    taken = f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:10:00-05:00"
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"b{number:08d}-{code}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": name}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": taken,
        "valueQuantity": {"value": json.loads(f"{value:.{rng.choice((1, 2))}f}"), "unit": unit},
    }
    if kind != "count":
        observation["referenceRange"] = [{"text": f"{low:.1f}-{high:.1f}"}]
    return observation


def _fhir_line(number: int, rng: random.Random) -> bytes:
    """One NDJSON line: every other line a CBC Bundle (Patient, DiagnosticReport, nine
    Observations), else one WBC or ANC Observation."""
    patient = f"p{rng.randint(100000, 999999)}"
    born = f"{rng.randint(1935, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if number % 2:
        row = _CBC[rng.choice((0, 6))]
        return json.dumps(_observation(number, rng, row, patient)).encode()
    observations = [_observation(number, rng, row, patient) for row in _CBC]
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": patient,
            "identifier": [{"system": f"{_BASE}/mrn", "value": patient.upper()}],
            "gender": rng.choice(("male", "female", "unknown")),
            "birthDate": born,
        },
        {
            "resourceType": "DiagnosticReport",
            "id": f"r{number:08d}",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
            "subject": {"reference": f"Patient/{patient}"},
            "result": [{"reference": f"Observation/{o['id']}"} for o in observations],
        },
        *observations,
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"{_BASE}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
        ],
    }
    return json.dumps(bundle).encode()


def generate_ndjson(directory: Path, lines: int = MESSAGES) -> int:
    """Write ``lines`` FHIR NDJSON lines into ``FHIR_FILES`` files; returns the bytes written."""
    rng = random.Random(20261206)
    per_file = max(1, -(-lines // FHIR_FILES))
    written = 0
    for number in range(0, lines, per_file):
        data = b"".join(
            _fhir_line(n, rng) + b"\n" for n in range(number, min(number + per_file, lines))
        )
        (directory / f"export-{number:06d}.ndjson").write_bytes(data)
        written += len(data)
    return written


def _seconds(run: Callable[[], object], repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _command(*args: str) -> Callable[[], object]:
    def run() -> object:
        return subprocess.run(
            [sys.executable, "-m", "leukoflag", *args], check=False, capture_output=True
        )

    return run


def _ndjson_command(*args: str) -> Callable[[], object]:
    """The command writing NDJSON to stdout, thrown away (not piped into this process)."""

    def run() -> object:
        return subprocess.run(
            [sys.executable, "-m", "leukoflag", *args],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    return run


def _library(inputs: Path, output: Path) -> Callable[[], object]:
    settings = Settings()

    def run() -> object:
        output.mkdir(exist_ok=True)
        for path in sorted(inputs.iterdir()):
            for outcome in api.iter_file_outcomes(path, settings):
                if outcome.output is not None:
                    (output / f"{path.name}.{outcome.index}.json").write_bytes(
                        fhir.dumps(outcome.output)
                    )
        return None

    return run


def _cat(inputs: Path) -> Callable[[], object]:
    files = [os.fspath(path) for path in sorted(inputs.iterdir())]

    def run() -> object:
        return subprocess.run(["cat", *files], check=True, stdout=subprocess.DEVNULL)

    return run


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="leukoflag-bench-") as temporary:
        root = Path(temporary)
        inputs = root / "in"
        inputs.mkdir()
        size = generate(inputs)
        print(f"data: {MESSAGES:,} messages in {FILES} files, {size / 1e6:.1f} MB")

        _library(inputs, root / "warm")()  # load the data tables once, as the command will
        library = _seconds(_library(inputs, root / "library"))
        one = _seconds(_command("convert", os.fspath(inputs), "-o", os.fspath(root / "j1"), "-q"))
        two = _seconds(
            _command("convert", os.fspath(inputs), "-o", os.fspath(root / "j2"), "-q", "-j", "2")
        )
        cat = _seconds(_cat(inputs), repeat=5)
        print(f"convert: {MESSAGES / one:,.0f} messages/s, {MESSAGES / two:,.0f} with --jobs 2")
        print(f"convert_vs_cat: ratio {one / cat:.1f} (cat of the same files to /dev/null)")
        print(f"convert_vs_library: ratio {one / library:.2f} (the library in a loop, in process)")
        print(f"jobs2_vs_jobs1: ratio {two / one:.2f} (--jobs 1; below 1 is a speed-up)")
        shutil.rmtree(root / "j1")
        shutil.rmtree(root / "j2")

        exports = root / "fhir"
        exports.mkdir()
        size = generate_ndjson(exports)
        print(f"fhir data: {MESSAGES:,} NDJSON lines in {FHIR_FILES} files, {size / 1e6:.1f} MB")
        one = _seconds(_ndjson_command("convert", os.fspath(exports), "-q"))
        two = _seconds(_ndjson_command("convert", os.fspath(exports), "-q", "-j", "2"))
        print(f"fhir convert: {MESSAGES / one:,.0f} lines/s, {MESSAGES / two:,.0f} with --jobs 2")
        print(
            f"fhir_jobs2_vs_jobs1: ratio {two / one:.2f} "
            "(--jobs 1 on FHIR NDJSON, NDJSON to stdout; below 1 is a speed-up)"
        )

    python = _seconds(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 10)
    helped = _seconds(_command("--help"), 10)
    print(f"help_vs_python: ratio {helped / python:.2f} (python -c pass; {helped * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
