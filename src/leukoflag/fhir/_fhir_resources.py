"""Adapter to fhir.resources: model validation of what leukoflag writes.

Imported lazily (only :func:`leukoflag.fhir.validate` imports this module, and this module imports
fhir.resources inside the function), never on the conversion hot path. R4 output is checked with
the R4B models (``fhir.resources.R4B``), R5 output with the default R5 models.

Each resource is checked with its own model class; a Bundle's ``entry.resource`` and any
``contained`` resource are taken out of their parent and checked separately, so every problem is
reported once, at its own path.

The models coerce what FHIR JSON does not allow (a decimal sent as the string ``"3200"``, a
boolean as ``"true"`` or ``1``, an integer as ``1.0``, a dateTime as a number, an element as a
string of JSON), so each value's JSON type is first checked against the FHIR type the model
declares for it (FHIR R4/R5 JSON, json.html: decimal and integer are JSON numbers, boolean is
true/false, every other primitive a JSON string, R5's integer64 included; elements are
objects); a value refused there is not reported again by the models.
"""

from __future__ import annotations

import importlib
import re
import types
import typing
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

__all__ = ["validate_models"]

_PACKAGES = {"R4": "fhir.resources.R4B", "R4B": "fhir.resources.R4B", "R5": "fhir.resources"}


def validate_models(resource: dict[str, Any], fhir_version: str) -> list[str]:
    """Problems fhir.resources finds in ``resource`` and the resources inside it."""
    package = importlib.import_module(_PACKAGES[fhir_version])
    problems: list[str] = []
    _check(resource, resource.get("resourceType", "?"), package, problems)
    return problems


def _check(resource: Any, path: str, package: Any, problems: list[str]) -> None:
    from pydantic import ValidationError  # noqa: PLC0415 - fhir.resources brings pydantic

    if not isinstance(resource, dict):
        problems.append(f"{path}: not a JSON object")
        return
    kind = resource.get("resourceType")
    try:
        model = package.get_fhir_model_class(kind)
    except (KeyError, ValueError, AttributeError, TypeError):
        problems.append(f"{path}: unknown resourceType {kind!r}")
        return
    shell = dict(resource)
    inner: list[tuple[str, Any]] = []
    contained = shell.get("contained")
    if isinstance(contained, list) and contained:  # else left to the checks below
        del shell["contained"]
        inner.extend((f"{path}.contained[{i}]", r) for i, r in enumerate(contained))
    entries = shell.get("entry")
    # entries holding only their resource (no fullUrl, which R4 does not require): not empty
    resource_only: set[str] = set()
    if kind == "Bundle" and isinstance(entries, list):
        stripped = []
        for i, entry in enumerate(entries):
            if isinstance(entry, dict) and "resource" in entry:
                inner.append((f"{path}.entry[{i}].resource", entry["resource"]))
                stripped.append({k: v for k, v in entry.items() if k != "resource"})
                if len(entry) == 1:
                    resource_only.add(f"entry[{i}]")
            else:
                stripped.append(entry)
        shell["entry"] = stripped
    label = path if path == kind else f"{path} ({kind})"  # a nested resource names its type
    typed: list[tuple[str, str]] = []
    _json_types(shell, model, "", package, typed)
    if resource_only:
        typed = [(where, text) for where, text in typed if where not in resource_only]
    problems.extend(f"{label}.{where}: {text}" for where, text in typed)
    refused = tuple(where for where, _ in typed)
    try:
        model.model_validate(shell)
    except ValidationError as exc:
        for error in exc.errors():
            where = _element_path(error["loc"])
            if refused and _within(where, refused):
                continue  # said above, in FHIR's words
            problems.append(
                f"{label}.{where}: {error['msg']}" if where else f"{label}: {error['msg']}"
            )
    for inner_path, inner_resource in inner:
        _check(inner_resource, inner_path, package, problems)


def _element_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's error location as the element path the rest of leukoflag writes
    (``code.coding[0].code``, as Bundle entries and code bindings are named)."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


