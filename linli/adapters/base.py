"""Helpers shared by the thin ``adapter.py`` modules (Django side of an adapter)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson
from django.db.models import F
from django.utils import timezone

from linli.core import events
from linli.devices import ingest
from linli.devices.canonical import Message, PlateRead, Rejected, VendorAccessEvent
from linli.devices.events import AccessEventsReported, PlatesRead, Tally
from linli.devices.models import Device


def json_body(raw: bytes) -> Any:
    """A cloud push's JSON body; ``Rejected("bad_json")`` when it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Rejected("bad_json") from None


def resolve_and_ingest(adapter_key: str, messages: list[Message], *, sample: bytes) -> ingest.IngestResult:
    """Map vendor ids to registered devices, count unknown ones as rejected, ingest the rest."""
    via = f"http:{adapter_key}"
    if not messages:
        return ingest.IngestResult()
    keys = ingest.device_keys_for_vendor(adapter_key, {m.device_key for m in messages})
    known = [replace(m, device_key=keys[m.device_key]) for m in messages if keys.get(m.device_key)]
    unknown = sorted({m.device_key for m in messages if not keys.get(m.device_key)})
    result = ingest.ingest(known, via=via) if known else ingest.IngestResult()
    for vendor_id in unknown:
        ingest.record_rejected(reason="unknown_device", topic=f"{via}/{vendor_id}"[:255], sample=sample)
        result.rejected += 1
        result.reasons["unknown_device"] += 1
    return result


# --- devices that push to a per-device secret URL (door controllers, gate cameras) ------------------


def push_token(adapter_key: str, device) -> str:
    """The secret path segment of the device's push URL: ``<device key>.<HMAC of the device secret>``
    (show it once when configuring the device; rotating the secret changes it)."""
    mac = hmac.new(device.secret.encode(), f"linli-push:{adapter_key}:{device.key}".encode(), hashlib.sha256)
    return f"{device.key}.{mac.hexdigest()[:32]}"


def device_for_token(adapter_key: str, token: str):
    """The device of ``adapter_key`` whose push URL holds ``token`` (constant-time check), or None."""
    key, dot, _mac = (token or "").rpartition(".")
    if not dot or not key or len(token) > 120:
        return None
    device = Device.objects.filter(key=key, adapter=adapter_key).first()
    if device is None or not device.secret:
        return None
    return device if hmac.compare_digest(push_token(adapter_key, device), token) else None


def sample_text(raw: bytes | str) -> str:
    """A rejected body as a storable sample: at most 500 characters, no NUL (PostgreSQL text)."""
    text = raw[:500].decode("utf-8", "replace") if isinstance(raw, bytes) else raw[:500]
    return text.replace("\x00", "\ufffd")


def result(stored: int = 0, duplicates: int = 0, rejected: int = 0) -> dict:
    """A push's answer to the device."""
    return {"stored": stored, "duplicates": duplicates, "rejected": rejected}


def deliver(device, *, access: Sequence[VendorAccessEvent] = (), plates: Sequence[PlateRead] = ()) -> dict:
    """Announce decoded access events and plate reads (the access and parking apps subscribe) and
    update the device's health; the answer counts what the subscribers stored."""
    stored = duplicates = 0
    if access:
        for reply in events.publish(AccessEventsReported(device_id=device.pk, events=tuple(access))):
            if isinstance(reply, Tally):
                stored += reply.stored
                duplicates += reply.duplicates
    if plates:
        events.publish(PlatesRead(device_id=device.pk, reads=tuple(plates)))
        stored += len(plates)
    Device.objects.filter(pk=device.pk).update(
        online=True, last_seen_at=timezone.now(), accepted_count=F("accepted_count") + stored
    )
    return result(stored, duplicates)
