"""The pytest plugin, run as users run it: a test file in a separate pytest process."""

from __future__ import annotations

import ast
import functools
import inspect
import re
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from typing import get_type_hints

import pytest

import leukoflag.testing as toolkit
from leukoflag.settings import Settings
from leukoflag.testing import builders, plugin

pytest_plugins = ["pytester"]

# A pipeline team's tests of their feed: their lab sends WBC under its local code "WBCC" in
# "K/uL"; the EHR must get L and 3,200 cells/µL.
TEAM_TESTS = """
    from leukoflag.testing import (
        assert_count_per_ul,
        assert_flagged,
        assert_no_data_loss,
        assert_not_flagged,
        assert_valid_fhir,
        local_code,
    )

    LAB_WBC = local_code("WBCC", "White Cell Count", "99CITY")


    def test_low_wbc_reaches_the_ehr_flagged(hl7_message_builder, leukoflag_convert):
        b = hl7_message_builder
        message = b.oru_message(results=[b.wbc(3.2, "K/uL", code=LAB_WBC)])
        conversion = leukoflag_convert(message)
        assert_no_data_loss(conversion)
        assert_flagged(conversion, "L", analyte="wbc")
        assert_count_per_ul(conversion, 3200, code="WBCC")
        assert_valid_fhir(conversion)


    def test_urine_wbc_is_not_flagged(hl7_message_builder, leukoflag_convert):
        b = hl7_message_builder
        conversion = leukoflag_convert(b.oru_message(results=[b.wbc(3.2)], specimen="urine"))
        assert_not_flagged(conversion, analyte="wbc")


    def test_fhir_input_over_mllp_and_r5(hl7_message_builder, leukoflag_convert):
        b = hl7_message_builder
        framed = b.to_mllp(b.oru_message(results=[b.anc(1.2)]))
        assert_flagged(leukoflag_convert(framed, fhir_version="R5"), "L", analyte="anc")
        assert_flagged(leukoflag_convert(b.observation(b.anc(0.3, flag="LL"))), "LL")
"""

FAILING_TESTS = """
    from leukoflag.testing import (
        assert_count_per_ul,
        assert_flagged,
        assert_no_data_loss,
        oru_message,
        wbc,
    )


    def test_wrong_code(leukoflag_convert):
        assert_flagged(leukoflag_convert(oru_message(results=[wbc(3.2)])), "LL", analyte="wbc")


    def test_wrong_count(leukoflag_convert):
        assert_count_per_ul(leukoflag_convert(oru_message(results=[wbc(3.2)])), 3000)


    def test_urine_is_not_flagged(leukoflag_convert):
        conversion = leukoflag_convert(oru_message(results=[wbc(3.2)], specimen="urine"))
        assert_flagged(conversion, "L", analyte="wbc")


    def test_rejected_message(leukoflag_convert):
        assert_no_data_loss(leukoflag_convert("MSH|^~\\\\&|LAB"))
"""


@pytest.fixture(autouse=True)
def _plugins_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    # the plugin under test is loaded from its entry point, as in a user's environment
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("PYTEST_PLUGINS", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)


def test_the_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    # named leukoflag (-p no:leukoflag); its module holds the plugin's fixtures, and is not the
    # plugin module a conftest may name too (one module under two names stops pytest)
    (found,) = [ep for ep in entry_points(group="pytest11") if ep.name == "leukoflag"]
    loaded = found.load()
    assert found.value != "leukoflag.testing.plugin"
    assert {name: getattr(loaded, name) for name in loaded.__all__} == {
        name: getattr(plugin, name) for name in plugin.__all__
    }


def test_a_team_can_test_its_feed_with_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_feed=textwrap.dedent(TEAM_TESTS))
    run = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")
    run.assert_outcomes(passed=3)


def test_failures_say_what_was_expected_what_was_found_and_where(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_feed=textwrap.dedent(FAILING_TESTS))
    run = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")
    run.assert_outcomes(failed=4)
    run.stdout.fnmatch_lines(
        [
            "*_ test_wrong_code _*",
            "E * AssertionError: expected interpretation 'LL' on analyte='wbc', found:",
            (
                'E *- Observation * (LOINC 6690-2 "Leukocytes *") at bundles[[]0[]].entry[[]5[]]:'
                " flagged L by rule wbc-leukopenia-adult, value 3200 cells/µL;"
                " the sender's flag is L"
            ),
            "*_ test_wrong_count _*",
            (
                "E * AssertionError: Observation * (LOINC 6690-2 *) at bundles[[]0[]].entry[[]5[]]:"
                " expected 3000 cells/µL, found 3200 cells/µL"
            ),
            "*_ test_urine_is_not_flagged _*",
            "E * not flagged by leukoflag (value 3.2 10*9/L); the sender's flag is L",
            "E *Issues leukoflag reported:",
            "E *- flag.specimen-not-blood (information) at MSG[[]1[]]/OBX[[]1[]]: *",
            "*_ test_rejected_message _*",
            "E * AssertionError: data lost in conversion:",
            "E *- rejected MSG[[]1[]] of <test>: truncated*",
        ]
    )
    # the failure points at the test's own line, not into leukoflag's assertion code
    run.stdout.no_fnmatch_line("*def assert_*")
    run.stdout.fnmatch_lines(["test_feed.py:*: AssertionError"])


