"""Legacy telecom platform push → devices registered with adapter "ctiot-legacy"."""

from __future__ import annotations

from linli.adapters.base import json_body, resolve_and_ingest
from linli.adapters.ctiot_legacy import codec


def handle(raw: bytes):
    return resolve_and_ingest("ctiot-legacy", codec.decode(json_body(raw)), sample=raw)
