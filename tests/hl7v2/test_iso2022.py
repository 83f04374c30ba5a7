"""MSH-18 sets switched by ISO 2022 escape sequences (MSH-20 "ISO 2022-1994"): JIS, KS X 1001.

The messages are written as text and encoded with Python's codecs, so the bytes are what a
Japanese or Korean lab system sends: ESC $ B … ESC ( B around each run of kanji.
"""

from __future__ import annotations

import pytest

import leukoflag
from leukoflag import hl7v2
from leukoflag.model import Message, Severity

from .messages import MSH, OBR, WBC, codes, issue, message, read, results

# A Tokyo lab's header: ASCII by default, JIS X 0208 announced for names and comments.
JIS_MSH = MSH.replace("|UNICODE UTF-8", "|~ISO IR87||ISO 2022-1994")
# 奥 is 0x31 0x7C ("1|"), 五 0x38 0x5E ("8^"), 服 0x49 0x7E ("I~"), 本 0x4B 0x5C ("K\"),
# 愛 0x30 0x26 ("0&"): each holds one of the message's delimiters.
JIS_PID = "PID|1||MRN100871^^^RIVERSIDE^MR||奥田^五十嵐^服部||19610719|F"
JIS_NTE = "NTE|1||山本技師確認 愛 溶血(+)"


def charset_issues(read_message: Message) -> list[str]:
    return [c for c in codes(read_message.issues) if "charset" in c]


def test_jis_bytes_hold_the_delimiters_the_test_is_about() -> None:
    data = JIS_PID.encode("iso2022_jp")
    kanji = [
        data[at + 3 : data.index(b"\x1b(B", at)]
        for at in range(len(data))
        if data[at] == 0x1B and data[at + 1 : at + 3] == b"$B"
    ]
    assert b"".join(kanji) == b"1|ED8^==MrI~It"
    assert "山本愛".encode("iso2022_jp") == b"\x1b$B;3K\\0&\x1b(B"


def test_names_in_jis_x_0208_are_decoded_before_the_message_is_split() -> None:
    data = message(JIS_PID, OBR, WBC, JIS_NTE, msh=JIS_MSH).encode("iso2022_jp")
    assert data.isascii()  # seven-bit: only the escape sequences tell the sets apart
    read_message = read(data)
    patient = read_message.groups[0].patient
    assert patient is not None
    assert (patient.family, patient.given) == ("奥田", ("五十嵐", "服部"))
    (result,) = results(read_message)
    assert result.notes == ("山本技師確認 愛 溶血(+)",)
    assert read_message.charset == "~ISO IR87"
    assert charset_issues(read_message) == []
    assert [i.location for i in read_message.issues if i.location.endswith("-20")] == []


@pytest.mark.parametrize(
    ("charsets", "scheme"),
    [
        ("~ISO IR87", ""),  # MSH-20 empty with alternates: ISO 2022
        ("ISO IR6~ISO IR87", "ISO 2022-1994"),
        ("ISO IR87", ""),  # the multi-byte set alone: ASCII stays the default
        ("ASCII~ISO IR14~ISO IR87", "ISO 2022-1994"),
        ("~iso ir87 ", "iso 2022-1994"),
    ],
)
def test_spellings_of_a_jis_header(charsets: str, scheme: str) -> None:
    msh = MSH.replace("|UNICODE UTF-8", f"|{charsets}||{scheme}")
    read_message = read(message(JIS_PID, OBR, WBC, msh=msh).encode("iso2022_jp"))
    assert read_message.groups[0].patient.family == "奥田"  # type: ignore[union-attr]
    assert charset_issues(read_message) == []


def test_kanji_in_msh_before_msh18_do_not_hide_it() -> None:
    # 日 is 0x46 0x7C ("F|"): in MSH-4 it would shift every field after it if split as bytes.
    msh = JIS_MSH.replace("|RIVERSIDE^2.16.840.1.113883.3.8821^ISO|", "|日赤検査部|")
    read_message = read(message(JIS_PID, OBR, WBC, msh=msh).encode("iso2022_jp"))
    assert read_message.sending_facility == "日赤検査部"
    assert read_message.groups[0].patient.family == "奥田"  # type: ignore[union-attr]
    assert charset_issues(read_message) == []


# A woman's given name with 鷗, in JIS X 0212 only; a man's Korean name in KS X 1001.
KANJI_0212_PID = "PID|1||MRN100872^^^RIVERSIDE^MR||森^鷗子||19790302|F"
KOREAN_PID = "PID|1||MRN100873^^^RIVERSIDE^MR||김^관수||19850412|M"