def test_a_failure_shown_with_its_locals_keeps_the_patient_out_and_is_short(
    pytester: pytest.Pytester,
) -> None:
    # CI runs `pytest -l`: the conversion leukoflag_convert returned was shown as its dataclass
    # repr, every Bundle with the Patient's name and MRN and the input bytes, hundreds of lines
    pytester.makepyfile(
        test_feed=textwrap.dedent(
            """
            from leukoflag.testing import assert_flagged, oru_message, patient, wbc

            def test_wrong_code(leukoflag_convert):
                conversion = leukoflag_convert(
                    oru_message(patient(family="Castellanos"), results=[wbc(3.2)])
                )
                assert_flagged(conversion, "LL", analyte="wbc")
            """
        )
    )
    run = pytester.runpytest_subprocess("-l", "-vv", "-W", "error", "-p", "no:cacheprovider")
    run.assert_outcomes(failed=1)
    run.stdout.fnmatch_lines(
        [
            (
                "conversion = RecordedConversion(bundles=<1 output>, findings=<1 finding>, "
                "issues=<0 issues>, rejected=<0 rejected items>, fhir_version='R4')"
            )
        ]
    )
    run.stdout.no_fnmatch_line("*'family': 'Castellanos'*")  # the Patient of the Bundle
    run.stdout.no_fnmatch_line("*data=b'MSH*")  # the message itself


def test_settings_fixture_can_be_overridden_and_overrides_apply_per_call(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        import pytest
        from leukoflag import Settings

        @pytest.fixture
        def leukoflag_settings():
            return Settings(fhir_version="R5", range_policy="default")
        """
    )
    pytester.makepyfile(
        test_settings="""
        import pytest
        from leukoflag import Settings, SettingsError
        from leukoflag.testing import assert_flagged, oru_message, wbc

        def test_project_settings(leukoflag_convert):
            conversion = leukoflag_convert(oru_message(results=[wbc(4.2)]))
            assert conversion.settings.fhir_version == "R5"
            assert conversion.settings.strict is False
            assert_flagged(conversion, "L", analyte="wbc")  # default range 4,500-11,000

        def test_per_call_override(leukoflag_convert):
            conversion = leukoflag_convert(oru_message(results=[wbc(4.2)]), range_policy="lab")
            assert conversion.settings.fhir_version == "R5"
            assert_flagged(conversion, "N", analyte="wbc")  # the lab's range 4.0-11.0

        def test_bad_override(leukoflag_convert):
            with pytest.raises(TypeError, match="unknown setting"):
                leukoflag_convert(oru_message(), stirct=True)
            with pytest.raises(SettingsError):
                leukoflag_convert(oru_message(), fhir_version="R6")

        def test_a_settings_object_says_how_to_change_settings(leukoflag_convert):
            says = "leukoflag_convert: change settings by keyword"
            # Python said "convert_message() got multiple values for argument 'settings'"
            with pytest.raises(TypeError, match=says):
                leukoflag_convert(oru_message(), settings=Settings(strict=True))
            # and "convert() takes 1 positional argument but 2 were given"
            with pytest.raises(TypeError, match=says):
                leukoflag_convert(oru_message(), Settings(strict=True))
        """
    )
    run = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")
    run.assert_outcomes(passed=4)


def test_settings_fixture_returning_a_dict_is_named_in_the_error(
    pytester: pytest.Pytester,
) -> None:
    # a conftest returning the settings as a dict: with a per-call override the test failed
    # with dataclasses' 'replace() should be called on dataclass instances'
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def leukoflag_settings():
            return {"strict": True, "default_timezone": "America/Chicago"}
        """
    )
    pytester.makepyfile(
        test_settings="""
        import pytest
        from leukoflag.testing import oru_message

        @pytest.mark.parametrize("overrides", [{}, {"fhir_version": "R5"}])
        def test_dict_settings(leukoflag_convert, overrides):
            with pytest.raises(TypeError) as raised:
                leukoflag_convert(oru_message(), **overrides)
            assert "settings must be a leukoflag.Settings" in str(raised.value)
            assert "leukoflag_settings fixture" in str(raised.value)
            assert "not dict" in str(raised.value)
        """
    )
    run = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")
    run.assert_outcomes(passed=2)


