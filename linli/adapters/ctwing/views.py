"""CTWing (AEP) subscription push endpoint, mounted from ``manifest.toml``:
``POST /api/v1/devices/ingest/ctwing``. AEP pushes carry no signature: each subscription URL holds a
shared token, ``…/ingest/ctwing?token=<LINLI_CTWING_TOKEN>`` (or the ``X-Linli-Token`` header); a
wrong token → 403."""

from __future__ import annotations

import hmac

from django.http import HttpRequest

from linli.adapters import http
from linli.adapters.ctwing import adapter
from linli.devices.canonical import Rejected


def ingest_push(request: HttpRequest):
    """CTWing / AEP subscription push (token in ``?token=`` or ``X-Linli-Token``)."""
    expected = http.token("LINLI_CTWING_TOKEN")
    given = request.GET.get("token") or request.headers.get("X-Linli-Token", "")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        return http.cloud_error(403, "forbidden", "invalid token")
    raw = request.body
    if len(raw) > http.MAX_PUSH:
        return http.cloud_error(413, "payload_too_large", "too large")
    try:
        return http.answer(adapter.handle(raw))
    except Rejected as exc:
        return http.answer_rejected("ctwing", exc, raw)
