"""HTTP listening-host endpoint for Hikvision terminals and cameras (plain view function; the route is
declared where the ingest endpoints live: ``POST /api/v1/devices/ingest/hikvision/{token}``).

* wrong or unknown token → 403 (nothing is read beyond the headers);
* body over ``MAX_PUSH`` → 413 (multipart pushes carry snapshots; they are dropped, never stored);
* anything else → 200 with ``{"stored", "duplicates", "rejected"}``: terminals re-post until they get
  a 2xx, so a malformed or foreign push is counted and sampled (``RejectedMessage``), not refused.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from linli.devices.adapters.hikvision import adapter
from linli.devices.canonical import Rejected

MAX_PUSH = 2 * 1024 * 1024


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _too_large(request: HttpRequest, limit: int) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return True


@csrf_exempt
def ingest_push(request: HttpRequest, token: str) -> JsonResponse:
    from linli.devices.ingest import record_rejected

    if request.method != "POST":
        return _error(405, "method_not_allowed", _("仅支持 POST"))
    device = adapter.device_for_token(token)
    if device is None:
        return _error(403, "forbidden", _("推送地址无效"))
    if _too_large(request, MAX_PUSH):
        return _error(413, "payload_too_large", _("推送内容过大"))
    raw = request.body
    try:
        result = adapter.handle(
            raw, content_type=request.META.get("CONTENT_TYPE", ""), query=request.GET.dict(), device=device
        )
    except Rejected as exc:
        record_rejected(
            reason=exc.reason,
            topic=f"http:{adapter.ADAPTER}/{device.key}",
            sample=adapter.sample_text(raw),
            device_id=device.pk,
        )
        result = {"stored": 0, "duplicates": 0, "rejected": 1}
    return JsonResponse(result)