def _within(where: str, refused: tuple[str, ...]) -> bool:
    """Whether path ``where`` is one of ``refused``, inside one, or the array holding one (the
    models name the array for a null in it)."""
    return any(
        where == r or where.startswith((f"{r}.", f"{r}[")) or r.startswith(f"{where}[")
        for r in refused
    )


class _Element(NamedTuple):
    """What a model declares for one JSON key."""

    fhir_type: str  # a primitive's FHIR type, else the model's name ("Resource" for any)
    json: str  # "boolean", "integer", "decimal", "string", "object" or "resource"
    repeats: bool
    model: Any  # the model of an object, else None


# FHIR JSON (http://hl7.org/fhir/R4/json.html#primitive, R5 likewise): the JSON type of each
# primitive; every other primitive is a JSON string (R5's integer64 too, json.html)
_JSON_OF = {
    "boolean": "boolean",
    "integer": "integer",
    "unsignedInt": "integer",
    "positiveInt": "integer",
    "decimal": "decimal",
}
_INTEGER64 = re.compile(r"-?(0|[1-9][0-9]*)")
# FHIR string (datatypes.html): no character below U+0020 but tab, LF and CR; XML cannot carry them,
# and the FHIR validator refuses them in any format
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NO_CONTROL = "a FHIR string holds no control character but tab, CR and LF"
# datatypes.html: uri, url and canonical match \S* whole (the models' pattern is searched, so it
# matches any value); an id is 1 to 64 characters (fhir.resources allows 255)
_WHITESPACE = re.compile(r"\s")
_NO_WHITESPACE = {
    kind: f"a FHIR {kind} holds no whitespace (datatypes.html)"
    for kind in ("uri", "url", "canonical")
}
# datatypes.html: a code matches [^\s]+( [^\s]+)* whole, single spaces only; the models take
# \s for that space, so a tab, CR or LF inside a code passed
_CODE = re.compile(r"[^\s]+( [^\s]+)*")
_CODE_SPACES = (
    "a FHIR code holds no whitespace but single spaces between its characters (datatypes.html)"
)
_LONGEST_ID = 64
_ID_LENGTH = "a FHIR id is at most 64 characters (datatypes.html)"


@cache
def _elements(model: Any) -> dict[str, _Element]:
    """Each JSON key ``model`` declares (aliases: ``class``, ``_active``), with its type."""
    # fhir.resources brings fhir_core; its types module fills the map as the models load
    from fhir_core.constraints import FHIR_PRIMITIVES_MAPS  # noqa: PLC0415
    from fhir_core.types import FhirBase, FhirElementOrResourceBase  # noqa: PLC0415

    elements = {}
    for name, field in model.model_fields.items():
        if name == "fhir_comments":
            continue  # no FHIR element (DSTU2 JSON's comments)
        declared, repeats = _unwrapped(field.annotation)
        fhir_type, json, target = "", "", None
        if declared is bool:
            fhir_type = json = "boolean"
        elif typing.get_origin(declared) is typing.Annotated:
            base, *marks = typing.get_args(declared)
            for mark in marks:
                primitive = FHIR_PRIMITIVES_MAPS.get(type(mark))
                if primitive:
                    fhir_type, json = primitive, _JSON_OF.get(primitive, "string")
            if not fhir_type and getattr(base, "__name__", "") == "UUID":
                fhir_type, json = "uuid", "string"
        elif isinstance(declared, type) and issubclass(declared, FhirBase):
            target = declared.get_model_klass()
            fhir_type = target.__name__
            resource = issubclass(declared, FhirElementOrResourceBase)
            json = "resource" if resource else "object"
        if json:
            elements[field.alias or name] = _Element(fhir_type, json, repeats, target)
    return elements


