"""LiAn platform push → devices registered with adapter "lian"."""

from __future__ import annotations

import orjson

from linli.adapters.base import resolve_and_ingest
from linli.adapters.lian import codec
from linli.devices.canonical import Rejected


def handle(raw: bytes):
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Rejected("bad_json") from None
    return resolve_and_ingest("lian", codec.decode(body), sample=raw)
