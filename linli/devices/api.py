"""Devices API. For now: HTTP ingest of NB-IoT cloud pushes (CTWing / AEP and OneNET).

Both endpoints are ``auth=None`` for Linli users and authenticated by the cloud's own mechanism:

* OneNET signs every push: ``Base64(MD5(token + nonce + msg))`` with the token configured in
  OneNET's push settings and here as ``LINLI_ONENET_TOKEN``. Bad or missing signature → 403.
  Saving the push URL in OneNET sends ``GET ?msg=&nonce=&signature=``: answered with the bare ``msg``.
* CTWing (AEP) pushes carry no signature: each subscription URL holds a shared token,
  ``…/ingest/ctwing?token=<LINLI_CTWING_TOKEN>`` (or the ``X-Linli-Token`` header). Wrong token → 403.

Once authenticated, a push is answered **200** even when it names an unknown device or is malformed:
the clouds re-push until they get 200, so refusing would only repeat the same bad message. Such
messages are counted (on the device when known) and sampled in RejectedMessage instead.
"""

from __future__ import annotations

import hmac

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router

from linli.config import env
from linli.devices.canonical import Rejected
from linli.devices.ingest import record_rejected

router = Router()
MAX_PUSH = 64 * 1024


def _token(name: str) -> str:
    return env.env_str(name, "")


def _result(result) -> JsonResponse:
    return JsonResponse(
        {"stored": result.stored, "duplicates": result.duplicates, "rejected": result.rejected}
    )


def _accept_rejected(adapter: str, exc: Rejected, raw: bytes) -> JsonResponse:
    record_rejected(reason=exc.reason, topic=f"http:{adapter}", sample=raw)
    return JsonResponse({"stored": 0, "duplicates": 0, "rejected": 1})


@router.post("/ingest/ctwing", auth=None, include_in_schema=True, url_name="ingest_ctwing")
def ingest_ctwing(request: HttpRequest):
    """CTWing / AEP subscription push (token in ``?token=`` or ``X-Linli-Token``)."""
    from linli.devices.adapters.ctwing import adapter

    expected = _token("LINLI_CTWING_TOKEN")
    given = request.GET.get("token") or request.headers.get("X-Linli-Token", "")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        return JsonResponse({"code": "forbidden", "message": "invalid token"}, status=403)
    raw = request.body
    if len(raw) > MAX_PUSH:
        return JsonResponse({"code": "payload_too_large", "message": "too large"}, status=413)
    try:
        return _result(adapter.handle(raw))
    except Rejected as exc:
        return _accept_rejected("ctwing", exc, raw)


@router.get("/ingest/onenet", auth=None, url_name="ingest_onenet_verify")
def onenet_verify(request: HttpRequest):
    """OneNET URL verification: echo ``msg`` when the signature matches the configured token."""
    from linli.devices.adapters.onenet import adapter

    echo = adapter.url_verification(
        token=_token("LINLI_ONENET_TOKEN"),
        msg=request.GET.get("msg", ""),
        nonce=request.GET.get("nonce", ""),
        signature=request.GET.get("signature", ""),
    )
    if echo is None:
        return JsonResponse({"code": "forbidden", "message": "invalid signature"}, status=403)
    return HttpResponse(echo, content_type="text/plain")


@router.post("/ingest/onenet", auth=None, url_name="ingest_onenet")
def ingest_onenet(request: HttpRequest):
    """OneNET push (classic or Studio), signed with the configured token."""
    from linli.devices.adapters.onenet import adapter

    raw = request.body
    if len(raw) > MAX_PUSH:
        return JsonResponse({"code": "payload_too_large", "message": "too large"}, status=413)
    try:
        return _result(adapter.handle(raw, token=_token("LINLI_ONENET_TOKEN")))
    except Rejected as exc:
        if exc.reason in ("bad_signature", "bad_json"):
            return JsonResponse({"code": "forbidden", "message": "invalid signature"}, status=403)
        return _accept_rejected("onenet", exc, raw)