@pytest.mark.parametrize(
    ("charsets", "pid", "codec", "escape", "given"),
    [
        # 鷗 is in JIS X 0212 only (ESC $ ( D): ISO-2022-JP-1
        pytest.param(
            "~ISO IR87~ISO IR159",
            KANJI_0212_PID,
            "iso2022_jp_1",
            b"\x1b$(D",
            "鷗子",
            id="jis-x-0212-kanji-in-iso-2022-jp-1",
        ),
        # KS X 1001 designated into G0 (ESC $ ( C) as ISO-2022-JP-2 writes it
        pytest.param(
            "~KS X 1001",
            KOREAN_PID,
            "iso2022_jp_2",
            b"\x1b$(C",
            "관수",
            id="korean-names-designated-into-g0-in-iso-2022-jp-2",
        ),
    ],
)
def test_a_double_byte_set_announced_in_msh_18_is_read(
    charsets: str, pid: str, codec: str, escape: bytes, given: str
) -> None:
    msh = MSH.replace("|UNICODE UTF-8", f"|{charsets}||ISO 2022-1994")
    data = message(pid, OBR, WBC, msh=msh).encode(codec)
    assert escape in data
    read_message = read(data)
    assert read_message.groups[0].patient.given == (given,)  # type: ignore[union-attr]
    assert charset_issues(read_message) == []


def test_a_set_the_header_does_not_announce_is_read_with_a_warning() -> None:
    data = message(KANJI_0212_PID, OBR, WBC, msh=JIS_MSH).encode("iso2022_jp_1")
    read_message = read(data)
    assert read_message.groups[0].patient.given == ("鷗子",)  # type: ignore[union-attr]
    found = issue(read_message, "hl7v2.charset-switching-undeclared")
    assert found.severity is Severity.WARNING
    assert found.location == "MSG[1]/MSH[1]-18"
    assert found.text == (
        "escape sequences switch to ISO IR159, which MSH-18 '~ISO IR87' does not announce: "
        "read as iso2022_jp_1"
    )


@pytest.mark.parametrize("charsets", ["", "UNICODE UTF-8", "ASCII"])
def test_escape_sequences_under_a_seven_bit_label_are_read_as_iso_2022(charsets: str) -> None:
    msh = MSH.replace("|UNICODE UTF-8", f"|{charsets}")
    read_message = read(message(JIS_PID, OBR, WBC, msh=msh).encode("iso2022_jp"))
    assert read_message.groups[0].patient.family == "奥田"  # type: ignore[union-attr]
    assert read_message.groups[0].patient.given == ("五十嵐", "服部")  # type: ignore[union-attr]
    found = issue(read_message, "hl7v2.charset-switching-undeclared")
    assert found.text.startswith(f"escape sequences switch to ISO IR87, which MSH-18 {charsets!r}")
    assert found.text.endswith("read as iso2022_jp")


def test_jis_x_0201_roman_gives_its_own_yen_and_overline() -> None:
    # ESC ( J: 0x5C is the yen sign and 0x7E the overline there, not \ and ~.
    msh = MSH.replace("|UNICODE UTF-8", "|~ISO IR14~ISO IR87||ISO 2022-1994")
    note = "NTE|1||\x1b(J\\500 \x1b(B\\.br\\ok"
    text = message(JIS_PID, OBR, WBC, msh=msh).encode("iso2022_jp") + note.encode() + b"\r"
    (result,) = results(read(text))
    assert result.notes == ("¥500 \nok",)


def test_korean_names_in_ks_x_1001_with_shift_out_and_in() -> None:
    # ISO-2022-KR: ESC $ ) C once, then SO … SI; 관 is 0x30 0x7C ("0|").
    msh = MSH.replace("|UNICODE UTF-8", "|~KS X 1001||ISO 2022-1994")
    data = message(KOREAN_PID, OBR, WBC, msh=msh).encode("iso2022_kr")
    assert b"0|" in data
    read_message = read(data)
    patient = read_message.groups[0].patient
    assert patient is not None
    assert (patient.family, patient.given) == ("김", ("관수",))
    assert charset_issues(read_message) == []


def test_a_single_ks_x_1001_is_still_euc_kr() -> None:
    msh = MSH.replace("|UNICODE UTF-8", "|KS X 1001")
    read_message = read(message(KOREAN_PID, OBR, WBC, msh=msh).encode("euc_kr"))
    assert read_message.groups[0].patient.given == ("관수",)  # type: ignore[union-attr]
    assert read_message.charset == "KS X 1001"


# 田中 is ESC $ B "ED" "Cf": no delimiter byte, so the message splits right even undecoded.
PLAIN_PID = "PID|1||MRN100874^^^RIVERSIDE^MR||田中^Hanako||19900101|F"


