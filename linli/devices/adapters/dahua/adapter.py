"""Dahua: the Django side of the adapter (device lookup, handing events on).

Two ways in:

* the platform pulls ``eventManager.cgi?action=attach`` from each device (HTTP Digest): the puller
  knows the device and feeds the stream through ``codec.AttachStream``, then ``deliver``;
* "event HTTP upload" / RPC pushes to ``/api/v1/devices/ingest/dahua/<token>`` (``push_token``:
  ``<device key>.<HMAC of the device secret>``); events carry no device identity, so the token
  names the device. ``handle(raw, vendor_id=…)`` maps a serial to a device registered with adapter
  "dahua" for callers that only know the serial; unknown serials are counted as rejected.

Access events go to ``linli.access.events.record_vendor_events``; plate reads to
``linli.parking.services.plate_read_record`` (both imported when first needed).
"""

from __future__ import annotations

import hashlib
import hmac
import zlib

from django.db.models import F
from django.utils import timezone

from linli.devices.adapters.dahua import codec
from linli.devices.canonical import Rejected

ADAPTER = "dahua"


def push_token(device) -> str:
    mac = hmac.new(device.secret.encode(), f"linli-push:{ADAPTER}:{device.key}".encode(), hashlib.sha256)
    return f"{device.key}.{mac.hexdigest()[:32]}"


def device_for_token(token: str):
    from linli.devices.models import Device

    key, dot, _mac = (token or "").rpartition(".")
    if not dot or not key or len(token) > 120:
        return None
    device = Device.objects.filter(key=key, adapter=ADAPTER).first()
    if device is None or not device.secret:
        return None
    return device if hmac.compare_digest(push_token(device), token) else None


def sample_text(raw: bytes | str) -> str:
    """A rejected body as a storable sample: at most 500 characters, no NUL (PostgreSQL text)."""
    text = raw[:500].decode("utf-8", "replace") if isinstance(raw, bytes) else raw[:500]
    return text.replace("\x00", "\ufffd")


def _result(stored: int = 0, duplicates: int = 0, rejected: int = 0) -> dict:
    return {"stored": stored, "duplicates": duplicates, "rejected": rejected}


def inflate(raw: bytes, content_encoding: str = "") -> bytes:
    """Bodies that claim ``Content-Encoding: deflate`` are often plain text (§2.1): inflate when it
    works, else take the bytes as they are."""
    if "deflate" not in (content_encoding or "").lower():
        return raw
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        try:
            out = zlib.decompressobj(wbits)
            data = out.decompress(raw, codec.MAX_BODY + 1)
            if len(data) > codec.MAX_BODY:
                raise Rejected("too_large")
            return data
        except zlib.error:
            continue
    return raw


def deliver(device, decoded: codec.Decoded) -> dict:
    stored = duplicates = 0
    if decoded.events:
        from linli.access.gate.vendor_events import record_vendor_events

        counts = record_vendor_events(device=device, events=list(decoded.events))
        stored += int(counts.get("stored", 0))
        duplicates += int(counts.get("duplicates", 0))
    for read in decoded.plates:
        from linli.parking.services import plate_read_record

        plate_read_record(device=device, read=read)
        stored += 1
    from linli.devices.models import Device

    Device.objects.filter(pk=device.pk).update(
        online=True, last_seen_at=timezone.now(), accepted_count=F("accepted_count") + stored
    )
    return _result(stored, duplicates)


def handle(
    raw: bytes, *, device=None, vendor_id: str = "", content_type: str = "", content_encoding: str = ""
) -> dict:
    """One upload (attach-stream text or JSON / RPC) of ``device`` (or of the device registered
    with ``vendor_id``). Unknown devices are counted and sampled as rejected messages."""
    from linli.devices.ingest import record_rejected
    from linli.devices.models import Device

    decoded = codec.decode(inflate(raw, content_encoding), content_type)
    if device is None:
        device = Device.objects.filter(adapter=ADAPTER, vendor_id=vendor_id).first() if vendor_id else None
        if device is None:
            record_rejected(
                reason="unknown_device",
                topic=sample_text(f"http:{ADAPTER}/{vendor_id or '?'}"),
                sample=sample_text(raw),
            )
            return _result(rejected=1)
    if not decoded.events and not decoded.plates:
        if decoded.heartbeats:
            Device.objects.filter(pk=device.pk).update(online=True, last_seen_at=timezone.now())
        return _result()
    return deliver(device, decoded)
