"""CTWing push: parse the body, decode, map ``deviceId`` to devices registered with adapter "ctwing"."""

from __future__ import annotations

from linli.adapters.base import json_body, resolve_and_ingest
from linli.adapters.ctwing import codec


def handle(raw: bytes):
    return resolve_and_ingest("ctwing", codec.decode(json_body(raw)), sample=raw)