@cache
def _python_names(model: Any) -> dict[str, str]:
    """The keys ``model`` accepts that are no FHIR element: fhir.resources' Python names
    (``class_fhir``, ``active__ext``; its models populate fields by name too) and DSTU2's
    ``fhir_comments``, each with why."""
    names = {}
    for name, field in model.model_fields.items():
        if name == "fhir_comments":
            names[name] = "no FHIR element in R4 or R5 (DSTU2 JSON's comments)"
        elif field.alias and field.alias != name:
            names[name] = f"no FHIR element: fhir.resources' Python name for '{field.alias}'"
    return names


def _unwrapped(annotation: Any) -> tuple[Any, bool]:
    """The type inside ``Optional[...]`` and ``List[...]``, and whether it was a list."""
    repeats = False
    for _ in range(3):  # Optional[List[Optional[T]]] at most
        origin = typing.get_origin(annotation)
        if origin is list:
            repeats = True
            annotation = typing.get_args(annotation)[0]
        elif origin is typing.Union or origin is types.UnionType:
            kept = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = kept[0]  # Id | String: both JSON strings
        else:
            break
    return annotation, repeats


def _json_types(
    node: dict[str, Any], model: Any, path: str, package: Any, found: list[tuple[str, str]]
) -> None:
    """Each value of ``node`` whose JSON type is not the one FHIR JSON gives its element."""
    elements = _elements(model)
    for key, value in node.items():
        element = elements.get(key)
        where = f"{path}.{key}" if path else key
        if element is None:
            named = _python_names(model).get(key)
            if named is not None:  # else resourceType, or a key the model refuses itself
                found.append((where, named))
            continue
        if value is None or (not value and isinstance(value, str | dict | list | tuple)):
            found.append((where, f"{_shown(value)}: {_NO_VALUE}"))
        elif not element.repeats:
            _json_type(value, element, where, package, found)
        elif not isinstance(value, list | tuple):
            found.append(
                (where, f"{_shown(value)}: FHIR JSON writes an element that repeats as an array")
            )
        else:
            # a primitive's array and its extensions' ("given", "_given") line up; null is the
            # gap in one where the other has something (json.html), and nowhere else
            pair = key[1:] if key.startswith("_") else f"_{key}"
            paired = node.get(pair) if pair in elements else None
            for i, item in enumerate(value):
                if item is not None:
                    _json_type(item, element, f"{where}[{i}]", package, found)
                elif not (
                    (key.startswith("_") or element.json not in ("object", "resource"))
                    and isinstance(paired, list | tuple)
                    and i < len(paired)
                    and paired[i] is not None
                ):
                    found.append((f"{where}[{i}]", _null_in_array(key, element)))


# http://hl7.org/fhir/R4/json.html (R5 likewise): no empty or null values
_NO_VALUE = "FHIR JSON leaves out an element that has no value"


def _null_in_array(key: str, element: _Element) -> str:
    if key.startswith("_") or element.json not in ("object", "resource"):
        pair = key[1:] if key.startswith("_") else f"_{key}"
        return (
            f"null, and '{pair}' has nothing at the same place: FHIR JSON has null in a "
            "primitive's array only where its extension stands"
        )
    return f"null: FHIR JSON has null in an array only for a primitive, not in {key}'s"


