"""Wanlin push → devices registered with adapter "wanlin"."""

from __future__ import annotations

import orjson

from linli.adapters.base import resolve_and_ingest
from linli.adapters.wanlin import codec
from linli.devices.canonical import Rejected


def handle(raw: bytes):
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Rejected("bad_json") from None
    return resolve_and_ingest("wanlin", codec.decode(body), sample=raw)
