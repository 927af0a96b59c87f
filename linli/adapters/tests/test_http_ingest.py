import json
from pathlib import Path

import pytest
from django.test import Client

from linli.adapters import registry
from linli.devices.models import DeviceEvent, RejectedMessage, Telemetry
from linli.devices.tests import factories as f

ROOT = Path(registry.__file__).parent


def fx(adapter, name):
    return json.loads((ROOT / adapter / "fixtures" / f"{name}.json").read_text(encoding="utf-8"))


def body(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.fixture
def tokens(monkeypatch):
    monkeypatch.setenv("LINLI_ONENET_TOKEN", "linli-test-token")
    monkeypatch.setenv("LINLI_CTWING_TOKEN", "ctwing-subscription-token")


def test_onenet_signed_push_is_stored_once(world, tokens):
    dev, _secret = f.device(world.a, profile="temperature", adapter="onenet", vendor_id="500000001")
    raw = body(fx("onenet", "classic-push-datapoint"))
    first = Client().post("/api/v1/devices/ingest/onenet", raw, content_type="application/json")
    again = Client().post("/api/v1/devices/ingest/onenet", raw, content_type="application/json")
    assert (first.status_code, first.json()) == (200, {"stored": 1, "duplicates": 0, "rejected": 0})
    assert again.json() == {"stored": 0, "duplicates": 1, "rejected": 0}
    assert list(Telemetry.objects.filter(device=dev).values_list("values", flat=True)) == [
        {"temperature": 42}
    ]


def test_onenet_bad_signature_is_refused(world, tokens):
    f.device(world.a, profile="temperature", adapter="onenet", vendor_id="500000001")
    data = fx("onenet", "classic-push-datapoint")
    data["msg"]["value"] = 99
    response = Client().post("/api/v1/devices/ingest/onenet", body(data), content_type="application/json")
    assert response.status_code == 403
    assert Telemetry.objects.count() == 0


def test_onenet_url_verification(tokens):
    q = fx("onenet", "url-verification-request")["query"]
    ok = Client().get("/api/v1/devices/ingest/onenet", q)
    bad = Client().get("/api/v1/devices/ingest/onenet", {**q, "signature": "AAAAAAAAAAAAAAAAAAAAAA=="})
    assert (ok.status_code, ok.content) == (200, b"aB3dE5gH")
    assert bad.status_code == 403


def test_ctwing_token_required_and_unknown_device_answered_200(world, tokens):
    raw = body(fx("ctwing", "aep-datareport-uitd-fire-json"))
    denied = Client().post("/api/v1/devices/ingest/ctwing?token=nope", raw, content_type="application/json")
    unknown = Client().post(
        "/api/v1/devices/ingest/ctwing?token=ctwing-subscription-token", raw, content_type="application/json"
    )
    assert denied.status_code == 403
    assert (unknown.status_code, unknown.json()["rejected"]) == (200, 1)
    assert list(RejectedMessage.objects.values_list("reason", "topic")) == [
        ("unknown_device", "http:ctwing/1500000601")
    ]


def test_ctwing_uitd_fire_event_stored(world, tokens):
    dev, _secret = f.device(world.a, profile="fire_panel", adapter="ctwing", vendor_id="1500000601")
    raw = body(fx("ctwing", "aep-datareport-uitd-fire-json"))
    response = Client().post(
        "/api/v1/devices/ingest/ctwing",
        raw,
        content_type="application/json",
        headers={"X-Linli-Token": "ctwing-subscription-token"},
    )
    assert response.json() == {"stored": 1, "duplicates": 0, "rejected": 0}
    assert list(DeviceEvent.objects.filter(device=dev).values_list("event", flat=True)) == ["early_warning"]
