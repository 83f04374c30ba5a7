"""The command itself: help, version, start-up imports, usage and I/O errors."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leukoflag import __version__
from leukoflag.cli import build_parser, main

from .conftest import Runner
from .messages import oru

_HEAVY = ("pint", "hl7apy", "fhir.resources", "orjson")
_PIPELINE = (
    "leukoflag.api",
    "leukoflag.detect",
    "leukoflag.hl7v2",
    "leukoflag.units",
    "leukoflag.flagging",
    "leukoflag.fhir",
)


@pytest.mark.parametrize("argv", [["--help"], ["convert", "--help"], ["explain", "--help"]])
def test_help_imports_neither_the_pipeline_nor_its_libraries(argv: list[str]) -> None:
    script = (
        "import contextlib, io, json, sys\n"
        "from leukoflag.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert "leukoflag.cli" in loaded
    assert not [m for m in loaded if m.split(".")[0] in _HEAVY or m.startswith("fhir.")]
    assert not [m for m in loaded if m.startswith(_PIPELINE)]


def test_version_names_the_package_version(leukoflag: Runner) -> None:
    done = leukoflag("--version")
    assert done.returncode == 0
    assert done.stdout.decode().strip() == f"leukoflag {__version__}"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--help"], ["convert", "explain", "Exit status"]),
        (["convert", "--help"], ["--output", "--report", "--jobs", "--fhir-version", "--strict"]),
        (["explain", "--help"], ["FILE", "--range-policy", "--ctcae-version"]),
    ],
)
def test_every_command_has_help(leukoflag: Runner, argv: list[str], expected: list[str]) -> None:
    done = leukoflag(*argv)
    assert done.returncode == 0
    text = done.stdout.decode()
    assert all(word in text for word in expected)


@pytest.mark.parametrize("command", ["convert", "explain"])
def test_help_lists_every_exit_status_of_the_docs(leukoflag: Runner, command: str) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    table = docs.split("### Exit status", 1)[1].split("\n\n")[1]
    statuses = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
    assert statuses == ["0", "1", "2", "129", "130", "143"]
    help_text = " ".join(leukoflag(command, "--help").stdout.decode().split())
    assert all(f" {status} " in help_text for status in statuses), help_text


def test_explain_help_says_directories_are_read(leukoflag: Runner) -> None:
    assert "file, directory or -" in leukoflag("explain", "--help").stdout.decode()


def test_no_command_prints_help_and_exits_2(leukoflag: Runner) -> None:
    done = leukoflag()
    assert done.returncode == 2
    assert b"convert" in done.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["convert", "--jobs", "many", "in.hl7"], "--jobs"),
        (["convert", "--jobs", "-1", "in.hl7"], "--jobs"),
        (["convert", "--fhir-version", "R3", "in.hl7"], "--fhir-version"),
        (["convert", "--no-such-option", "in.hl7"], "--no-such-option"),
        (["convert"], "INPUT"),
        (["explain"], "FILE"),
    ],
)
def test_usage_error_is_one_line_with_exit_2(
    leukoflag: Runner, argv: list[str], message: str
) -> None:
    done = leukoflag(*argv)
    assert done.returncode == 2
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1
    assert message in lines[0]
    assert done.stdout == b""


@pytest.mark.parametrize("command", ["convert", "explain"])
def test_an_option_the_command_does_not_know_points_at_its_own_help(
    leukoflag: Runner, command: str
) -> None:
    # `--jobs` is an option of convert only: explain's error must send the reader to explain's help
    done = leukoflag(command, "in.hl7", "--no-such-option", "--jobs", "2")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        f"leukoflag {command}: error: unrecognized arguments: --no-such-option"
        + (" --jobs 2" if command == "explain" else "")
        + f" (see leukoflag {command} --help)"
    ]
    assert done.stdout == b""


def _one_line_error(done: subprocess.CompletedProcess[bytes]) -> str:
    assert done.returncode == 2
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    assert lines[0].startswith("leukoflag: ")
    return lines[0]


def test_missing_input_is_an_io_error(leukoflag: Runner, tmp_path: Path) -> None:
    line = _one_line_error(leukoflag("convert", "nowhere/feed.hl7", "-o", "out"))
    assert "no such file or directory: nowhere/feed.hl7" in line
    assert not (tmp_path / "out").exists()


def test_output_that_is_a_file_is_an_io_error(leukoflag: Runner, tmp_path: Path) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    (tmp_path / "out").write_text("not a directory")
    line = _one_line_error(leukoflag("convert", "in.hl7", "-o", "out"))
    assert "out" in line
    assert "not a directory" in line


def test_a_report_that_cannot_be_placed_leaves_no_output_directory_behind(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # the nightly job's -o directory was created before the --report check failed: an empty
    # out/2026-11-24 was left for the loader to find, and the error said 'cannot create
    # reports: File exists' of a name that is a file, not a directory to create
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    (tmp_path / "reports").write_text("a file where the reports directory belongs")
    line = _one_line_error(
        leukoflag("convert", "in.hl7", "-o", "out/2026-11-24", "--report", "reports/r.json")
    )
    assert line == (
        "leukoflag: --report reports/r.json: cannot create reports: reports is not a directory"
    )
    assert not (tmp_path / "out").exists()


def test_an_output_directory_that_cannot_be_made_leaves_no_report_directory_behind(
    leukoflag: Runner, tmp_path: Path
) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    (tmp_path / "out").write_text("a file where the output directory belongs")
    line = _one_line_error(
        leukoflag("convert", "in.hl7", "-o", "out/2026-11-24", "--report", "reports/r.json")
    )
    assert (
        line == "leukoflag: -o out/2026-11-24: cannot create out/2026-11-24: out is not a directory"
    )
    assert not (tmp_path / "reports").exists()


def test_unwritable_output_directory_is_an_io_error(leukoflag: Runner, tmp_path: Path) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        probe = locked / "probe"
        try:
            probe.mkdir()
        except PermissionError:
            pass
        else:  # running as root: permissions do not stop writes
            pytest.skip("permissions are not enforced for this user")
        line = _one_line_error(leukoflag("convert", "in.hl7", "-o", locked / "out"))
        assert "cannot create" in line or "not writable" in line
    finally:
        locked.chmod(0o700)


def test_output_under_a_file_is_an_io_error(leukoflag: Runner, tmp_path: Path) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    (tmp_path / "plain").write_text("a file")
    line = _one_line_error(leukoflag("convert", "in.hl7", "-o", "plain/out"))
    assert "plain/out" in line


def test_a_report_named_as_a_directory_that_is_not_there_is_a_usage_error(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # '--report reports/' (a directory, by its slash) wrote the report as a file named 'reports'
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    line = _one_line_error(leukoflag("convert", "in.hl7", "-o", "out", "--report", "reports/"))
    assert line == (
        "leukoflag: --report reports/: names a directory (it ends with /): name the report "
        "file, e.g. reports/report.json"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.hl7"]


@pytest.mark.parametrize("named", ["reports/.", "reports/.."])
def test_a_report_named_as_a_directory_by_a_dot_is_a_usage_error_before_any_output(
    leukoflag: Runner, tmp_path: Path, named: str
) -> None:
    # '--report reports/.' wrote the report as a file named 'reports' (Path drops the '.'), and
    # '--report reports/..' converted every message, then stopped 'Is a directory: reports/..'
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    line = _one_line_error(leukoflag("convert", "in.hl7", "-o", "out", "--report", named))
    assert line == (
        f"leukoflag: --report {named}: names a directory (it ends with {named[7:]}): name the "
        f"report file, e.g. {named}/report.json"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.hl7"]


def test_report_that_is_a_directory_is_an_io_error(leukoflag: Runner, tmp_path: Path) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    (tmp_path / "report.json").mkdir()
    line = _one_line_error(leukoflag("convert", "in.hl7", "--report", "report.json"))
    assert "--report report.json: is a directory" in line


@pytest.mark.parametrize(
    ("option", "word"),
    [
        (["--timezone", "Mars/Olympus_Mons"], "default_timezone"),
        (["--fallback-charset", "no-such-codec"], "fallback_charset"),
        (["--fallback-charset", "rot13"], "fallback_charset"),
        # longer than a file name may be: was 'File name too long: …/tzdata/zoneinfo/…'
        (["--timezone", "America/" + "Chicago" * 40], "default_timezone: unknown IANA zone"),
        # bytes of no UTF-8 in the argument (surrogates in argv): was a traceback
        (["--fallback-charset", "cp1252\udced\udca0\udc80"], "fallback_charset: unknown codec"),
        (["--critical-low", "plt=50"], "critical_low"),
        (["--critical-low", "anc"], "--critical-low"),
        (["--critical-low", "anc=lots"], "--critical-low"),
    ],
)
def test_bad_setting_is_one_line_with_exit_2(
    leukoflag: Runner, tmp_path: Path, option: list[str], word: str
) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    line = _one_line_error(leukoflag("convert", "in.hl7", *option))
    assert word in line


@pytest.mark.parametrize(
    ("limit", "says"),
    [
        ("anc=-1", "critical_low['anc']: must be ≥ 0 cells/µL: '-1'"),
        ("wbc=1e9", "critical_low['wbc']: must be at most 1,000,000 cells/µL"),
        ("wbc=NaN", "critical_low['wbc']: not a finite number: 'NaN'"),
        ("wbc=8000", "critical_low['wbc']: '8000' cells/µL is not a critical limit"),
    ],
)
def test_a_critical_low_out_of_range_is_quoted_as_typed(
    leukoflag: Runner, tmp_path: Path, limit: str, says: str
) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    line = _one_line_error(leukoflag("convert", "in.hl7", "--critical-low", limit))
    assert says in line
    assert "Decimal(" not in line
    assert limit.partition("=")[2] in line


@pytest.mark.parametrize(
    ("command", "options", "says"),
    [
        (
            "convert",
            ["--timezone", "America/Chicago", "--timezone", "Europe/Berlin"],
            (
                "leukoflag convert: error: --timezone given twice with different values "
                "(--timezone America/Chicago, then --timezone Europe/Berlin): give it once "
                "(see leukoflag convert --help)"
            ),
        ),
        (
            "convert",
            ["-o", "out", "--output", "elsewhere"],
            (
                "leukoflag convert: error: --output given twice with different values "
                "(-o out, then --output elsewhere): give it once (see leukoflag convert --help)"
            ),
        ),
        (
            "explain",
            ["--fhir-version", "R4", "--fhir-version", "R5"],
            (
                "leukoflag explain: error: --fhir-version given twice with different values "
                "(--fhir-version R4, then --fhir-version R5): give it once "
                "(see leukoflag explain --help)"
            ),
        ),
        (
            "convert",
            ["--critical-low", "anc=500", "--critical-low", "ANC=200"],
            (
                "leukoflag: --critical-low given twice for anc with different limits (500, then "
                "200): give it once"
            ),
        ),
    ],
)
def test_an_option_given_twice_with_different_values_is_a_usage_error_not_the_last_kept(
    leukoflag: Runner, tmp_path: Path, command: str, options: list[str], says: str
) -> None:
    # a wrapper script's option and the operator's own: which one was meant cannot be told
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    done = leukoflag(command, "in.hl7", *options)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [says]
    assert done.stdout == b""
    assert not (tmp_path / "out").exists()


def test_an_option_given_twice_with_the_same_value_is_taken_once(
    leukoflag: Runner, tmp_path: Path
) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    done = leukoflag(
        "convert",
        "in.hl7",
        "--fhir-version",
        "R5",
        "--fhir-version",
        "R5",
        "--critical-low",
        "anc=500",
        "--critical-low",
        "anc=5e2",
        "--report",
        "-",
        "-o",
        "out",
    )
    assert done.returncode == 0, done.stderr
    settings = json.loads(done.stdout)["settings"]
    assert (settings["fhir_version"], settings["critical_low"]["anc"]) == ("R5", 500)


@pytest.mark.parametrize(
    "options",
    [
        ["-o", "out", "-o", "out/"],
        ["-o", "out", "--output", "./out"],
        ["-o", "out", "--report", "r.json", "--report", "./r.json"],
    ],
)
def test_a_path_option_given_twice_naming_the_same_place_is_taken_once(
    leukoflag: Runner, tmp_path: Path, options: list[str]
) -> None:
    # a wrapper script's `-o "$OUT"` (OUT=out/) and the operator's `-o out`: the same directory,
    # refused as 'given twice with different values (-o out, then -o out/)'
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    done = leukoflag("convert", "in.hl7", *options, "-q")
    assert (done.returncode, done.stderr) == (0, b"")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["in.hl7.1.json"]
    assert ("r.json" in options) == (tmp_path / "r.json").is_file()


def test_empty_directory_is_a_usage_error(leukoflag: Runner, tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    line = _one_line_error(leukoflag("convert", "feeds"))
    assert "no input files found in feeds" in line


@pytest.mark.parametrize("command", ["convert", "explain"])
def test_an_empty_input_name_is_a_usage_error_not_the_working_directory(
    leukoflag: Runner, tmp_path: Path, command: str
) -> None:
    # `leukoflag convert "$INBOX" -o out` with INBOX unset: Path("") is ".", so every file of
    # the working directory (last night's outputs, the scripts) was converted as input
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    (tmp_path / "notes.txt").write_text("handover notes")
    done = leukoflag(command, "", *(["-o", "out"] if command == "convert" else []))
    assert _one_line_error(done) == (
        "leukoflag: an input name is empty (an unset variable?): name a file, a directory or -"
    )
    assert done.stdout == b""
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", ["-o", "--report"])
def test_an_empty_output_or_report_name_is_a_usage_error(
    leukoflag: Runner, tmp_path: Path, option: str
) -> None:
    # `-o "$OUT"` with OUT unset wrote every Bundle to stdout (into the job's log) and no file;
    # `--report "$REPORT"` wrote no report, both with status 0
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    extra = ["-o", "out"] if option == "--report" else []
    done = leukoflag("convert", "in.hl7", *extra, option, "")
    assert _one_line_error(done) == f"leukoflag: {option}: the name is empty (an unset variable?)"
    assert done.stdout == b""
    assert not (tmp_path / "out").exists()


def test_stdin_named_twice_is_a_usage_error(leukoflag: Runner) -> None:
    line = _one_line_error(leukoflag("convert", "-", "-"))
    assert "stdin" in line


def test_a_file_where_the_rejected_directory_belongs_is_one_clear_line_before_any_output(
    leukoflag: Runner, tmp_path: Path
) -> None:
    (tmp_path / "day.hl7").write_bytes(oru("C-1") + b"2026-11-24 09:30:01 INFO not a message\r")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "rejected").write_text("a file where the rejected directory belongs")
    line = _one_line_error(leukoflag("convert", "day.hl7", "-o", "out", "--report", "r.json"))
    assert line == (
        "leukoflag: -o out: out/rejected is not a directory, where rejected items go: move it "
        "away or write to another directory"
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["rejected"]
    assert not (tmp_path / "r.json").exists()  # no report for a run that did not finish


def test_a_read_only_rejected_directory_is_one_clear_line_before_any_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # rejected/ left read-only by another account's replay job: the run converted and wrote the
    # first message, then stopped at the second, cut short, with 'Permission denied:
    # out/rejected/day.hl7.2.hl7' (status 2), half its work done and to be done again
    monkeypatch.chdir(tmp_path)
    cut = oru("C-2")[: oru("C-2").rindex(b"|F|||")]
    (tmp_path / "day.hl7").write_bytes(oru("C-1") + cut)
    rejected = tmp_path / "out" / "rejected"
    rejected.mkdir(parents=True)
    rejected.chmod(0o555)
    access = os.access

    def refused(path: str | os.PathLike[str], mode: int, **kwargs: Any) -> bool:
        # root writes in any directory: the refusal a user or a read-only mount meets is simulated
        if Path(path).absolute() == rejected and mode & os.W_OK:
            return False
        return access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", refused)
    try:
        status = main(["convert", "day.hl7", "-o", "out", "--report", "r.json", "-q"])
    finally:
        rejected.chmod(0o755)
    assert status == 2
    assert capsys.readouterr().err == (
        "leukoflag: -o out: out/rejected is not writable, where rejected items go: make it "
        "writable or write to another directory\n"
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["rejected"]
    assert not list(rejected.iterdir())
    assert not (tmp_path / "r.json").exists()


def test_write_error_during_the_run_is_one_line_with_exit_2(
    leukoflag: Runner, tmp_path: Path
) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    (tmp_path / "out" / "in.hl7.1.json").mkdir(parents=True)  # where the output file goes
    line = _one_line_error(leukoflag("convert", "in.hl7", "-o", "out", "--report", "r.json"))
    assert "out/in.hl7.1.json" in line
    assert not (tmp_path / "r.json").exists()  # no report for a run that did not finish


def _with_closed(descriptor: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``leukoflag ARGS`` started with stdout (``1``) or stderr (``2``) closed, as a daemon
    or an interface engine may start it."""
    return subprocess.run(
        ["sh", "-c", f'exec "$0" -m leukoflag "$@" {descriptor}>&-', sys.executable, *args],
        capture_output=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("command", "what"),
    [("convert", "the NDJSON (use -o DIR)"), ("explain", "the explanation")],
)
def test_closed_stdout_is_one_line_with_exit_2(command: str, what: str, tmp_path: Path) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    done = _with_closed("1", tmp_path, command, "in.hl7")
    assert done.returncode == 2, done.stderr
    assert done.stderr.decode().splitlines() == [
        f"leukoflag: stdout is closed: nowhere to write {what}"
    ]


def test_closed_stdout_does_not_matter_with_an_output_directory(tmp_path: Path) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    done = _with_closed("1", tmp_path, "convert", "in.hl7", "-o", "out")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "in.hl7.1.json").is_file()


def test_closed_stderr_keeps_the_exit_status(tmp_path: Path) -> None:
    (tmp_path / "in.hl7").write_bytes(oru("C-1"))
    (tmp_path / "engine.log").write_text("2026-11-24 09:30:01 INFO not a message\n")
    assert _with_closed("2", tmp_path, "convert", "in.hl7", "-o", "out").returncode == 0
    assert _with_closed("2", tmp_path, "convert", "engine.log", "-o", "out").returncode == 1
    assert (tmp_path / "out" / "in.hl7.1.json").is_file()


@pytest.mark.parametrize("command", ["convert", "explain"])
def test_every_option_of_the_help_is_in_the_docs(command: str) -> None:
    # docs/cli.md named -o, --jobs and --quiet but not their other spellings (--output, -j, -q)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    commands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    options = {
        option
        for action in commands.choices[command]._actions
        for option in action.option_strings
        if option not in {"-h", "--help"}
    }
    assert {option for option in options if f"`{option}" not in docs} == set()
