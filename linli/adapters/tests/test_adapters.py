"""Replay every captured fixture through its codec and assert the exact canonical messages."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command

from linli.adapters import registry
from linli.adapters.ctiot_legacy import codec as ctiot
from linli.adapters.ctwing import codec as ctwing
from linli.adapters.gb26875 import codec as gb
from linli.adapters.lian import codec as lian
from linli.adapters.onenet import codec as onenet
from linli.adapters.wanlin import codec as wanlin
from linli.devices.canonical import Rejected, seq_from_key

ROOT = Path(registry.__file__).parent
TOKEN = "linli-test-token"


def fx(adapter: str, name: str):
    return json.loads((ROOT / adapter / "fixtures" / f"{name}.json").read_text(encoding="utf-8"))


def compact(body) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def test_check_adapters_command_passes(capsys):
    call_command("check_adapters")
    assert "9 adapters OK" in capsys.readouterr().out
    assert registry.check_all() == []


def test_ctwing_lian_lwm2m_smoke():
    [m] = ctwing.decode(fx("ctwing", "aep-datareport-lwm2m-smoke-lian"))
    assert (m.device_key, m.kind) == ("d0000000000000000000000000000002", "telemetry")
    assert m.values == {
        "temperature": 30,
        "snr": 1,
        "rssi": -114,
        "csq": 5,
        "battery": 100,
        "alarm_status": 2,
    }
    assert m.ts == datetime(2020, 12, 3, 7, 58, 40, 277000, tzinfo=UTC)


def test_ctwing_uitd_fire_json():
    [m] = ctwing.decode(fx("ctwing", "aep-datareport-uitd-fire-json"))
    assert (m.device_key, m.kind, m.event) == ("1500000601", "event", "early_warning")
    assert m.data == {"class": 22, "parts": [{"id": "01000917010374", "value": "1", "type": "1"}]}
    assert m.seq == seq_from_key("ctwing-uitd", "1500000601", 1609293816509)


def test_ctwing_object_model_event_status_and_command():
    [m] = ctwing.decode(fx("ctwing", "aep-datareport-object-model"))
    assert m.values == {"liquid_level": 402}
    [e] = ctwing.decode(fx("ctwing", "aep-eventreport-low-battery"))
    assert (e.event, e.data["event_type"]) == ("low_battery", 2)
    [s] = ctwing.decode(fx("ctwing", "aep-device-online"))
    assert (s.kind, s.values) == ("status", {"online": True})
    assert ctwing.decode(fx("ctwing", "aep-command-response")) == []


@pytest.mark.parametrize("name", ["aep-datareport-passthrough", "aep-datareport-string-sn"])
def test_ctwing_binary_passthrough_needs_a_vendor_codec(name):
    with pytest.raises(Rejected) as exc:
        ctwing.decode(fx("ctwing", name))
    assert exc.value.reason == "unsupported_payload"


def test_ctwing_seq_is_stable_for_redelivery():
    body = fx("ctwing", "aep-datareport-lwm2m-smoke-lian")
    assert ctwing.decode(body)[0].seq == ctwing.decode(json.loads(json.dumps(body)))[0].seq
    assert ctwing.decode({**body, "upPacketSN": 77})[0].seq == 77


def test_ctiot_legacy_wanlin_nb_smoke():
    [m] = ctiot.decode(fx("ctiot_legacy", "nb-smoke-devicedatachanged-wanlin"))
    assert m.values == {"temperature": 21.9, "smoke_density": 0, "battery": 100, "csq": 12}
    assert m.ts == datetime(2020, 4, 1, 18, 25, 5, tzinfo=UTC)
    alarm = fx("ctiot_legacy", "nb-smoke-devicedatachanged-wanlin")
    alarm["service"]["data"]["devState"] = 1
    assert [x.event for x in ctiot.decode(alarm)] == [None, "smoke_alarm"]


def test_onenet_classic_and_studio_decode():
    [m] = onenet.decode(fx("onenet", "classic-push-datapoint"))
    assert (m.device_key, m.values, m.seq) == (
        "500000001",
        {"temperature": 42},
        seq_from_key("onenet", "500000001", "temperature", 1466133706841),
    )
    [s] = onenet.decode(fx("onenet", "classic-push-online"))
    assert s.values == {"online": True}
    [p] = onenet.decode(fx("onenet", "studio-push-property"))
    assert (p.device_key, p.values) == ("smoke-0001", {"Power": "on", "WF": 23.6, "battery_status": 4})
    [lc] = onenet.decode(fx("onenet", "studio-push-lifecycle"))
    assert lc.values == {"online": False}


@pytest.mark.parametrize(
    "name",
    [
        "classic-push-datapoint",
        "classic-push-nbiot-datapoint",
        "classic-push-online",
        "studio-push-property",
        "studio-push-lifecycle",
    ],
)
def test_onenet_signatures(name):
    body = fx("onenet", name)
    assert onenet.verify_push(compact(body), body, TOKEN) is True
    assert onenet.verify_push(compact(body), body, "wrong-token") is False
    tampered = json.loads(json.dumps(body))
    if isinstance(tampered["msg"], dict):
        tampered["msg"]["at"] += 1
    else:
        tampered["msg"] = tampered["msg"].replace("P0000001", "P0000002")
    assert onenet.verify_push(compact(tampered), tampered, TOKEN) is False


def test_lian_points_alarms_status():
    [m] = lian.decode(fx("lian", "electrical-realtime-composed"))
    assert m.values == {
        "residual_current": 38,
        "cable_temperature_a": 31.5,
        "cable_temperature_b": 30.9,
        "cable_temperature_c": 32,
        "cable_temperature_n": 29.8,
    }
    [a] = lian.decode(fx("lian", "electrical-alarm-residual-current-composed"))
    assert (a.device_key, a.event, a.data) == (
        "300000001",
        "leakage",
        {"alarm_type": "201", "point": "residual_current", "value": 356},
    )
    [v] = lian.decode(fx("lian", "electrical-push-verbatim-shape"))
    assert (v.event, v.data["alarm_type"]) == ("alarm", "10")  # " alarmType" key trimmed
    [s] = lian.decode(fx("lian", "electrical-online-status-composed"))
    assert s.values == {"online": True}


def test_wanlin_electrical_and_fire_host():
    [t] = wanlin.decode(fx("wanlin", "electrical-heartbeat-0301"))
    assert t.values == {
        "residual_current_1": 0,
        "cable_temperature_1": 0,
        "residual_current_2": 0.02,
        "cable_temperature_2": 0,
        "residual_current_3": 0.01,
        "cable_temperature_3": 0,
        "residual_current_4": 0.04,
        "cable_temperature_4": 0,
        "signal": 17,
    }
    [n] = wanlin.decode(fx("wanlin", "electrical-heartbeat-0301-numeric"))
    assert (n.values["residual_current_2"], n.values["cable_temperature_1"]) == (1, 30)
    t2, e = wanlin.decode(fx("wanlin", "electrical-event-0302-overcurrent"))
    assert (t2.kind, e.event, e.data, e.ts) == (
        "telemetry",
        "over_current",
        {"code": "1361"},
        datetime(2020, 5, 20, 3, 13, 50, tzinfo=UTC),
    )
    [sos] = wanlin.decode(fx("wanlin", "firehost-lora-alarm-sos"))
    assert (sos.device_key, sos.event, sos.data["address"]) == ("868000000000000001", "sos", "251")
    [tamper] = wanlin.decode(fx("wanlin", "firehost-lora-alarm-tamper"))
    assert tamper.event == "tamper"


def test_gb26875_component_fire_alarm_frame():
    [m] = gb.decode(fx("gb26875", "uitd-frame-component-fire-alarm"))
    assert (m.device_key, m.kind, m.event) == ("000000000000", "event", "fire_alarm")
    assert m.data == {
        "system_type": 1,
        "system_address": 3,
        "component_type": 0,
        "component_address": 393433,
        "description": "Ａ区１层走廊东",
        "status": 2,
    }
    assert m.ts == datetime(2020, 8, 1, 11, 18, 48, tzinfo=UTC)  # 19:18:48 local (UTC+8)
    assert gb.decode(fx("gb26875", "uitd-frame-confirm")) == []


def test_gb26875_bad_checksum_and_confirm_answer():
    frame = bytes.fromhex(fx("gb26875", "uitd-frame-component-fire-alarm")["frame_hex"])
    broken = frame[:-3] + bytes([(frame[-3] + 1) % 256]) + frame[-2:]
    with pytest.raises(Rejected) as exc:
        gb.decode(broken)
    assert exc.value.reason == "bad_frame"
    answer = gb.parse_frame(gb.confirm_frame(frame))
    assert (answer["command"], answer["serial"], answer["destination"]) == (3, 0, "000000000000")