@pytest.mark.parametrize(
    ("charsets", "scheme", "why"),
    [
        (
            "~CNS 11643-1992",
            "",
            "MSH-18 '~CNS 11643-1992' with ISO 2022 switching: no codec decodes CNS 11643-1992",
        ),
        (
            "8859/1~ISO IR87",
            "ISO 2022-1994",
            "MSH-18 '8859/1~ISO IR87' with ISO 2022 switching: no codec decodes 8859/1",
        ),
        (
            "~ISO IR87",
            "2.3",
            (
                "MSH-20 switches the sets of '~ISO IR87' by escape sequences "
                "\\C..\\ and \\M..\\ (HL7 2.3 scheme)"
            ),
        ),
        (
            "~ISO IR87",
            "ISO 2022-1986",
            (
                "MSH-20 switches the sets of '~ISO IR87' by "
                "'ISO 2022-1986' (not an HL7 table 0356 scheme)"
            ),
        ),
    ],
)
def test_combinations_that_cannot_be_decoded_faithfully_keep_an_issue(
    charsets: str, scheme: str, why: str
) -> None:
    msh = MSH.replace("|UNICODE UTF-8", f"|{charsets}||{scheme}")
    read_message = read(message(PLAIN_PID, OBR, WBC, msh=msh).encode("iso2022_jp"))
    found = issue(read_message, "hl7v2.charset-switching-unsupported")
    assert found.severity is Severity.WARNING
    assert found.location == "MSG[1]/MSH[1]-18"
    assert found.text == (
        f"{why}; read without switching, escape sequences kept in the text (ESC as U+FFFD), "
        "and fields may be cut where a two-byte character holds a delimiter byte"
    )
    # FHIR strings cannot hold ESC (a control character): each is replaced, with a warning.
    assert read_message.groups[0].patient.family == "\ufffd$BEDCf\ufffd(B"  # type: ignore[union-attr]
    assert issue(read_message, "hl7v2.control-character").location == "MSG[1]/PID[1]-5"


def test_a_message_announcing_jis_but_sent_as_utf8_says_so() -> None:
    read_message = read(message(JIS_PID, OBR, WBC, msh=JIS_MSH).encode("utf-8"))
    assert read_message.groups[0].patient.family == "奥田"  # type: ignore[union-attr]
    found = issue(read_message, "hl7v2.charset-wrong")
    assert found.text == (
        "the message is not valid '~ISO IR87' (iso2022_jp); it is valid UTF-8: read as UTF-8"
    )


def test_hex_escapes_are_decoded_with_the_switching_codec() -> None:
    # \X1B2442...1B2842\ is ESC $ B 血液 ESC ( B written as hexadecimal bytes.
    note = "NTE|1||\\X1B2442376C31551B2842\\ OK"
    assert "血液".encode("iso2022_jp") == bytes.fromhex("1B2442376C31551B2842")
    data = message(JIS_PID, OBR, WBC, note, msh=JIS_MSH).encode("iso2022_jp")
    (result,) = results(read(data))
    assert result.notes == ("血液 OK",)


def test_a_jis_batch_converts_end_to_end() -> None:
    first = message(JIS_PID, OBR, WBC, msh=JIS_MSH)
    second = message(PLAIN_PID, OBR, WBC, msh=JIS_MSH.replace("RS24-000117", "RS24-000118"))
    data = ("FHS|^~\\&|CORELAB\rBHS|^~\\&|CORELAB\r" + first + second + "BTS|2\rFTS|1\r").encode(
        "iso2022_jp"
    )
    chunks = list(hl7v2.split_bytes(data))
    assert len(chunks) == 2
    conversion = leukoflag.convert(data)
    assert conversion.rejected == []
    names = [
        entry["resource"]["name"][0]
        for bundle in conversion.bundles
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Patient"
    ]
    assert names == [
        {"family": "奥田", "given": ["五十嵐", "服部"]},
        {"family": "田中", "given": ["Hanako"]},
    ]


def test_escape_sequences_to_a_set_without_a_codec_row_keep_an_issue() -> None:
    # ESC $ A designates GB 2312, which no table 0211 name announces under ISO 2022.
    pid = "PID|1||MRN100875^^^RIVERSIDE^MR||\x1b$ATU\x1b(B^Wei||19880808|M"
    read_message = read(message(pid, OBR, WBC))  # MSH-18 UNICODE UTF-8
    found = issue(read_message, "hl7v2.charset-switching-unsupported")
    assert found.text.startswith(
        "escape sequences in a message whose MSH-18 is 'UNICODE UTF-8': no codec decodes ESC $ A;"
    )
    assert read_message.groups[0].patient.family == "\ufffd$ATU\ufffd(B"  # type: ignore[union-attr]


def test_strict_mode_checks_a_jis_message_after_decoding_it() -> None:
    data = message(JIS_PID, OBR, WBC, msh=JIS_MSH).encode("iso2022_jp")
    assert hl7v2.validate_structure(data, settings=leukoflag.Settings(strict=True)) == []
