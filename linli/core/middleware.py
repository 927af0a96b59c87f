"""Per-request context (request id, client address) used by the audit log."""

from __future__ import annotations

import contextvars
import functools
import ipaddress
import uuid
from dataclasses import dataclass

from django.conf import settings

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
