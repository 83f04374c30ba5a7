"""Input expansion: order, recursion, skipped files, output names."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from leukoflag.cli import main
from leukoflag.cli._inputs import UsageError, expand_inputs

from .messages import oru


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"MSH|^~\\&|\r")


def test_directory_is_read_recursively_in_sorted_path_order(tmp_path: Path) -> None:
    _touch(tmp_path, "feed/b.hl7", "feed/a/z.hl7", "feed/a-b.hl7", "feed/A.hl7", "feed/c/d/e.hl7")
    inputs = expand_inputs([os.fspath(tmp_path / "feed")])
    relative = [Path(item.source).relative_to(tmp_path / "feed").as_posix() for item in inputs]
    assert relative == ["A.hl7", "a/z.hl7", "a-b.hl7", "b.hl7", "c/d/e.hl7"]


def test_a_name_that_is_not_utf8_is_sorted_by_its_bytes(tmp_path: Path) -> None:
    # a Latin-1 name from an old share ('\x80' alone, not UTF-8) and a UTF-8 name ('é', bytes
    # C3 A9): the names were compared as Python strings, where the byte 0x80 kept as U+DC80
    # (PEP 383) sorts after 'é' (U+00E9), though docs/cli.md says byte order (0x80 before 0xC3)
    feed = tmp_path / "feed"
    feed.mkdir()
    for name in (b"\xc3\xa9-utf8.hl7", b"\x80-latin.hl7", b"z.hl7"):
        Path(os.fsdecode(os.fsencode(feed) + b"/" + name)).write_bytes(b"MSH|^~\\&|\r")
    inputs = expand_inputs([os.fspath(feed)])
    assert [os.fsencode(item.name) for item in inputs] == [
        b"z.hl7",
        b"\x80-latin.hl7",
        b"\xc3\xa9-utf8.hl7",
    ]


def test_hidden_files_and_rejection_records_are_skipped_in_directories(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "feed/.gitattributes",
        "feed/.cache/x.hl7",
        "feed/rejected/in.hl7.2.hl7",
        "feed/rejected/in.hl7.2.reason.json",
        "feed/ok.json",
    )
    names = [Path(item.source).name for item in expand_inputs([os.fspath(tmp_path / "feed")])]
    assert names == ["ok.json", "in.hl7.2.hl7"]


def test_a_broken_link_in_a_directory_is_a_missing_input(tmp_path: Path) -> None:
    # it was skipped silently: the file an operator linked into the feed never reached the EHR
    _touch(tmp_path, "feed/a.hl7")
    (tmp_path / "feed/b.hl7").symlink_to(tmp_path / "moved-away/b.hl7")
    with pytest.raises(UsageError, match=r"broken symbolic link: .*feed/b\.hl7 -> .*moved-away"):
        expand_inputs([os.fspath(tmp_path / "feed")])


def test_links_to_files_are_read_and_links_to_directories_not_followed(tmp_path: Path) -> None:
    _touch(tmp_path, "archive/old.hl7", "feed/a.hl7", "elsewhere/c.hl7")
    (tmp_path / "feed/c.hl7").symlink_to(tmp_path / "elsewhere/c.hl7")
    (tmp_path / "feed/archive").symlink_to(tmp_path / "archive", target_is_directory=True)
    names = [Path(item.source).name for item in expand_inputs([os.fspath(tmp_path / "feed")])]
    assert names == ["a.hl7", "c.hl7"]


def test_a_file_named_explicitly_is_always_read(tmp_path: Path) -> None:
    _touch(tmp_path, ".hidden.hl7", "x.reason.json")
    inputs = expand_inputs(
        [os.fspath(tmp_path / ".hidden.hl7"), os.fspath(tmp_path / "x.reason.json")]
    )
    assert [Path(item.source).name for item in inputs] == [".hidden.hl7", "x.reason.json"]
    # the output files of a hidden input are not hidden (a replay of rejected/ would skip them)
    assert [item.name for item in inputs] == ["_.hidden.hl7", "x.reason.json"]


def test_output_directory_inside_an_input_directory_is_not_read(tmp_path: Path) -> None:
    _touch(tmp_path, "feed/in.hl7", "feed/out/in.hl7.1.json")
    inputs = expand_inputs([os.fspath(tmp_path / "feed")], exclude=tmp_path / "feed" / "out")
    assert [item.name for item in inputs] == ["in.hl7"]


def test_output_directory_that_is_an_input_directory_is_a_usage_error(tmp_path: Path) -> None:
    # `convert inbox -o inbox`: the next run would convert this run's outputs as new input
    _touch(tmp_path, "inbox/in.hl7", "inbox/in.hl7.1.json")
    with pytest.raises(UsageError, match="inbox is both an input and the output directory"):
        expand_inputs([os.fspath(tmp_path / "inbox")], exclude=tmp_path / "inbox" / ".." / "inbox")


def test_same_file_named_twice_is_read_once(tmp_path: Path) -> None:
    _touch(tmp_path, "feed/in.hl7")
    inputs = expand_inputs(
        [
            os.fspath(tmp_path / "feed/in.hl7"),
            os.fspath(tmp_path / "feed"),
            os.fspath(tmp_path / "feed/../feed/in.hl7"),
        ]
    )
    assert len(inputs) == 1


def test_same_file_names_in_different_directories_get_distinct_output_names(
    tmp_path: Path,
) -> None:
    _touch(tmp_path, "site-a/results.hl7", "site-b/results.hl7", "site-c/RESULTS.hl7")
    inputs = expand_inputs([os.fspath(tmp_path / d) for d in ("site-a", "site-b", "site-c")])
    assert [item.name for item in inputs] == ["results.hl7", "results.hl7~2", "RESULTS.hl7~3"]
    assert [Path(item.source).parent.name for item in inputs] == ["site-a", "site-b", "site-c"]


def test_names_differing_only_in_unicode_normalization_get_distinct_output_names(
    tmp_path: Path,
) -> None:
    # résultats.hl7 from a Linux share (é one character, NFC) and from a Mac (e and a combining
    # accent, NFD) are one name on macOS: the second run's outputs replaced the first's.
    composed, decomposed = "r\u00e9sultats.hl7", "re\u0301sultats.hl7"
    _touch(tmp_path, f"site-a/{composed}", f"site-b/{decomposed}")
    inputs = expand_inputs([os.fspath(tmp_path / d) for d in ("site-a", "site-b")])
    assert [item.name for item in inputs] == [composed, f"{decomposed}~2"]


def test_stdin_is_named_stdin(tmp_path: Path) -> None:
    _touch(tmp_path, "stdin")
    inputs = expand_inputs(["-", os.fspath(tmp_path / "stdin")])
    assert (inputs[0].source, inputs[0].name, inputs[0].path) == ("<stdin>", "stdin", None)
    assert inputs[1].name == "stdin~2"


def test_sizes_are_known_for_files(tmp_path: Path) -> None:
    (tmp_path / "in.hl7").write_bytes(b"x" * 123)
    assert expand_inputs([os.fspath(tmp_path / "in.hl7")])[0].size == 123


def test_missing_path_raises_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or directory"):
        expand_inputs([os.fspath(tmp_path / "absent.hl7")])


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")
def test_a_socket_named_as_input_stops_the_command_before_anything_is_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an interface engine's listening socket, typed by mistake after a file
    monkeypatch.chdir(tmp_path)  # a socket's path is limited to about 100 bytes
    (tmp_path / "feed.hl7").write_bytes(oru("SK-0001"))
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind("engine.sock")

        status = main(["convert", "feed.hl7", "engine.sock", "-o", "out", "-q"])

    assert status == 2
    assert capsys.readouterr().err == (
        "leukoflag: cannot read engine.sock: a socket, not a file (pipe what it sends into "
        "leukoflag convert -)\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_directory_that_cannot_be_listed_stops_the_command_before_anything_is_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a night's subdirectory the interface engine left mode 700 under another account: its
    # messages were skipped without a word (status 0), as os.walk passes over what it cannot list
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inbox/ward-4").mkdir(parents=True)
    (tmp_path / "inbox/ward-4/night.hl7").write_bytes(oru("LK-0001"))
    (tmp_path / "inbox/ward-7").mkdir()
    (tmp_path / "inbox/ward-7/night.hl7").write_bytes(oru("LK-0002"))
    locked = os.path.join("inbox", "ward-4")
    listing = os.scandir

    def scandir(path: str) -> object:  # root lists any directory: the refusal is simulated
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)

    status = main(["convert", "inbox", "-o", "out", "-q"])

    assert status == 2
    assert capsys.readouterr().err == "leukoflag: cannot read inbox/ward-4: Permission denied\n"
    assert not (tmp_path / "out").exists()


def test_an_input_directory_that_cannot_be_listed_is_named_as_unreadable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # it said 'no input files found in inbox', as if the inbox were empty
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox/night.hl7").write_bytes(oru("LK-0003"))
    listing = os.scandir
    inbox = os.fspath(tmp_path / "inbox")

    def scandir(path: str) -> object:
        if os.fspath(path) == inbox:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(UsageError, match=r"^cannot read .*inbox: Permission denied$"):
        expand_inputs([inbox])


def test_a_symbolic_link_loop_is_named_as_a_loop_not_as_missing(tmp_path: Path) -> None:
    # two links left pointing at each other when a feed's files were rotated: 'broken symbolic
    # link: feed/today.hl7 -> yesterday.hl7', or named, 'no such file or directory', sent the
    # operator looking for a file that was never moved
    _touch(tmp_path, "feed/a.hl7")
    (tmp_path / "feed/today.hl7").symlink_to("yesterday.hl7")
    (tmp_path / "feed/yesterday.hl7").symlink_to("today.hl7")
    with pytest.raises(
        UsageError, match=r"^symbolic link loop: .*feed/(today|yesterday)\.hl7 -> \w+\.hl7$"
    ):
        expand_inputs([os.fspath(tmp_path / "feed")])
    with pytest.raises(
        UsageError, match=r"^symbolic link loop: .*feed/yesterday\.hl7 -> today\.hl7$"
    ):
        expand_inputs([os.fspath(tmp_path / "feed/yesterday.hl7")])
