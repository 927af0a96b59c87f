"""Hikvision ISAPI: the Django side of the adapter (device lookup, handing events on, commands).

Pushes are not signed by the device (§1.7): each terminal posts to its own URL
``/api/v1/devices/ingest/hikvision/<token>`` where ``token`` = ``<device key>.<HMAC of the device
secret>`` (``push_token``; rotating the device secret changes it). The push's ``macAddress`` (or the
serial in ``deviceUUID``) must then belong to the device owning the token.

Access events go to ``linli.access.events.record_vendor_events``; plate reads to
``linli.parking.services.plate_read_record``. Both are imported when first needed.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import b64encode

from django.db.models import F
from django.utils import timezone

from linli.devices.adapters.hikvision import codec
from linli.devices.canonical import Rejected

ADAPTER = "hikvision"


def push_token(device) -> str:
    """The secret path segment of the device's push URL (show it once when configuring the device)."""
    mac = hmac.new(device.secret.encode(), f"linli-push:{ADAPTER}:{device.key}".encode(), hashlib.sha256)
    return f"{device.key}.{mac.hexdigest()[:32]}"


def device_for_token(token: str):
    """The device whose push URL holds ``token`` (constant-time check), or None."""
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


def resolve(decoded: codec.Decoded, device=None):
    """The registered device a push came from: the token's device (its MAC/serial must match when
    the device has one registered), else looked up by MAC/serial; None = unknown."""
    from linli.devices.models import Device

    if device is not None:
        if (
            device.vendor_id
            and decoded.vendor_ids
            and _canonical_id(device.vendor_id) not in decoded.vendor_ids
        ):
            raise Rejected("device_mismatch", ",".join(decoded.vendor_ids)[:100])
        return device
    if not decoded.vendor_ids:
        return None
    spellings = {s: i for i, v in enumerate(decoded.vendor_ids) for s in _spellings(v)}
    found = list(Device.objects.filter(adapter=ADAPTER, vendor_id__in=list(spellings)))
    found.sort(key=lambda d: spellings.get(d.vendor_id, 99))
    return found[0] if found else None


def _canonical_id(vendor_id: str) -> str:
    return codec.normalise_mac(vendor_id) or vendor_id.strip()


def _spellings(vendor_id: str) -> list[str]:
    """How a registered ``vendor_id`` may be written: a MAC with or without colons, either case."""
    if not codec.normalise_mac(vendor_id):
        return [vendor_id]
    bare = vendor_id.replace(":", "")
    return [vendor_id, vendor_id.upper(), bare, bare.upper(), vendor_id.replace(":", "-").upper()]


def deliver(device, decoded: codec.Decoded) -> dict:
    """Hand decoded events and plate reads to the access and parking apps; update device health."""
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


def handle(raw: bytes, *, content_type: str = "", query: dict | None = None, device=None) -> dict:
    """One push (any body form). Unknown senders are counted and sampled as rejected messages."""
    from linli.devices.ingest import record_rejected

    decoded = codec.decode(raw, content_type, query=query)
    if not decoded.events and not decoded.plates:
        return _result()  # heartbeat or an event type the platform does not use
    found = resolve(decoded, device)
    if found is None:
        vendor = decoded.vendor_ids[0] if decoded.vendor_ids else "?"
        record_rejected(
            reason="unknown_device", topic=sample_text(f"http:{ADAPTER}/{vendor}"), sample=sample_text(raw)
        )
        return _result(rejected=1)
    return deliver(found, decoded)


def handle_search(device, body: dict) -> tuple[dict, codec.SearchPage]:
    """One page of an ``AcsEvent`` catch-up search of ``device`` (stored events, ``live=False``)."""
    page = codec.decode_search(body)
    return deliver(device, codec.Decoded(events=page.events)), page


# --- commands ----------------------------------------------------------------------------------


def request_json(req: codec.IsapiRequest) -> dict:
    """An ISAPI request as JSON for a LAN relay (multipart bytes as base64)."""
    out: dict = {"method": req.method, "path": req.path, "content_type": req.content_type}
    if req.parts:
        out["parts"] = [
            {
                "name": p.name,
                "content_type": p.content_type,
                "filename": p.filename,
                **(
                    {"body": p.body} if isinstance(p.body, dict) else {"body_b64": b64encode(p.body).decode()}
                ),
            }
            for p in req.parts
        ]
    else:
        out["body"] = req.body
    return out


def render_command(command, sample: bytes | None = None) -> dict | None:
    """The ISAPI request a command stands for (None when ISAPI has no such call, e.g. voiceprints)."""
    try:
        return request_json(codec.render(command.kind, command.payload, sample=sample))
    except Rejected:
        return None


def ack_outcome(command, http_status: int, body) -> codec.Ack:
    """The device's answer to a rendered command → ack (see ``codec.ack_from_response``)."""
    return codec.ack_from_response(command.kind, http_status, body)