def test_default_settings_are_strict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_strict="""
        def test_strict(leukoflag_settings, hl7_message_builder):
            from leukoflag.testing import builders
            assert leukoflag_settings.strict is True
            assert hl7_message_builder is builders
        """
    )
    pytester.runpytest_subprocess("-W", "error").assert_outcomes(passed=1)


def test_tests_that_do_not_use_the_plugin_are_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_other="""
        import sys

        def test_plugin_loaded_but_nothing_heavy():
            assert "leukoflag.testing.plugin" in sys.modules
            heavy = {"pint", "hl7apy", "fhir", "fhir_core", "pydantic"}
            assert not heavy & {name.split(".")[0] for name in sys.modules}

        def test_plain():
            assert 1 + 1 == 2
        """
    )
    run = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")
    run.assert_outcomes(passed=2)
    # pytest lists the plugin; the plugin itself prints nothing (no header, no summary)
    assert [line for line in run.outlines if "leukoflag" in line] == [
        next(line for line in run.outlines if line.startswith("plugins:"))
    ]


def test_the_plugin_can_be_disabled_by_its_entry_point_name(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_feed="def test_needs(leukoflag_convert):\n    pass\n")
    run = pytester.runpytest_subprocess("-p", "no:leukoflag")
    run.assert_outcomes(errors=1)
    run.stdout.fnmatch_lines(["*fixture 'leukoflag_convert' not found*"])


@pytest.mark.parametrize(
    "how",
    ["conftest", "command line", "conftest without autoload"],
)
def test_the_plugin_module_named_beside_the_entry_point_loads_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    # a team that names the plugin module (conftest pytest_plugins, -p), as CI without plugin
    # autoload needs, runs the same tests where the entry point loads it too
    pytester.makepyfile(
        test_feed="""
        from leukoflag.testing import assert_flagged, oru_message, wbc

        def test_low_wbc(leukoflag_convert):
            assert_flagged(leukoflag_convert(oru_message(results=[wbc(3.2)])), "L")

        def test_the_conftest_settings_apply(leukoflag_convert):
            assert leukoflag_convert(b"").settings.default_timezone == "America/Chicago"
        """
    )
    pytester.makeconftest(
        """
        import pytest
        from leukoflag import Settings

        @pytest.fixture
        def leukoflag_settings():
            return Settings(strict=True, default_timezone="America/Chicago")
        """
        + ('pytest_plugins = ["leukoflag.testing.plugin"]\n' if how != "command line" else "")
    )
    options = ["-p", "leukoflag.testing.plugin"] if how == "command line" else []
    if how == "conftest without autoload":
        monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    run = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider", *options)
    run.assert_outcomes(passed=2)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_builders_and_assertions_work_without_pytest() -> None:
    run = _python(
        """
        import sys

        class NoPytest:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("pytest", "_pytest"):
                    raise ImportError(f"pytest is not installed here: {name}")
                return None

        sys.meta_path.insert(0, NoPytest())
        from leukoflag.testing import (
            assert_count_per_ul, assert_flagged, convert_message, oru_message, wbc,
        )
        conversion = convert_message(oru_message(results=[wbc(3.2)]))
        assert_flagged(conversion, "L")
        assert_count_per_ul(conversion, 3200)
        print("ok", "_pytest" in sys.modules)
        """
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok False"


def test_importing_the_plugin_imports_nothing_but_itself() -> None:
    run = _python(
        """
        import sys
        import leukoflag
        import pytest
        before = set(sys.modules)
        import leukoflag.testing.plugin
        print(sorted(set(sys.modules) - before))
        heavy = {"pint", "hl7apy", "fhir", "fhir_core", "pydantic"}
        print(sorted(heavy & {name.split(".")[0] for name in sys.modules}))
        """
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["['leukoflag.testing', 'leukoflag.testing.plugin']", "[]"]


def test_fixture_namespace_is_the_builders_module(hl7_message_builder: object) -> None:
    # the plugin is active in this very test session too
    assert hl7_message_builder is builders


def _documented_examples() -> dict[str, str]:
    """The files of the worked example in docs/testing.md, by name."""
    docs = Path(__file__).parents[2] / "docs" / "testing.md"
    text = docs.read_text("utf-8")
    found = re.findall(r"<!-- leukoflag-example: (\S+) -->\n```python\n(.*?)```", text, re.S)
    return dict(found)


def test_the_worked_example_of_the_docs_passes(pytester: pytest.Pytester) -> None:
    examples = _documented_examples()
    assert set(examples) == {"conftest.py", "test_riverside_feed.py"}
    for name, source in examples.items():
        pytester.path.joinpath(name).write_text(source, "utf-8")
    run = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")
    run.assert_outcomes(passed=6)


def test_every_public_name_of_the_toolkit_resolves() -> None:
    import leukoflag.testing as toolkit

    assert len(set(toolkit.__all__)) == len(toolkit.__all__)
    for name in toolkit.__all__:
        assert getattr(toolkit, name) is not None
        assert name in dir(toolkit)
    with pytest.raises(AttributeError, match="no attribute 'assert_everything'"):
        _ = toolkit.assert_everything  # type: ignore[attr-defined]  # the missing name under test


def test_every_public_name_of_the_toolkit_is_documented() -> None:
    # a name exported but not on the page is one a user cannot know to import
    text = (Path(__file__).parents[2] / "docs" / "testing.md").read_text("utf-8")
    undocumented = [name for name in toolkit.__all__ if not re.search(rf"`{name}[`(]", text)]
    assert undocumented == []


def test_the_types_of_the_toolkits_signatures_are_exported() -> None:
    # mypy --strict users annotate their own helpers with them
    import leukoflag.testing as toolkit

    assertions = (
        toolkit.assert_flagged,
        toolkit.assert_not_flagged,
        toolkit.assert_count_per_ul,
        toolkit.assert_valid_fhir,
        toolkit.find_observations,
    )
    for assertion in assertions:
        assert get_type_hints(assertion)["output"] == toolkit.Output
    assert get_type_hints(toolkit.convert_message)["message"] == toolkit.Convertible
    assert get_type_hints(toolkit.convert_message)["return"] is toolkit.RecordedConversion
    assert {"Output", "Convertible"} <= set(toolkit.__all__)


def test_pytest_started_after_importing_leukoflag_does_not_warn(
    pytester: pytest.Pytester,
) -> None:
    # pytest marks the plugin's package (leukoflag) for assertion rewriting; leukoflag's
    # PYTEST_DONT_REWRITE marker keeps that from warning (an error under -W error) when a
    # script imported leukoflag first.
    pytester.makepyfile(test_plain="def test_plain():\n    assert 1 + 1 == 2\n")
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import leukoflag, pytest; "
                "raise SystemExit(pytest.main(['-q', '-W', 'error', '-p', 'no:cacheprovider']))"
            ),
        ],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def _documented_failures() -> list[list[str]]:
    """The assertion messages docs/testing.md shows, each as its lines without pytest's ``E``."""
    text = (Path(__file__).parents[2] / "docs" / "testing.md").read_text("utf-8")
    blocks = re.findall(r"```text\n(.*?)```", text, re.S)
    return [[line[8:] for line in b.splitlines() if line.startswith("E ")] for b in blocks]


