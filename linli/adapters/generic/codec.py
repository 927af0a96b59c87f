"""Canonical JSON, as published on ``linli/v1/{estate}/{device}/{kind}`` (pure, no Django)."""

from __future__ import annotations

from linli.devices.canonical import Message, decode_payload


def decode(topic: str, payload: bytes) -> list[Message]:
    """One canonical message; raises ``Rejected`` when malformed (the signature is checked by ingest)."""
    message, _sig = decode_payload(topic, payload)
    return [message]
