"""The examples and the README's code stay true: they run, and give what they say."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import leukoflag as leukoflag_api
from leukoflag.units._table import load_table

from .conftest import Runner

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "messages"


def test_demo_converts_every_example_and_rejects_only_the_log(
    leukoflag: Runner, tmp_path: Path
) -> None:
    done = leukoflag("convert", EXAMPLES, "-o", "demo", "--report", "demo/report.json")
    assert done.returncode == 1, done.stderr
    report = json.loads((tmp_path / "demo" / "report.json").read_bytes())
    by_name = {f["output_name"]: f for f in report["files"]}
    assert sorted(by_name) == sorted(p.name for p in EXAMPLES.iterdir() if p.name[0] != ".")
    assert {name for name, f in by_name.items() if f["rejected"]} == {"interface-log.txt"}
    assert by_name["batch.hl7"]["messages"] == 3
    assert by_name["mllp-framed.hl7"]["messages"] == 2
    assert by_name["observations.ndjson"]["messages"] == 3
    assert by_name["leukopenic-adult.hl7"]["low"] == {"wbc": 1, "anc": 1}
    assert by_name["normal-cbc.hl7"]["interpretations"] == {"N": 2}
    assert report["totals"]["low"]["anc"] >= 4
    rejected = sorted(p.name for p in (tmp_path / "demo" / "rejected").iterdir())
    assert rejected == ["interface-log.txt.1.reason.json", "interface-log.txt.1.txt"]


def _report_example() -> dict[str, Any]:
    """The ``--report`` example of docs/cli.md, its elisions (``{…}``, a last ``…`` entry) cut."""
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = page.split("### `--report FILE`", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block is not None
    text = re.sub(r",\s*…\s*\]", "]", block.group(1).replace("{…}", "{}"))
    example: dict[str, Any] = json.loads(text)
    return example


def test_the_cli_docs_report_example_gives_what_the_command_writes(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # docs/cli.md showed 54 Issues in all and 14 for batch.hl7 after the examples had changed
    example = _report_example()
    done = leukoflag(
        "convert", "examples/messages", "-o", tmp_path / "demo", "--report", "-", cwd=ROOT
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert example["leukoflag"] == report["leukoflag"]
    assert example["settings"] == report["settings"]
    issues = example["totals"].pop("issues")
    assert example["totals"] == {key: report["totals"][key] for key in example["totals"]}
    assert issues["total"] == report["totals"]["issues"]["total"]
    (shown,) = example["files"]
    (written,) = [f for f in report["files"] if f["input"] == shown["input"]]
    assert shown == written


def test_use_library_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, "examples/use_library.py"],
        cwd=ROOT,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert "leukopenic-adult.hl7: 1 bundle(s), 0 rejected" in text
    assert "8.2 giga.l-1 (wbc) = 8,200 cells/µL" in text
    assert "10*12/L (wbc): not a count: wrong-analyte: " in text
    assert text.count("wrong-analyte") == 1  # the reason once, not again after the message


@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_readme_library_example_runs(page: str) -> None:
    readme = (ROOT / page).read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", readme, re.DOTALL)
    assert code is not None
    assert len(code.group(1).splitlines()) <= 12
    done = subprocess.run(
        [sys.executable, "-c", code.group(1)],
        cwd=ROOT,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "wbc-" in done.stdout.decode()  # a WBC finding with its rule id was printed
    assert " 3100 " in done.stdout.decode()  # the count in plain notation, not 3.1E+3


def test_corrected_example_replaces_the_values_of_the_original_example() -> None:
    original = leukoflag_api.convert_file(EXAMPLES / "leukopenic-adult.hl7")
    (bundle,) = leukoflag_api.convert_file(EXAMPLES / "corrected-result.hl7").bundles
    resources = [entry["resource"] for entry in bundle["entry"]]
    (report,) = [r for r in resources if r["resourceType"] == "DiagnosticReport"]
    assert report["status"] == "corrected"
    assert {r["status"] for r in resources if r["resourceType"] == "Observation"} == {"corrected"}
    (note,) = [e["valueAnnotation"]["text"] for e in report["extension"] if "note" in e["url"]]
    # the reason names each value it replaces as the original example reported it (3.1, 1.2)
    for finding in original.findings:
        value = f"{finding.value_per_ul.scaleb(-3):f} K/uL"
        assert re.search(rf"{finding.analyte.value.upper()}\b[^;]*? {re.escape(value)}", note), note


def _segments(path: Path) -> list[list[str]]:
    text = path.read_bytes().strip(b"\x0b\x1c\r\n").decode()
    return [line.split("|") for line in re.split(r"\r\n|\r|\n|\x1c\r\x0b", text) if line]


def test_one_labs_examples_send_one_reference_range_per_count_and_sex() -> None:
    ranges: dict[tuple[str, str, str], set[str]] = {}
    for path in EXAMPLES.glob("*.hl7"):
        lab = sex = ""
        for fields in _segments(path):
            if fields[0] == "MSH":
                lab = fields[2]
            elif fields[0] == "PID":
                sex = fields[8]
            elif fields[0] == "OBX" and fields[7]:
                ranges.setdefault((lab, fields[3].split("^")[0], sex), set()).add(fields[7])
    assert ranges[("CORELAB", "6690-2", "F")] == {"4.5-11.0"}
    assert ranges[("CORELAB", "751-8", "F")] == {"1.8-7.7"}
    assert {key: found for key, found in ranges.items() if len(found) > 1} == {}


def test_interface_log_quotes_the_normal_cbc_message_it_received() -> None:
    log = (EXAMPLES / "interface-log.txt").read_text(encoding="utf-8")
    message = (EXAMPLES / "normal-cbc.hl7").read_bytes()
    quoted = log[log.index("MSH|") :].split("\n", 1)[0]
    assert message.decode().startswith(quoted)
    assert f"received {len(message) + 3} bytes" in log  # the message in its MLLP frame


def test_examples_readme_says_why_the_ndjson_child_and_mllp_examples_read_as_they_do() -> None:
    readme = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    ndjson = leukoflag_api.convert_file(EXAMPLES / "observations.ndjson")
    codes = {(issue.location, issue.code) for issue in ndjson.issues}
    assert ("ITEM[1]/Observation.referenceRange[0]", "flag.lab-range-unusable") in codes
    assert {loc for loc, code in codes if code == "flag.age-unknown"} == {
        "ITEM[1]/Observation",
        "ITEM[2]/Observation",
    }
    child = leukoflag_api.convert_file(EXAMPLES / "neutropenic-child.hl7")
    wbc = next(f for f in child.findings if f.analyte == "wbc")
    assert (wbc.code, wbc.ctcae_grade, wbc.range and wbc.range.source) == ("L", None, "age-band")
    mllp = leukoflag_api.convert_file(EXAMPLES / "mllp-framed.hl7")
    assert "hl7v2.timestamp-truncated" in {issue.code for issue in mllp.issues}
    for said in (
        "flag.lab-range-unusable",
        "flag.age-unknown",
        "no CTCAE grade",
        "timestamp-truncated",
    ):
        assert said in readme


def _python_blocks(page: Path) -> list[str]:
    """The code blocks of ``page`` that are a program (not a >>> session or a signature list)."""
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL)
    return [b for b in blocks if b.startswith(("import ", "from "))]


@pytest.mark.parametrize(
    "page", sorted(p.name for p in (ROOT / "docs").glob("*.md") if _python_blocks(p))
)
def test_every_python_example_of_the_docs_runs(page: str) -> None:
    for code in _python_blocks(ROOT / "docs" / page):
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        if "print(exc.reason, exc.spelling)" in code:  # errors.md shows what it prints
            assert done.stdout.decode().startswith("wrong-analyte 10*12/L\n")


def test_the_docs_python_examples_are_found() -> None:
    found = {p.name: len(_python_blocks(p)) for p in (ROOT / "docs").glob("*.md")}
    assert {name: n for name, n in found.items() if n} == {
        "errors.md": 1,
        "index.md": 2,
        "settings.md": 1,
        "testing.md": 4,
    }


def test_the_worked_example_of_extending_needs_its_two_rows_and_they_give_its_count() -> None:
    page = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    segments = [
        line[4:] for line in page.splitlines() if re.match(r" {4}(MSH|PID|OBR|OBX)\|", line)
    ]
    (obx,) = [s for s in segments if s.startswith("OBX")]
    code, value, unit = obx.split("|")[3].split("^")[0], obx.split("|")[5], obx.split("|")[6]
    # as the page starts: neither the local code nor the unit spelling is known yet
    assert leukoflag_api.convert("\r".join(segments)).findings == []
    analytes = (ROOT / "src/leukoflag/flagging/data/analytes.csv").read_text(encoding="utf-8")
    assert not re.search(rf"^{re.escape(code)},", analytes, re.MULTILINE)
    with pytest.raises(leukoflag_api.UnitError) as refused:
        leukoflag_api.count_per_ul(value, unit)
    assert refused.value.reason == "unknown-unit"
    # the page's csv row names that code, and its two toml lines, added where it says, load
    csv_row = re.search(r"```csv\n(.*?)\n```", page, re.DOTALL)
    assert csv_row is not None
    assert csv_row.group(1).split(",")[:4] == [code, "local", "count", "wbc"]
    source, row = re.findall(r"```toml\n(.*?)\n```", page, re.DOTALL)
    units = (ROOT / "src/leukoflag/units/data/units.toml").read_text(encoding="utf-8")
    units = units.replace("[sources]\n", f"[sources]\n{source}\n", 1)
    units = units.replace("[spellings]\nrows = [\n", f"[spellings]\nrows = [\n{row}\n", 1)
    table = load_table(units)
    found = table.lookup(unit)
    assert found is not None
    entry = table.ucum[found[0].ucum]
    assert entry.factor is not None
    count = (Decimal(value) * entry.factor).normalize()
    assert f"{count:,f} cells/µL" in page  # what explain shows once both rows are added


def _indented_blocks(page: str) -> list[list[str]]:
    """The page's indented (4-space) blocks, each as its lines without the indentation (a
    blank line between two indented ones is a line of the block)."""
    found = re.findall(r"(?:^ {4}.*\n(?:\n(?= {4}))*)+", page, re.MULTILINE)
    return [[line[4:] for line in block.splitlines()] for block in found]


def _shows(output: str, lines: list[str]) -> bool:
    """Whether ``lines`` are lines of ``output``, one after the other, all indented alike (a
    page may show rows of a message without the indentation they have below its header)."""
    written = output.splitlines()
    for i, line in enumerate(written):
        indent = line[: len(line) - len(lines[0])]
        shown = [indent + text for text in lines]
        if not indent.strip() and written[i : i + len(lines)] == shown:
            return True
    return False


def test_the_worked_example_of_extending_shows_what_explain_writes_at_each_step(
    tmp_path: Path,
) -> None:
    # docs/extending.md showed step 1's count not judged without its 'sender  N' line, which
    # explain writes for a count not judged since the sender's flag is kept as its interpretation
    page = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    blocks = _indented_blocks(page)
    (message,) = [b for b in blocks if b[0].startswith("MSH|")]
    before, step1, step2 = [b for b in blocks if b[0].startswith("MSG[1]")]
    csv_row = re.search(r"```csv\n(.*?)\n```", page, re.DOTALL)
    assert csv_row is not None
    source, row = re.findall(r"```toml\n(.*?)\n```", page, re.DOTALL)
    package = tmp_path / "site" / "leukoflag"
    shutil.copytree(
        ROOT / "src" / "leukoflag", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "hillcrest.hl7").write_text("\n".join(message) + "\n", encoding="utf-8")

    def explain() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "leukoflag", "explain", "hillcrest.hl7"],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": os.fspath(tmp_path / "site")},
            capture_output=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.decode()

    assert _shows(explain(), before)
    analytes = package / "flagging" / "data" / "analytes.csv"
    analytes.write_text(analytes.read_text(encoding="utf-8") + csv_row.group(1) + "\n", "utf-8")
    assert _shows(explain(), step1)
    units = package / "units" / "data" / "units.toml"
    text = units.read_text(encoding="utf-8")
    text = text.replace("[sources]\n", f"[sources]\n{source}\n", 1)
    text = text.replace("[spellings]\nrows = [\n", f"[spellings]\nrows = [\n{row}\n", 1)
    units.write_text(text, encoding="utf-8")
    assert _shows(explain(), step2)


def _cli_page() -> str:
    return (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


def test_the_cli_docs_explain_example_is_what_explain_writes(leukoflag: Runner) -> None:
    (shown,) = [b for b in _indented_blocks(_cli_page()) if b[0].startswith("$ leukoflag explain")]
    done = leukoflag(*shown[0].split()[2:], cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == shown[1:]


def test_the_cli_docs_summary_and_rejected_lines_are_what_convert_writes(
    leukoflag: Runner, tmp_path: Path
) -> None:
    page = _cli_page()
    (summary,) = re.findall(r"^ {4}(leukoflag: \d+ messages → .*)$", page, re.MULTILINE)
    (rejected,) = re.findall(r"^ {4}(leukoflag: rejected .*), …$", page, re.MULTILINE)
    done = leukoflag("convert", "examples/messages", "-o", tmp_path / "demo", cwd=ROOT)
    assert done.returncode == 1, done.stderr
    # the run's time is its own; everything else as the page shows it, from `make demo`
    timed = r"in \d+\.\d s"
    assert re.sub(timed, "", done.stderr.decode()) == re.sub(timed, "", summary) + "\n"
    done = leukoflag("convert", "examples/messages/interface-log.txt", cwd=ROOT)
    assert done.returncode == 1
    assert done.stderr.decode().startswith(rejected + ", ")


def test_the_units_docs_session_gives_what_it_shows() -> None:
    page = (ROOT / "docs" / "units.md").read_text(encoding="utf-8")
    session = re.search(r"```python\n(>>> .*?)```", page, re.DOTALL)
    assert session is not None
    lines = session.group(1).splitlines()
    assert lines[0] == ">>> import leukoflag"
    calls = [(lines[i][4:], lines[i + 1].split("  #")[0].strip()) for i in range(1, len(lines), 2)]
    assert len(calls) == 3
    for call, shown in calls:
        try:
            got = repr(eval(call, {"leukoflag": leukoflag_api}))  # the page's code
        except leukoflag_api.UnitError as exc:
            got = f"UnitError: {exc}"
        assert got == shown or (shown.endswith("…") and got.startswith(shown[:-1])), call
