"""Helpers shared by the thin ``adapter.py`` modules (Django side of an adapter)."""

from __future__ import annotations

from dataclasses import replace

from linli.devices import ingest
from linli.devices.canonical import Message


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
