"""Per-request context (request id, client address) used by the audit log; the API's error envelope for
answers Django writes before or around the API."""

from __future__ import annotations

import contextvars
import functools
import ipaddress
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.http import JsonResponse

from linli.core.errors import DomainError, NotFound, PayloadTooLarge, ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "linli_request", default=None
)


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    ip: str
    user_agent: str


def current_request() -> RequestContext | None:
    return _current.get()


def _address(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: IPAddress) -> bool:
    return any(address in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request) -> str:
    """The client's address: the peer (REMOTE_ADDR), unless the peer is a trusted reverse proxy
    (``settings.TRUSTED_PROXIES``); then the proxy's X-Real-IP, or else the right-most address of
    X-Forwarded-For that is not itself a trusted proxy. A header from anyone else is ignored, so a
    client cannot choose the address the lockout (R41) counts and the audit log (R49) records."""
    peer_text = request.META.get("REMOTE_ADDR") or ""
    peer = _address(peer_text)
    if peer is None or not _trusted(peer):
        return peer_text
    real = _address(request.META.get("HTTP_X_REAL_IP", ""))
    if real is not None:
        return str(real)
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(hop)
        if address is None:
            break  # a garbled hop: what lies left of it was written by the client
        if not _trusted(address):
            return str(address)
    return peer_text


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ctx = RequestContext(
            request_id=request.META.get("HTTP_X_REQUEST_ID", "")[:64] or uuid.uuid4().hex,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
        )
        token = _current.set(ctx)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = ctx.request_id
        return response


class ApiErrorEnvelopeMiddleware:
    """Answers under ``/api/`` that Django or the router write as a page (an unknown path: 404, a wrong
    method: 405, a body Django refused before the API saw it: 400/413) become the API's JSON error
    envelope, so a client always gets ``{"error": {"code", "message"}}``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code not in _API_ERRORS:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        code, message = _API_ERRORS[response.status_code]
        envelope = JsonResponse(
            {"error": {"code": code, "message": str(message)}}, status=response.status_code
        )
        if response.has_header("Allow"):
            envelope["Allow"] = response["Allow"]
        return envelope


_API_ERRORS = {
    400: (ValidationFailed.code, ValidationFailed.default_message),
    404: (NotFound.code, NotFound.default_message),
    405: ("method_not_allowed", DomainError.default_message),
    413: (PayloadTooLarge.code, PayloadTooLarge.default_message),
}
