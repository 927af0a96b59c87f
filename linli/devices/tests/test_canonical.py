from datetime import UTC, datetime

import pytest

from linli.devices import canonical
from linli.devices.canonical import Rejected

TOPIC = "linli/v1/e1/smoke-1/telemetry"
SECRET = "s3cret"


def test_sign_and_verify_round_trip():
    body = {"seq": 1, "ts": 1777593600000, "values": {"smoke_density": 0.5, "温度": 21}}
    payload = canonical.encode(TOPIC, body, SECRET)
    message, sig = canonical.decode_payload(TOPIC, payload)
    assert message.values == {"smoke_density": 0.5, "温度": 21}
    assert message.seq == 1 and message.ts == datetime(2026, 5, 1, tzinfo=UTC)
    assert canonical.verify(TOPIC, {**body, "sig": sig}, sig, SECRET) is True


def test_forged_signature_and_other_topic_fail():
    body = {"seq": 1, "ts": 1777593600000, "values": {"smoke_density": 0.5}}
    sig = canonical.sign(TOPIC, body, SECRET)
    assert canonical.verify(TOPIC, body, sig, "other-secret") is False
    assert canonical.verify("linli/v1/e1/smoke-2/telemetry", body, sig, SECRET) is False
    assert canonical.verify(TOPIC, {**body, "seq": 2}, sig, SECRET) is False


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (TOPIC, b"x" * (8 * 1024 + 1), "oversize"),
        (TOPIC, b"{not json", "bad_json"),
        (TOPIC, b"[1]", "bad_json"),
        (TOPIC, b'{"ts": 1, "values": {"a": 1}}', "bad_seq"),
        (TOPIC, b'{"seq": -1, "ts": 1, "values": {"a": 1}}', "bad_seq"),
        (TOPIC, b'{"seq": true, "ts": 1, "values": {"a": 1}}', "bad_seq"),
        (TOPIC, b'{"seq": 1, "ts": "2026-05-01T08:00:00", "values": {"a": 1}}', "bad_ts"),
        (TOPIC, b'{"seq": 1, "ts": "yesterday", "values": {"a": 1}}', "bad_ts"),
        (TOPIC, b'{"seq": 1, "ts": 99999999999999, "values": {"a": 1}}', "bad_ts"),
        (TOPIC, b'{"seq": 1, "ts": 1, "values": {"a": {"nested": 1}}}', "bad_values"),
        ("linli/v1/e1/smoke-1/other", b'{"seq": 1, "ts": 1, "values": {"a": 1}}', "bad_topic"),
        ("other/e1/smoke-1/telemetry", b'{"seq": 1, "ts": 1, "values": {"a": 1}}', "bad_topic"),
        ("linli/v1/e1/smoke-1/event", b'{"seq": 1, "ts": 1}', "bad_event"),
        ("linli/v1/e1/smoke-1/status", b'{"seq": 1, "ts": 1, "online": "yes"}', "bad_status"),
    ],
)
def test_malformed_payloads_are_rejected(topic, payload, reason):
    with pytest.raises(Rejected) as exc:
        canonical.decode_payload(topic, payload)
    assert exc.value.reason == reason


def test_ts_with_offset_is_converted_to_utc():
    message, _sig = canonical.decode_payload(
        TOPIC, b'{"seq": 3, "ts": "2026-05-01T08:00:00+08:00", "values": {"a": 1}}'
    )
    assert message.ts == datetime(2026, 5, 1, 0, 0, tzinfo=UTC)


def test_seq_from_key_is_stable_int64():
    assert canonical.seq_from_key("onenet", 1, "x") == canonical.seq_from_key("onenet", 1, "x")
    assert 0 <= canonical.seq_from_key("a") < 2**63
    assert canonical.seq_from_key("a", "b") != canonical.seq_from_key("a", "c")