def _json_type(
    value: Any, element: _Element, where: str, package: Any, found: list[tuple[str, str]]
) -> None:
    json = element.json
    if not value and isinstance(value, str | dict):
        found.append((where, f"{_shown(value)}: {_NO_VALUE}"))
        return
    if json == "boolean":
        fits = isinstance(value, bool)
    elif json == "decimal":
        fits = _number(value)
    elif json == "integer":
        fits = _number(value) and (
            isinstance(value, int)
            or (isinstance(value, Decimal) and value.as_tuple().exponent == 0)
        )
    elif json == "string":
        fits = isinstance(value, str)
        control = _CONTROL.search(value) if fits else None
        if control:
            found.append((where, f"{_shown(value)} holds U+{ord(control[0]):04X}: {_NO_CONTROL}"))
            return
        if fits and element.fhir_type in _NO_WHITESPACE and _WHITESPACE.search(value):
            found.append((where, f"{_shown(value)}: {_NO_WHITESPACE[element.fhir_type]}"))
            return
        if fits and element.fhir_type == "code" and not _CODE.fullmatch(value):
            found.append((where, f"{_shown(value)}: {_CODE_SPACES}"))
            return
        if fits and element.fhir_type == "id" and len(value) > _LONGEST_ID:
            found.append((where, f"{_shown(value)} is {len(value)} characters long: {_ID_LENGTH}"))
            return
        if fits and element.fhir_type == "integer64" and not _INTEGER64.fullmatch(value):
            found.append(
                (where, f"{_shown(value)} is not an integer64 (json.html: digits, a '-' first)")
            )
            return
    else:
        fits = isinstance(value, dict)
    if not fits:
        found.append((where, f"{_shown(value)}: {_rule(element)}"))
    elif json == "object":
        _json_types(value, element.model, where, package, found)
        if element.fhir_type == "Coding" or element.fhir_type in _QUANTITIES:
            _coded(value, element.fhir_type, where, found)
    elif json == "resource":
        try:
            model = package.get_fhir_model_class(value.get("resourceType"))
        except (KeyError, ValueError, AttributeError, TypeError):
            return  # the models say it is not a resource
        _json_types(value, model, where, package, found)


# datatypes.html: Quantity and the types made from it (qty-3 holds for each)
_QUANTITIES = frozenset(
    ("Quantity", "SimpleQuantity", "Age", "Count", "Distance", "Duration", "MoneyQuantity")
)
# RFC 3986 absolute URI: a scheme, then ':' (http://loinc.org, urn:oid:2.16.840.1.113883.6.1)
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_RELATIVE_SYSTEM = (
    "a code system is named by an absolute URI (datatypes.html), as 'http://loinc.org'"
)
_QTY_3 = (
    "FHIR invariant qty-3 (datatypes.html: if a code for the unit is present, the system SHALL "
    "also be present)"
)


def _coded(value: dict[str, Any], fhir_type: str, where: str, found: list[tuple[str, str]]) -> None:
    """A Coding's or Quantity's system as the FHIR validator checks it: an absolute URI (a
    relative 'LN' names no code system), and a Quantity's code only with its system (qty-3)."""
    system = value.get("system")
    if isinstance(system, str) and system and not _WHITESPACE.search(system):
        if not _ABSOLUTE.fullmatch(system):
            found.append((f"{where}.system", f"{_shown(system)}: {_RELATIVE_SYSTEM}"))
    elif system is None and fhir_type != "Coding" and isinstance(value.get("code"), str):
        # said at the code: a problem at the Quantity would hide the models' ones inside it
        found.append((f"{where}.code", f"{_shown(value['code'])} without a system: {_QTY_3}"))


def _number(value: Any) -> bool:
    """A JSON number: not a boolean (an int to Python), not NaN or infinite."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value - value == 0  # finite
    return isinstance(value, Decimal) and value.is_finite()


def _rule(element: _Element) -> str:
    """How FHIR JSON writes ``element``'s type."""
    fhir_type, json = element.fhir_type, element.json
    written = {
        "boolean": "as true or false",
        "decimal": "as a number",
        "integer": "as a number without a fraction or exponent",
        "string": "as a string",
    }.get(json, "as an object")
    article = "an" if fhir_type[0] in "aeiouAEIOU" else "a"
    return f"FHIR JSON writes {article} {fhir_type} {written}"


def _shown(value: Any) -> str:
    """A JSON value as a reader of the problem would name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return "an empty string"
    if isinstance(value, str):
        return f"the string {value[:40]!r}{'…' if len(value) > 40 else ''}"
    if isinstance(value, int | float | Decimal):
        text = str(value)
        return f"the number {text[:40]}{'…' if len(text) > 40 else ''}"
    if isinstance(value, dict):
        return "an object" if value else "an empty object"
    if isinstance(value, list | tuple):
        return "an array" if value else "an empty array"
    return f"a {type(value).__name__}"
