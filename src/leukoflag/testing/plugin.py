"""The pytest plugin: fixtures for testing an EHR pipeline that uses leukoflag.

Registered through the ``pytest11`` entry point, so installing leukoflag is enough. pytest loads
this module in every run of every project that has leukoflag installed, so it defines fixtures
only (no hooks, no options, no output) and imports leukoflag's pipeline inside them: a test that
does not ask for a fixture is not touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from leukoflag.settings import Settings
    from leukoflag.testing.conversion import Convertible, RecordedConversion

__all__ = ["hl7_message_builder", "leukoflag_convert", "leukoflag_settings"]


@pytest.fixture
def leukoflag_settings() -> Settings:
    """The settings ``leukoflag_convert`` uses: ``Settings(strict=True)``, so the message
    structure (hl7apy) and the FHIR written (fhir.resources) are validated and a failure shows
    as a rejected message. Override this fixture in a ``conftest.py`` to match production."""
    from leukoflag.settings import Settings  # noqa: PLC0415 - nothing loaded unless used

    return Settings(strict=True)


@pytest.fixture
def leukoflag_convert(
    leukoflag_settings: Settings,
) -> Callable[..., RecordedConversion]:
    """``leukoflag_convert(message, **overrides) -> Conversion``: convert builder output, a
    FHIR dict, text or bytes with ``leukoflag_settings`` changed by ``overrides``
    (``strict=False``, ``fhir_version="R5"`` …). The Conversion remembers its input, so
    ``assert_no_data_loss(conversion)`` checks every OBX."""
    from leukoflag.testing.conversion import convert_message  # noqa: PLC0415

    def convert(message: Convertible, *given: Any, **overrides: Any) -> RecordedConversion:
        if given or "settings" in overrides:  # Python's words named neither this nor the way
            raise TypeError(
                "leukoflag_convert: change settings by keyword (strict=False, "
                "fhir_version='R5' …), not with a Settings; for settings of your own, override "
                "the leukoflag_settings fixture"
            )
        return convert_message(message, leukoflag_settings, **overrides)

    return convert


@pytest.fixture
def hl7_message_builder() -> ModuleType:
    """The builders (:mod:`leukoflag.testing.builders`): ``hl7_message_builder.oru_message(
    results=[hl7_message_builder.wbc(3.2, "10*9/L")])``, ``observation``, ``fhir_bundle`` …"""
    from leukoflag.testing import builders  # noqa: PLC0415

    return builders
