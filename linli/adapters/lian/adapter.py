"""LiAn platform push → devices registered with adapter "lian"."""

from __future__ import annotations

from linli.adapters.base import json_body, resolve_and_ingest
from linli.adapters.lian import codec


def handle(raw: bytes):
    return resolve_and_ingest("lian", codec.decode(json_body(raw)), sample=raw)
