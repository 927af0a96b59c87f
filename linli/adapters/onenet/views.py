"""OneNET push endpoints, mounted from ``manifest.toml``: ``GET`` and ``POST
/api/v1/devices/ingest/onenet``. OneNET signs every push: ``Base64(MD5(token + nonce + msg))`` with
the token configured in OneNET's push settings and here as ``LINLI_ONENET_TOKEN``; a bad or missing
signature → 403. Saving the push URL in OneNET sends ``GET ?msg=&nonce=&signature=``: answered with
the bare ``msg``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from linli.adapters import http
from linli.adapters.onenet import adapter
from linli.devices.canonical import Rejected


def url_verification(request: HttpRequest):
    """OneNET URL verification: echo ``msg`` when the signature matches the configured token."""
    echo = adapter.url_verification(
        token=http.token("LINLI_ONENET_TOKEN"),
        msg=request.GET.get("msg", ""),
        nonce=request.GET.get("nonce", ""),
        signature=request.GET.get("signature", ""),
    )
    if echo is None:
        return http.cloud_error(403, "forbidden", "invalid signature")
    return HttpResponse(echo, content_type="text/plain")


def ingest_push(request: HttpRequest):
    """OneNET push (classic or Studio), signed with the configured token."""
    raw = request.body
    if len(raw) > http.MAX_PUSH:
        return http.cloud_error(413, "payload_too_large", "too large")
    try:
        return http.answer(adapter.handle(raw, token=http.token("LINLI_ONENET_TOKEN")))
    except Rejected as exc:
        if exc.reason in ("bad_signature", "bad_json"):
            return http.cloud_error(403, "forbidden", "invalid signature")
        return http.answer_rejected("onenet", exc, raw)
