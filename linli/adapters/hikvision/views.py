"""HTTP listening-host endpoint for Hikvision terminals and cameras (mounted from ``manifest.toml``:
``POST /api/v1/devices/ingest/hikvision/{token}``; answers as ``linli.adapters.http.token_push``)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from linli.adapters import http
from linli.adapters.hikvision import adapter

MAX_PUSH = 2 * 1024 * 1024  # multipart pushes carry snapshots; they are dropped, never stored


@csrf_exempt
def ingest_push(request: HttpRequest, token: str) -> JsonResponse:
    """Hikvision ISAPI listening-host push (access events, ANPR); per-device token in the path."""
    return http.token_push(
        request,
        token,
        adapter=adapter.ADAPTER,
        max_bytes=MAX_PUSH,
        handle=lambda raw, device: adapter.handle(
            raw, content_type=request.META.get("CONTENT_TYPE", ""), query=request.GET.dict(), device=device
        ),
    )
