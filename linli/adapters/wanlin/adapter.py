"""Wanlin push → devices registered with adapter "wanlin"."""

from __future__ import annotations

from linli.adapters.base import json_body, resolve_and_ingest
from linli.adapters.wanlin import codec


def handle(raw: bytes):
    return resolve_and_ingest("wanlin", codec.decode(json_body(raw)), sample=raw)
