"""Resource ids: UUIDv5 over stable message content; same message → byte-identical Bundle."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import uuid
from typing import Any, TypedDict, Unpack

import orjson
import pytest
from fhir_builders import message, obr, obx, resources, spm, write

import leukoflag
from leukoflag import fhir
from leukoflag.fhir import _ids as ids_module
from leukoflag.fhir._ids import NAMESPACE, resource_id
from leukoflag.model import Message, Timestamp

CONTROL_ID = "RVL20261124090241-0042"


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle["entry"]]


class _Header(TypedDict, total=False):  # the MSH fields these tests vary
    sending_application: str
    sending_facility: str
    timestamp: Timestamp


def _message(control_id: str = CONTROL_ID, index: int = 1, **msh: Unpack[_Header]) -> Message:
    order = obr(obx(1, "3.1"), obx(2, "1.2"), specimens=(spm(1),))
    return message(order, control_id=control_id, index=index, **msh)


def test_namespace_is_uuid5_of_the_leukoflag_url() -> None:
    assert uuid.uuid5(uuid.NAMESPACE_URL, "http://leukoflag.org/fhir/id") == NAMESPACE


def test_ids_are_uuid5_of_message_key_type_and_path() -> None:
    bundle, _ = write(_message())
    key = ("v2", "RIVERSIDE_LIS", "RVS_HOSP", CONTROL_ID, "202611240902410500")
    name = orjson.dumps([*key, "Observation", "OBX[1]"]).decode()
    first_observation = resources(bundle, "Observation")[0]
    assert first_observation["id"] == str(uuid.uuid5(NAMESPACE, name))
    assert resource_id(key, "Observation", "OBX[1]") == first_observation["id"]


def test_ids_are_the_same_without_the_interpreters_own_sha1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = ("v2", "RIVERSIDE_LIS", "RVS_HOSP", CONTROL_ID, "202611240902410500")
    usual = resource_id(key, "Observation", "OBX[1]")

    def missing(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(importlib, "import_module", missing)
    monkeypatch.setattr(ids_module, "_SHA1", ids_module._sha1_constructor())
    assert resource_id(key, "Observation", "OBX[1]") == usual


def test_same_message_twice_gives_byte_identical_json() -> None:
    first, _ = write(_message())
    second, _ = write(_message())
    assert fhir.dumps(first) == fhir.dumps(second)


def test_ids_do_not_depend_on_where_the_message_sits_in_its_input() -> None:
    first, _ = write(_message(index=1))
    seventh, _ = write(dataclasses.replace(_message(index=1), index=7, source="other.hl7"))
    assert _ids(first) == _ids(seventh)


def test_ids_are_unique_within_a_bundle() -> None:
    bundle, _ = write(_message())
    ids = _ids(bundle)
    assert len(ids) == len(set(ids)) == 8


def test_different_messages_never_share_an_id() -> None:
    sent = _message().timestamp
    assert sent is not None
    variants = [
        _message(),
        _message(control_id="RVL20261124090241-0043"),
        _message(sending_facility="RVS_NORTH"),
        _message(sending_application="OTHER_LIS"),
        # a control-id counter reset on another day: MSH-7 tells the messages apart
        _message(timestamp=dataclasses.replace(sent, text="202611250902410500")),
    ]
    seen: set[str] = set()
    for variant in variants:
        bundle, _ = write(variant)
        ids = set(_ids(bundle)) | {bundle["id"]}
        assert not ids & seen
        seen |= ids


def test_message_without_control_id_gets_content_ids_and_an_issue() -> None:
    bundle, issues = write(_message(control_id=""))
    again, _ = write(dataclasses.replace(_message(control_id=""), index=3))
    other, _ = write(message(obr(obx(1, "3.2")), control_id=""))
    assert _ids(bundle) == _ids(again)
    assert not set(_ids(bundle)) & set(_ids(other))
    assert [i.code for i in issues] == ["fhir.no-control-id"]
    # ids are per message with or without MSH-10: the text must not suggest a resend keeps them
    assert issues[0].text == (
        "the message has no control id (MSH-10): resource ids are derived from its content: "
        "the same message sent again gets the same ids, any change to it new ones"
    )
    assert "identifier" not in bundle


_NO_CONTROL_ID = (
    "MSH|^~\\&|HEMLAB|RIVERTON|EHR|RIVERTON|20261124101522-0600||ORU^R01||P|2.5.1",
    "PID|1||RV-2231^^^RIVERTON^MR||ODUYA^GRACE||19610304|F",
    "OBR|1|PL-2^EHR|FL-2^HEMLAB|58410-2^CBC panel - Blood^LN|||20261124093000-0600",
    "OBX|1|NM|6690-2^Leukocytes^LN||3.1|10*3/uL|4.0-11.0|L|||F",
)


def test_without_control_id_the_ids_come_from_the_segments_as_sent() -> None:
    # the key hashed the repr of leukoflag's model: a new model field (a new leukoflag version)
    # changed every id, and a replay after an upgrade duplicated the resources
    digest = hashlib.sha256("\r".join(_NO_CONTROL_ID).encode()).hexdigest()
    key = ["v2-content", digest]
    for ending in ("\r", "\r\n", "\n"):
        data = (ending.join(_NO_CONTROL_ID) + ending).encode()
        for position in (1, 2):
            conversion = leukoflag.convert(data * position)
            bundle = conversion.bundles[position - 1]
            (wbc,) = resources(bundle, "Observation")
            assert wbc["id"] == resource_id(tuple(key), "Observation", "OBX[1]"), (ending, position)


def test_a_message_built_by_hand_without_control_id_keeps_its_ids_across_model_fields() -> None:
    # Without MSH-10 the key of a Message built by hand hashes its repr: the model fields added
    # for the universal IDs of MSH-3 to MSH-6 changed every id of such a message (a replay
    # after the upgrade duplicated its resources). The digest is that of leukoflag before them.
    key = ids_module.message_key(_message(control_id=""))
    expected = "e245a36dfc760c98dc88153436e54f251df5a3a626ed7693a2a0214989dbfe83"
    assert key == (("v2-content", expected), False)


def _two_labs(facility: str, patient: str) -> bytes:
    # Two hospital labs of one network, both named CENTRAL and told apart by their OIDs, on the
    # same LIS product with the same daily control-id counter.
    return (
        f"MSH|^~\\&|HEMLAB|{facility}|EHR|HIE|20261124101522-0600||ORU^R01|000481|P|2.5.1\r"
        f"PID|1||{patient}||ODUYA^GRACE||19610304|F\r"
        "OBR|1|PL-2^EHR|FL-7734^HEMLAB|58410-2^CBC panel - Blood^LN|||20261124093000-0600\r"
        "OBX|1|NM|6690-2^Leukocytes^LN||3.1|10*3/uL|4.0-11.0|L|||F\r"
    ).encode()


def test_facilities_that_differ_only_by_universal_id_never_share_an_id() -> None:
    north = leukoflag.convert(_two_labs("CENTRAL^2.16.840.1.113883.3.5501^ISO", "N-2231"))
    south = leukoflag.convert(_two_labs("CENTRAL^2.16.840.1.113883.3.5502^ISO", "S-90417"))
    (north_bundle,), (south_bundle,) = north.bundles, south.bundles
    assert not (
        {north_bundle["id"], *_ids(north_bundle)} & {south_bundle["id"], *_ids(south_bundle)}
    )
    (provenance,) = resources(south_bundle, "Provenance")
    (source,) = provenance["extension"]
    assert {"url": "sendingFacility", "valueString": "CENTRAL^2.16.840.1.113883.3.5502^ISO"} in (
        source["extension"]
    )


def test_a_facility_sent_by_name_alone_keeps_the_ids_it_had() -> None:
    # the universal ID joins the key only when sent: ids written before stay the same
    (bundle,) = leukoflag.convert(_two_labs("CENTRAL", "N-2231")).bundles
    key = ("v2", "HEMLAB", "CENTRAL", "000481", "20261124101522-0600")
    (wbc,) = resources(bundle, "Observation")
    assert wbc["id"] == resource_id(key, "Observation", "OBX[1]")


@pytest.mark.parametrize(
    "stamp", ["20261124101522.1234567891-0600", "20261124101522+1430", "20261124101522-1445"]
)
def test_an_msh_7_fhir_cannot_hold_still_keys_the_ids_as_sent(stamp: str) -> None:
    # MSH-7 with ten decimals or a +14:30 offset is hl7v2.timestamp-invalid and not read: the
    # key lost it, so a lab restarting its control-id counter got one Bundle id for each such
    # message (one PUT over the other), and the ids differed from those written before.
    data = _two_labs("CENTRAL", "N-2231").replace(b"20261124101522-0600", stamp.encode())
    conversion = leukoflag.convert(data)
    assert "hl7v2.timestamp-invalid" in {i.code for i in conversion.issues}
    (bundle,) = conversion.bundles
    key = ("v2", "HEMLAB", "CENTRAL", "000481", stamp)
    (wbc,) = resources(bundle, "Observation")
    assert wbc["id"] == resource_id(key, "Observation", "OBX[1]")


def test_receiving_universal_ids_are_written_in_the_provenance_but_not_in_the_ids() -> None:
    plain = _two_labs("CENTRAL^2.16.840.1.113883.3.5501^ISO", "N-2231")
    with_oids = plain.replace(
        b"|EHR|HIE|", b"|EHR^2.16.840.1.113883.3.77.1^ISO|HIE^2.16.840.1.113883.3.77^ISO|"
    )
    (bundle,) = leukoflag.convert(with_oids).bundles
    (provenance,) = resources(bundle, "Provenance")
    (source,) = provenance["extension"]
    assert {"url": "receivingApplication", "valueString": "EHR^2.16.840.1.113883.3.77.1^ISO"} in (
        source["extension"]
    )
    assert {"url": "receivingFacility", "valueString": "HIE^2.16.840.1.113883.3.77^ISO"} in (
        source["extension"]
    )
    (before,) = leukoflag.convert(plain).bundles
    assert _ids(bundle) == _ids(before)
