"""HL7 v2 rendering of the builder descriptions: ER7 text, escapes, MLLP frames, batches."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from leukoflag.testing._specs import (
    ANALYZED_AFTER,
    DEFAULT_COLLECTED,
    DEFAULT_PATIENT,
    RECEIVED_AFTER,
    REPORTED_AFTER,
    SENT_AFTER,
    SPECIMEN_ROLES,
    Code,
    OrderSpec,
    PatientResultSpec,
    PatientSpec,
    ResultSpec,
    SpecimenLike,
    TimeLike,
    ZSegmentSpec,
    after,
    order_list,
    sn_parts,
    v2_time,
)

_MLLP_START = b"\x0b"
_MLLP_END = b"\x1c\x0d"

_CHARSET_CODECS: Final = {
    "": "ascii",  # HL7 v2: no MSH-18 means the basic (7-bit ASCII) character set
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
}
_VERSIONS: Final = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.8")
# Versions whose ORU^R01 definition (as hl7apy, leukoflag's strict mode, reads it) requires OBX-4
# and ORC-7/OBR-27 (quantity/timing): the builder fills them there so the message stays valid.
_SUB_ID_REQUIRED: Final = frozenset({"2.3.1", "2.7"})
_TIMING_REQUIRED: Final = frozenset({"2.3"})
# ... and whose OBX-8 (abnormal flags) does not repeat: several flags there would be rejected.
_ONE_FLAG: Final = frozenset({"2.4"})
_BEFORE_OBX23: Final = frozenset({"2.3", "2.3.1", "2.4", "2.5"})
_LINE_ENDINGS: Final = ("\r", "\n", "\r\n")

# --------------------------------------------------------------------------- HL7 v2 encoding


@dataclass(frozen=True, slots=True)
class _Encoding:
    """The delimiters of one message (MSH-1 and MSH-2) and the escaping they require."""

    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str
    special: re.Pattern[str] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # the characters text() must escape: most values have none and are written as they are
        delimiters = re.escape(self.field + self.msh2)
        object.__setattr__(self, "special", re.compile(f"[{delimiters}\x00-\x1f\x7f]"))

    @classmethod
    def parse(cls, delimiters: str) -> _Encoding:
        if len(delimiters) != 5 or len(set(delimiters)) != 5:
            raise ValueError(
                "delimiters: five different characters, field separator then MSH-2 "
                f"(default '|^~\\&'), got {delimiters!r}"
            )
        for char in delimiters:
            if char.isalnum() or char.isspace() or not char.isascii() or not char.isprintable():
                raise ValueError(f"delimiters: {char!r} cannot be an HL7 v2 delimiter")
            if char in "+-.":  # written unescaped in every TS (+/-ZZZZ, .SSSS) and in MSH-12
                raise ValueError(
                    f"delimiters: {char!r} cannot be a delimiter here: times and version "
                    "numbers contain it"
                )
            if char == "_":  # MSH-9.3, which hl7apy (strict mode) reads unescaped
                raise ValueError(
                    "delimiters: '_' cannot be a delimiter here: MSH-9's message structure "
                    "ORU_R01 contains it"
                )
        return cls(*delimiters)

    @property
    def msh2(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent

    def text(self, value: str, *, formatted: bool = False) -> str:
        r"""``value`` with every delimiter escaped (HL7 v2 2.7.4): ``\F\ \S\ \T\ \R\ \E\``;
        line breaks as ``\.br\`` in formatted text (FT); other control characters, and line
        breaks elsewhere, as hex ``\X0A\``. A text that is two quotes (``""``, spaces around
        them allowed) has its first quote as hex ``\X22\``: sent as is, it is HL7's explicit
        null, read as no value (a quote that is a delimiter is escaped as one already)."""
        if value.strip() == '""' and '"' not in self.field + self.msh2:  # a delimiter: escaped
            e = self.escape
            return self.text(value.replace('"', "", 1), formatted=formatted).replace(
                '"', f'{e}X22{e}"', 1
            )
        if not self.special.search(value):
            return value
        e = self.escape
        escapes = {
            self.escape: f"{e}E{e}",
            self.field: f"{e}F{e}",
            self.component: f"{e}S{e}",
            self.subcomponent: f"{e}T{e}",
            self.repetition: f"{e}R{e}",
        }
        value = value.replace("\r\n", "\n")
        out: list[str] = []
        for char in value:
            if char in escapes:
                out.append(escapes[char])
            elif char in "\r\n" and formatted:
                out.append(f"{e}.br{e}")
            elif char < " " or char == "\x7f":
                # a control character (a segment end, an MLLP frame byte) is never sent raw
                out.append(f"{e}X{ord(char):02X}{e}")
            else:
                out.append(char)
        return "".join(out)

    def composite(self, *parts: str | tuple[str, ...]) -> str:
        """Components (a tuple is one component of subcomponents), escaped, trailing empties cut."""
        rendered = [
            self.subcomponent.join(self.text(p) for p in part).rstrip(self.subcomponent)
            if isinstance(part, tuple)
            else self.text(part)
            for part in parts
        ]
        return self.component.join(rendered).rstrip(self.component)

    def coded(self, codes: Sequence[Code]) -> str:
        """A CWE/CE: identifier^text^system for the first code, then for the alternate."""
        parts: list[str] = []
        for code in codes:
            parts.extend((code.code, code.display, code.system))
        return self.composite(*parts)

    def repeat(self, values: Iterable[str]) -> str:
        return self.repetition.join(values)

    def segment(self, name: str, fields: Sequence[str]) -> str:
        """A segment from its fields (field 1 first), trailing empty fields cut."""
        cut = list(fields)
        while cut and not cut[-1]:
            cut.pop()
        return self.field.join((name, *cut))


# --------------------------------------------------------------------------- HL7 v2 messages


@dataclass(frozen=True, slots=True)
class OruMessage:
    """One HL7 v2 message as text. ``charset`` is MSH-18 (``""`` when absent)."""

    text: str
    control_id: str
    charset: str = "UNICODE UTF-8"
    line_ending: str = "\r"

    def __str__(self) -> str:
        return self.text

    @property
    def segments(self) -> list[str]:
        """The segments, in order, without terminators."""
        return [s for s in self.text.split(self.line_ending) if s]

    def segment(self, name: str, occurrence: int = 1) -> str:
        """The ``occurrence``-th (1-based) segment named ``name``; KeyError when there is none."""
        found = [s for s in self.segments if s[:3] == name]
        if not 1 <= occurrence <= len(found):
            raise KeyError(f"no {name}[{occurrence}] in message {self.control_id}")
        return found[occurrence - 1]

    def encode(self, codec: str | None = None) -> bytes:
        """The message as bytes, in the charset MSH-18 names (or ``codec``, to build a message
        whose bytes disagree with its MSH-18 on purpose). Text MSH-18's charset cannot carry is
        a ``ValueError`` (``codec`` may carry it: a cp1252 feed without MSH-18)."""
        return _encoded(self.text, self.charset, codec)

    def mllp(self) -> bytes:
        """The encoded message in one MLLP frame (``0x0B`` … ``0x1C 0x0D``)."""
        return _MLLP_START + self.encode() + _MLLP_END


@dataclass(frozen=True, slots=True)
class Hl7Batch:
    """Messages in an FHS/BHS … BTS/FTS batch file."""

    text: str
    messages: tuple[OruMessage, ...]
    charset: str = "UNICODE UTF-8"

    def __str__(self) -> str:
        return self.text

    def encode(self, codec: str | None = None) -> bytes:
        """The batch as bytes (see :meth:`OruMessage.encode`)."""
        return _encoded(self.text, self.charset, codec)

    def mllp(self) -> bytes:
        """The whole batch in one MLLP frame."""
        return _MLLP_START + self.encode() + _MLLP_END


def oru_message(
    patient: PatientSpec | None = DEFAULT_PATIENT,
    results: Sequence[ResultSpec] | None = None,
    *,
    orders: Sequence[OrderSpec] | None = None,
    specimen: SpecimenLike = "blood",
    collected: TimeLike = DEFAULT_COLLECTED,
    control_id: str | None = None,
    sending_application: str = "LABSYS",
    sending_facility: str = "CITYLAB",
    receiving_application: str = "EHR",
    receiving_facility: str = "GENHOSP",
    version: str = "2.5.1",
    processing_id: str = "P",
    charset: str | None = "UNICODE UTF-8",
    delimiters: str = "|^~\\&",
    line_ending: str = "\r",
    patient_class: str = "O",
    ordering_provider: Sequence[str] = ("1234567893", "Nguyen", "Linh", "", "", "Dr"),
    performing_lab: str = "City Lab",
    z_segments: Sequence[ZSegmentSpec] = (),
    patient_results: Sequence[PatientResultSpec] | None = None,
) -> OruMessage:
    """A complete ORU^R01 message: MSH, PID, PV1, then ORC, OBR, OBX per result and SPM.

    ``results`` go under one CBC order with specimen ``specimen`` (default WBC 7.2 and ANC 4.1,
    both normal); for several orders pass ``orders=[order(...), ...]`` instead. ``patient=None``
    leaves out PID and PV1. ``collected`` (an aware ``datetime``, a ``date`` or HL7 v2 TS text;
    a naive ``datetime`` is written without offset) is when the specimen was taken; received,
    analysis, report and message times follow it by fixed steps. ``control_id`` (MSH-10)
    defaults to a digest of the content: unique per content, the same for the same call.
    ``version`` below 2.5 writes the specimen in OBR-15 instead of an SPM segment. ``charset``
    is MSH-18 (``"UNICODE UTF-8"``, ``"8859/1"``, ``"ASCII"`` or ``None`` for none, meaning
    ASCII); ``delimiters`` the field separator then the four MSH-2 characters; ``line_ending``
    the segment terminator (``"\\r"`` per the standard; ``"\\n"`` or ``"\\r\\n"`` as files have).
    ``ordering_provider`` (OBR-16) is the XCN components: id, family, given, middle, suffix,
    prefix; ``performing_lab`` is OBX-23 (v2.5.1 and later). ``z_segments`` (see
    :func:`z_segment`) follow PV1 (MSH without a patient).

    A message about several patients: ``patient_results=[patient_result(...), ...]``, each
    with its own PID, PV1 and orders, instead of ``patient``, ``results``, ``orders`` and
    ``z_segments``.
    """
    if patient_results is not None:
        if results is not None or orders is not None or z_segments:
            raise ValueError(
                "patient_results= gives each patient's results, orders and z_segments: "
                "not with results=, orders= or z_segments="
            )
        if patient is not DEFAULT_PATIENT:
            raise ValueError("patient_results= names each patient: not with patient=")
        if not patient_results:
            raise ValueError("patient_results: an ORU^R01 message needs at least one patient")
        groups: Sequence[tuple[PatientSpec | None, Sequence[OrderSpec], Sequence[ZSegmentSpec]]]
        groups = [(g.patient, g.orders, g.z_segments) for g in patient_results]
    else:
        given = order_list(results, orders, specimen, need="an ORU^R01 message needs")
        groups = [(patient, given, z_segments)]
    if isinstance(ordering_provider, str):  # its characters would be the XCN components
        raise TypeError(
            "ordering_provider: the XCN components as a sequence (id, family, given, middle, "
            f"suffix, prefix), not one str: {ordering_provider!r}"
        )
    if version not in _VERSIONS:
        raise ValueError(f"version: one of {', '.join(_VERSIONS)}, got {version!r}")
    if line_ending not in _LINE_ENDINGS:
        raise ValueError("line_ending: '\\r', '\\n' or '\\r\\n'")
    msh18 = charset or ""
    if msh18 not in _CHARSET_CODECS:
        known = ", ".join(repr(c) for c in _CHARSET_CODECS if c)
        raise ValueError(f"charset: one of {known} or None, got {charset!r}")
    enc = _Encoding.parse(delimiters)
    if inside := next((char for char in delimiters if char in msh18), None):
        # leukoflag reads MSH-18 before it can unescape anything: 8859\T\1 is no charset
        raise ValueError(
            f"delimiters: {inside!r} cannot be a delimiter here: MSH-18's charset {msh18!r} "
            "contains it"
        )
    context = _MessageContext(
        enc=enc,
        version=version,
        collected=collected,
        ordering_provider=tuple(ordering_provider),
        performing_lab=performing_lab,
        placer=receiving_application,
        filler=sending_application,
        patient_class=patient_class,
    )
    body: list[str] = []
    number = 0  # OBR-1 and the default order numbers run through the message
    for set_id, (who, group_orders, extra) in enumerate(groups, start=1):
        if who is not None:
            body.append(_pid(enc, who, set_id))
            body.append(_pv1(enc, who, patient_class))
        body.extend(_z(enc, z) for z in extra)
        for spec in group_orders:
            number += 1
            body.extend(context.order_segments(number, spec))

    def render(msh10: str) -> str:
        msh = _msh(
            enc,
            sending=(sending_application, sending_facility),
            receiving=(receiving_application, receiving_facility),
            sent=v2_time(after(collected, SENT_AFTER)),
            control_id=msh10,
            processing_id=processing_id,
            version=version,
            charset=msh18,
        )
        return "".join(segment + line_ending for segment in (msh, *body))

    if control_id is None:
        digest = hashlib.sha256(render("").encode("utf-8")).hexdigest()
        control_id = f"LF{digest[:16].upper()}"
    text = render(control_id)
    # text MSH-18's charset cannot carry is refused when encoded: .encode(codec) may carry it
    return OruMessage(text=text, control_id=control_id, charset=msh18, line_ending=line_ending)


def _encoded(text: str, charset: str, codec: str | None) -> bytes:
    """``text`` in ``codec``, else in the codec MSH-18 (``charset``) names, which must carry it."""
    if codec is not None:
        return text.encode(codec)
    try:
        return text.encode(_CHARSET_CODECS[charset])
    except UnicodeEncodeError as exc:
        what = text[exc.start : exc.end]
        named = repr(charset) if charset else "None (no MSH-18: ASCII)"
        raise ValueError(
            f"charset {named} cannot carry {what!r}: use charset='UNICODE UTF-8', or "
            ".encode(codec) for bytes that disagree with MSH-18 on purpose"
        ) from None


def batch(
    *messages: OruMessage,
    sending_application: str = "LABSYS",
    sending_facility: str = "CITYLAB",
    batch_id: str = "BATCH0001",
) -> Hl7Batch:
    """An FHS/BHS batch of ``messages`` (each keeps its own MSH), closed by BTS/FTS counts."""
    if not messages:
        raise ValueError("batch: at least one message")
    first = messages[0]
    head = first.segments[0]
    enc = _Encoding.parse(head[3:8])
    for message in messages[1:]:
        if message.segments[0][3:8] != head[3:8] or message.charset != first.charset:
            raise ValueError("batch: every message must use the same delimiters and charset")
        if message.line_ending != first.line_ending:
            raise ValueError("batch: every message must use the same line ending")
    sent = head.split(enc.field)[6] if head.count(enc.field) >= 6 else ""
    end = first.line_ending
    header = [enc.text(sending_application), enc.text(sending_facility), "", "", sent]
    fhs = f"FHS{enc.field}{enc.msh2}{enc.field}" + enc.field.join(
        [*header, "", "", "", enc.text(batch_id)]
    )
    bhs = f"BHS{enc.field}{enc.msh2}{enc.field}" + enc.field.join(
        [*header, "", "", "", enc.text(batch_id)]
    )
    text = fhs + end + bhs + end + "".join(m.text for m in messages)
    text += f"BTS{enc.field}{len(messages)}{end}FTS{enc.field}1{end}"
    return Hl7Batch(text=text, messages=tuple(messages), charset=first.charset)


def to_mllp(*messages: OruMessage | Hl7Batch | str | bytes) -> bytes:
    """``messages`` one after the other, each in its own MLLP frame (text is UTF-8 encoded)."""
    frames: list[bytes] = []
    for message in messages:
        if isinstance(message, (OruMessage, Hl7Batch)):
            frames.append(message.mllp())
        else:
            raw = message.encode("utf-8") if isinstance(message, str) else message
            frames.append(_MLLP_START + raw + _MLLP_END)
    return b"".join(frames)


def _msh(
    enc: _Encoding,
    *,
    sending: tuple[str, str],
    receiving: tuple[str, str],
    sent: str,
    control_id: str,
    processing_id: str,
    version: str,
    charset: str,
) -> str:
    message_type = ("ORU", "R01") if version == "2.3" else ("ORU", "R01", "ORU_R01")
    fields = [
        enc.text(sending[0]),  # MSH-3
        enc.text(sending[1]),
        enc.text(receiving[0]),
        enc.text(receiving[1]),
        sent,  # MSH-7
        "",
        enc.composite(*message_type),  # MSH-9
        enc.text(control_id),  # MSH-10
        enc.text(processing_id),
        enc.text(version),  # MSH-12
        "",
        "",
        "",  # MSH-15/16 acknowledgment types: transport only, leukoflag does not carry them
        "",
        "",
        enc.text(charset),  # MSH-18
    ]
    while fields and not fields[-1]:
        fields.pop()
    return f"MSH{enc.field}{enc.msh2}{enc.field}" + enc.field.join(fields)


def _pid(enc: _Encoding, spec: PatientSpec, set_id: int) -> str:
    given, *middle = spec.given or ("",)
    fields = [
        str(set_id),  # PID-1
        "",
        enc.composite(spec.mrn, "", "", spec.assigning_authority, "MR"),  # PID-3 CX
        "",
        enc.composite(spec.family, given, " ".join(middle)),  # PID-5 XPN
        "",
        spec.birth_date,  # PID-7
        spec.sex,  # PID-8
    ]
    return enc.segment("PID", fields)


def _z(enc: _Encoding, spec: ZSegmentSpec) -> str:
    fields = [enc.composite(*f) if isinstance(f, tuple) else enc.text(f) for f in spec.fields]
    return enc.segment(spec.name, fields)


def _pv1(enc: _Encoding, spec: PatientSpec, patient_class: str) -> str:
    fields = [""] * 19
    fields[0] = "1"
    fields[1] = enc.text(patient_class)  # PV1-2
    fields[2] = enc.composite("ONC", "", "", spec.assigning_authority)  # PV1-3 PL
    fields[18] = enc.composite(f"V{spec.mrn}", "", "", spec.assigning_authority, "VN")  # PV1-19
    return enc.segment("PV1", fields)


@dataclass(frozen=True, slots=True)
class _MessageContext:
    enc: _Encoding
    version: str
    collected: TimeLike
    ordering_provider: tuple[str, ...]  # XCN components: id, family, given, …, prefix
    performing_lab: str
    patient_class: str
    placer: str  # the application that placed the order (the EHR receiving the results)
    filler: str  # the application that filled it (the lab sending them)

    @property
    def has_spm(self) -> bool:
        return self.version not in ("2.3", "2.3.1", "2.4")  # SPM exists from v2.5

    def order_segments(self, number: int, spec: OrderSpec) -> list[str]:
        enc = self.enc
        collected = spec.collected if spec.collected is not None else self.collected
        placer = spec.placer_id or f"ORD{1000 + number}"
        filler = spec.filler_id or f"LAB{2000 + number}"
        placer_ei = enc.composite(placer, self.placer)
        filler_ei = enc.composite(filler, self.filler)
        reported = v2_time(after(collected, REPORTED_AFTER))
        provider = self._provider()
        # ORC-1 RE: observations to follow. The ordering provider goes in OBR-16 only (ORC-12
        # would repeat it); ORC-5 (OBR-25 then decides the order status) and ORC-9 are left out.
        orc = ["RE", placer_ei, filler_ei]
        obr = [""] * 25
        if self.version in _TIMING_REQUIRED:
            # TQ-6 priority alone (routine), which leukoflag reads: a TQ-4 start time repeating
            # OBR-7 would be reported as not carried on every order
            timing = enc.composite("", "", "", "", "", "R")
            orc.extend(["", "", "", timing])  # ORC-7
            obr.extend(["", timing])  # OBR-27
        obr[0] = str(number)
        obr[1], obr[2] = placer_ei, filler_ei
        obr[3] = enc.coded((spec.code,))  # OBR-4
        obr[6] = v2_time(collected)  # OBR-7
        if not self.has_spm and spec.specimen is not None:
            # v2.3/2.4: the specimen travels in OBR-15 (SPS, its code as subcomponents)
            obr[14] = enc.composite(
                (spec.specimen.code, spec.specimen.display, _as_0070(spec.specimen.system))
            )
        obr[15] = provider  # OBR-16
        obr[21] = reported  # OBR-22
        obr[24] = spec.report_status_at(collected)  # OBR-25
        segments = [enc.segment("ORC", orc), enc.segment("OBR", obr)]
        segments.extend(self._notes(spec.notes))
        set_id = 0
        for item in spec.results:
            set_id += 1
            segments.extend(self._obx(set_id, item, collected))
        segments.extend(_z(self.enc, z) for z in spec.z_segments)
        if spec.specimen is not None and self.has_spm:
            segments.append(self._spm(spec.specimen, spec.specimen_role, collected, filler))
            for item in spec.specimen_results:
                set_id += 1
                segments.extend(self._obx(set_id, item, collected))
        elif spec.specimen_results:
            raise ValueError("specimen_results need an SPM: a specimen and version 2.5 or later")
        elif spec.specimen_role:  # SPM-11 alone carries it: dropped, the control would be judged
            raise ValueError("specimen_role needs an SPM: a specimen and version 2.5 or later")
        return segments

    def _provider(self) -> str:
        return self.enc.composite(*self.ordering_provider)

    def _notes(self, notes: Sequence[str]) -> list[str]:
        return [
            self.enc.segment("NTE", [str(n), "", self.enc.text(note, formatted=True)])
            for n, note in enumerate(notes, start=1)
        ]

    def _obx(self, set_id: int, spec: ResultSpec, collected: TimeLike) -> list[str]:
        enc = self.enc
        observed = spec.observed if spec.observed is not None else collected
        fields = [""] * 19
        fields[0] = str(set_id)
        kind = spec.value_type
        if kind == "CWE" and not self.has_spm:  # CWE exists from v2.5; before it, CE
            kind = "CE"
        fields[1] = kind  # OBX-2
        fields[2] = enc.coded(spec.codes)  # OBX-3
        sub_id = spec.sub_id or ("1" if self.version in _SUB_ID_REQUIRED else "")
        fields[3] = enc.text(sub_id)  # OBX-4
        fields[4] = self._value(spec)  # OBX-5
        if spec.unit is not None:
            units = (
                (spec.unit,) if spec.unit_alternate is None else (spec.unit, spec.unit_alternate)
            )
            fields[5] = enc.coded(units)  # OBX-6
        fields[6] = enc.text(spec.reference_range)  # OBX-7
        if len(spec.flags) > 1 and self.version in _ONE_FLAG:  # strict mode would reject it
            raise ValueError(
                f"flag: OBX-8 does not repeat in HL7 v{self.version}: one flag, or another "
                f"version; got {list(spec.flags)!r}"
            )
        fields[7] = enc.repeat(enc.text(f) for f in spec.flags)  # OBX-8
        fields[10] = spec.status  # OBX-11
        fields[13] = v2_time(observed)  # OBX-14
        if self.has_spm:  # OBX-19 date/time of the analysis exists from v2.5
            fields[18] = v2_time(after(observed, ANALYZED_AFTER))
        if self.version not in _BEFORE_OBX23:  # OBX-23 exists from v2.5.1
            fields.extend(["", "", "", enc.composite(self.performing_lab)])  # OBX-23
        return [enc.segment("OBX", fields), *self._notes(spec.notes)]

    def _value(self, spec: ResultSpec) -> str:
        if spec.coded_value is not None:
            return self.enc.coded((spec.coded_value,))
        if spec.value_type == "SN":
            parts = sn_parts(spec.value)
            if parts is None:  # result() checked this; kept for the type checker
                raise ValueError(f"not a structured numeric: {spec.value!r}")
            return self.enc.composite(*parts)
        return self.enc.text(spec.value, formatted=spec.value_type == "FT")

    def _spm(self, specimen: Code, role: str, collected: TimeLike, filler: str) -> str:
        enc = self.enc
        fields = [""] * 18
        fields[0] = "1"
        fields[1] = enc.composite("", (f"SP{filler}", self.filler))  # SPM-2 EIP: filler's id
        fields[3] = enc.coded((specimen,))  # SPM-4
        if role:
            fields[10] = enc.coded((Code(role, SPECIMEN_ROLES[role], "HL70369"),))  # SPM-11
        fields[16] = v2_time(collected)  # SPM-17 (DR: the start of the collection)
        fields[17] = v2_time(after(collected, RECEIVED_AFTER))  # SPM-18
        return enc.segment("SPM", fields)


def _as_0070(system: str) -> str:
    return "HL70070" if system == "HL70487" else system
