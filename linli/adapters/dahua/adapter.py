"""Dahua: the Django side of the adapter (device lookup, handing events on).

Two ways in:

* the platform pulls ``eventManager.cgi?action=attach`` from each device (HTTP Digest): the puller
  knows the device and feeds the stream through ``codec.AttachStream``, then ``base.deliver``;
* "event HTTP upload" / RPC pushes to ``/api/v1/devices/ingest/dahua/<token>`` (``push_token``:
  ``<device key>.<HMAC of the device secret>``); events carry no device identity, so the token
  names the device. ``handle(raw, vendor_id=…)`` maps a serial to a device registered with adapter
  "dahua" for callers that only know the serial; unknown serials are counted as rejected.

Decoded access events and plate reads are announced (``devices.events.AccessEventsReported`` and
``PlatesRead``); the access and parking apps subscribe.
"""

from __future__ import annotations

import zlib

from django.utils import timezone

from linli.adapters import base
from linli.adapters.dahua import codec
from linli.devices.canonical import Rejected
from linli.devices.ingest import record_rejected
from linli.devices.models import Device

ADAPTER = "dahua"


def push_token(device) -> str:
    """The secret path segment of the device's push URL (show it once when configuring the device)."""
    return base.push_token(ADAPTER, device)


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


def handle(
    raw: bytes, *, device=None, vendor_id: str = "", content_type: str = "", content_encoding: str = ""
) -> dict:
    """One upload (attach-stream text or JSON / RPC) of ``device`` (or of the device registered
    with ``vendor_id``). Unknown devices are counted and sampled as rejected messages."""
    decoded = codec.decode(inflate(raw, content_encoding), content_type)
    if device is None:
        device = Device.objects.filter(adapter=ADAPTER, vendor_id=vendor_id).first() if vendor_id else None
        if device is None:
            record_rejected(
                reason="unknown_device",
                topic=base.sample_text(f"http:{ADAPTER}/{vendor_id or '?'}"),
                sample=base.sample_text(raw),
            )
            return base.result(rejected=1)
    if not decoded.events and not decoded.plates:
        if decoded.heartbeats:
            Device.objects.filter(pk=device.pk).update(online=True, last_seen_at=timezone.now())
        return base.result()
    return base.deliver(device, access=decoded.events, plates=decoded.plates)
