"""Legacy telecom platform push → devices registered with adapter "ctiot-legacy"."""

from __future__ import annotations

import orjson

from linli.adapters.base import resolve_and_ingest
from linli.adapters.ctiot_legacy import codec
from linli.devices.canonical import Rejected


def handle(raw: bytes):
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Rejected("bad_json") from None
    return resolve_and_ingest("ctiot-legacy", codec.decode(body), sample=raw)
