"""Hikvision ISAPI: the Django side of the adapter (device lookup, handing events on, commands).

Pushes are not signed by the device (§1.7): each terminal posts to its own URL
``/api/v1/devices/ingest/hikvision/<token>`` where ``token`` = ``<device key>.<HMAC of the device
secret>`` (``push_token``; rotating the device secret changes it). The push's ``macAddress`` (or the
serial in ``deviceUUID``) must then belong to the device owning the token.

Decoded access events and plate reads are announced (``devices.events.AccessEventsReported`` and
``PlatesRead``); the access and parking apps subscribe.
"""

from __future__ import annotations

from base64 import b64encode

from linli.adapters import base
from linli.adapters.hikvision import codec
from linli.devices.canonical import Rejected
from linli.devices.ingest import record_rejected
from linli.devices.models import Device

ADAPTER = "hikvision"


def push_token(device) -> str:
    """The secret path segment of the device's push URL (show it once when configuring the device)."""
    return base.push_token(ADAPTER, device)


def resolve(decoded: codec.Decoded, device=None):
    """The registered device a push came from: the token's device (its MAC/serial must match when
    the device has one registered), else looked up by MAC/serial; None = unknown."""
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


def handle(raw: bytes, *, content_type: str = "", query: dict | None = None, device=None) -> dict:
    """One push (any body form). Unknown senders are counted and sampled as rejected messages."""
    decoded = codec.decode(raw, content_type, query=query)
    if not decoded.events and not decoded.plates:
        return base.result()  # heartbeat or an event type the platform does not use
    found = resolve(decoded, device)
    if found is None:
        vendor = decoded.vendor_ids[0] if decoded.vendor_ids else "?"
        record_rejected(
            reason="unknown_device",
            topic=base.sample_text(f"http:{ADAPTER}/{vendor}"),
            sample=base.sample_text(raw),
        )
        return base.result(rejected=1)
    return base.deliver(found, access=decoded.events, plates=decoded.plates)


def handle_search(device, body: dict) -> tuple[dict, codec.SearchPage]:
    """One page of an ``AcsEvent`` catch-up search of ``device`` (stored events, ``live=False``)."""
    page = codec.decode_search(body)
    return base.deliver(device, access=page.events), page


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
