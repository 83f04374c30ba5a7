"""A small ER7 reader for checking builder output independently of leukoflag's own reader."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Er7:
    """One message split into segments and fields; MSH fields numbered as in the standard."""

    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str
    segments: list[list[str]]

    @classmethod
    def parse(cls, text: str) -> Er7:
        lines = [line for line in re.split(r"\r\n|\r|\n", text) if line]
        msh = lines[0]
        assert msh.startswith("MSH"), msh
        sep = msh[3]
        component, repetition, escape, subcomponent = msh[4], msh[5], msh[6], msh[7]
        segments = []
        for line in lines:
            fields = line.split(sep)
            if fields[0] == "MSH":
                fields = ["MSH", sep, *fields[1:]]  # MSH-1 is the separator itself
            segments.append(fields)
        return cls(sep, component, repetition, escape, subcomponent, segments)

    @property
    def names(self) -> list[str]:
        return [s[0] for s in self.segments]

    def raw(self, name: str, number: int, occurrence: int = 1) -> str:
        """Field ``number`` of the ``occurrence``-th ``name`` segment, as written."""
        found = [s for s in self.segments if s[0] == name]
        segment = found[occurrence - 1]
        return segment[number] if number < len(segment) else ""

    def components(self, name: str, number: int, occurrence: int = 1) -> list[str]:
        """The components of a field, unescaped."""
        return [self.unescape(c) for c in self.raw(name, number, occurrence).split(self.component)]

    def value(self, name: str, number: int, component: int = 1, occurrence: int = 1) -> str:
        parts = self.components(name, number, occurrence)
        return parts[component - 1] if component <= len(parts) else ""

    def unescape(self, text: str) -> str:
        e = re.escape(self.escape)
        simple = {
            "F": self.field,
            "S": self.component,
            "T": self.subcomponent,
            "R": self.repetition,
            "E": self.escape,
            ".br": "\n",
        }

        def replace(match: re.Match[str]) -> str:
            body = match.group(1)
            if body in simple:
                return simple[body]
            if body.startswith("X"):
                return bytes.fromhex(body[1:]).decode("latin-1")
            raise AssertionError(f"unexpected escape {body!r}")

        return re.sub(f"{e}([^{e}]*){e}", replace, text)