def test_the_failures_the_docs_show_are_what_the_assertions_say() -> None:
    # the worked example's settings and Riverside's messages, as the page's failures name them
    settings = Settings(strict=True, default_timezone="America/Chicago", critical_low={"anc": 200})
    code = builders.local_code("WBCC", "White Cell Count", "99RVS")
    results = [builders.wbc(3.2, "K/µL", code=code)]
    riverside = functools.partial(
        builders.oru_message, sending_application="RVSLIS", sending_facility="RIVERSIDE"
    )
    blood, urine = riverside(results=results), riverside(results=results, specimen="urine")
    with pytest.raises(AssertionError) as low_wbc:
        toolkit.assert_flagged(toolkit.convert_message(blood, settings), "LL", analyte="wbc")
    with pytest.raises(AssertionError) as urine_wbc:
        toolkit.assert_flagged(toolkit.convert_message(urine, settings), "L", code="WBCC")
    assert _documented_failures() == [
        f"AssertionError: {low_wbc.value}".splitlines(),
        f"AssertionError: {urine_wbc.value}".splitlines(),
    ]


def test_the_builder_signatures_the_docs_give_are_the_builders_own() -> None:
    text = (Path(__file__).parents[2] / "docs" / "testing.md").read_text("utf-8")
    # the headings of the Builders section: `name(parameters)` — what it builds
    signatures = re.findall(r"^`(\w+)\(([^`]*?)\)` —", text, re.MULTILINE)
    checked = []
    for name, written in signatures:
        if "..." in written:  # "same options" as the one before
            continue
        parameters = inspect.signature(getattr(toolkit, name)).parameters
        said = [p.strip() for p in written.split(",") if p.strip() not in {"", "*"}]
        assert [p.split("=")[0].lstrip("*") for p in said] == list(parameters), name
        for part in said:
            parameter, _, default = part.partition("=")
            try:
                literal = ast.literal_eval(default)
            except (SyntaxError, ValueError):
                continue  # a name or a call (DEFAULT_COLLECTED, ucum("10*9/L")): not compared
            assert parameters[parameter].default == literal, f"{name}({part})"
        checked.append(name)
    assert len(checked) >= 8
