"""Notification channels of alarms: console inbox, SMS, signed webhook (R74: allow-listed public URLs).

Recipients by alarm type:
- health-sensitive (R65): community workers covering the estate only (escalation: sub-district
  officers); never property staff, never webhooks;
- fire: the guards on duty (guards scoped to the estate) and the property admin;
- everything else: the property admin, plus the guards for critical alarms;
- escalation (level 1): sub-district officers covering the estate and the property admin.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.alarms.models import (
    SEVERITY_RANK,
    Alarm,
    AlarmNotification,
    Channel,
    NotificationStatus,
    WebhookEndpoint,
)
from linli.orgs.roles import Role
from linli.orgs.selectors import staff_over

log = logging.getLogger("linli.alarms.notify")

FIRE_CAUSES = {"fire"}
WEBHOOK_TIMEOUT_S = 5


class UrlRefused(ValueError):
    """The URL is not an allowed webhook target."""


def check_ip(ip: str) -> None:
    addr = ipaddress.ip_address(ip)
    if getattr(addr, "ipv4_mapped", None):
        addr = addr.ipv4_mapped
    if addr.is_link_local or addr.is_multicast or addr.is_unspecified or addr.is_reserved:
        raise UrlRefused(_("不允许的地址（链路本地、组播或保留地址）"))
    if (addr.is_private or addr.is_loopback) and not settings.WEBHOOK_ALLOW_PRIVATE:
        raise UrlRefused(_("不允许推送到内网或本机地址"))
    if not addr.is_global and not (addr.is_private or addr.is_loopback):
        raise UrlRefused(_("不允许的地址"))


def check_url(url: str) -> list[str]:
    """Validate a webhook URL (R74): http(s), no credentials, every resolved address public (private and
    loopback only with LINLI_WEBHOOK_ALLOW_PRIVATE=1; link-local such as 169.254.169.254 never).
    Returns the resolved addresses; raises ``UrlRefused``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(_("地址格式无效")) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused(_("只允许 http 或 https 地址"))
    if parts.username or parts.password:
        raise UrlRefused(_("地址中不能包含用户名或口令"))
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(_("无法解析该主机名")) from exc
    ips = sorted({info[4][0] for info in infos})
    if not ips:
        raise UrlRefused(_("无法解析该主机名"))
    for ip in ips:
        check_ip(ip)
    return ips


def sign(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over ``{timestamp}.{nonce}.{body}``."""
    msg = timestamp.encode() + b"." + nonce.encode() + b"." + body
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def post_webhook(url: str, secret: str, payload: dict) -> int:
    """POST the signed JSON; refuses disallowed targets; connects to the address that was checked
    (no second DNS lookup for http) and never follows redirects. Returns the HTTP status."""
    ips = check_url(url)
    parts = urlsplit(url)
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    ts = str(int(time.time()))
    nonce = secrets.token_hex(16)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Host": parts.netloc,
        "User-Agent": "Linli-Alarms/1",
        "X-Linli-Timestamp": ts,
        "X-Linli-Nonce": nonce,
        "X-Linli-Signature": "sha256=" + sign(secret, ts, nonce, body),
    }
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, port, timeout=WEBHOOK_TIMEOUT_S
        )
    else:
        conn = http.client.HTTPConnection(ips[0], port, timeout=WEBHOOK_TIMEOUT_S)
    try:
        conn.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body, headers)
        resp = conn.getresponse()
        resp.read(65536)
        return resp.status
    finally:
        conn.close()


# ---------------------------------------------------------------- recipients


def recipients(alarm: Alarm, level: int) -> list:
    if alarm.health_sensitive:
        roles = [Role.SUBDISTRICT_OFFICER] if level else [Role.COMMUNITY_WORKER]
    elif level:
        roles = [Role.SUBDISTRICT_OFFICER, Role.PROPERTY_ADMIN]
    elif alarm.cause in FIRE_CAUSES or alarm.severity == "critical":
        roles = [Role.GUARD, Role.PROPERTY_ADMIN]
    else:
        roles = [Role.PROPERTY_ADMIN]
    return list(staff_over(alarm.estate, roles=roles))


def sms_text(alarm: Alarm, level: int) -> str:
    """Short masked text: no device location inside homes and nothing about health (R65)."""
    prefix = _("【邻里】告警升级") if level else _("【邻里】告警")
    if alarm.health_sensitive:
        return _("%(p)s：%(estate)s 有一条老人关爱紧急告警，请登录控制台处理。") % {
            "p": prefix,
            "estate": alarm.estate.name,
        }
    return _("%(p)s（%(sev)s）：%(estate)s %(cause)s，请登录控制台处理。") % {
        "p": prefix,
        "sev": alarm.get_severity_display(),
        "estate": alarm.estate.name,
        "cause": (alarm.rule.name if alarm.rule_id else alarm.cause),
    }


def webhook_payload(alarm: Alarm, level: int) -> dict:
    return {
        "type": "alarm.escalated" if level else "alarm.raised",
        "alarm": {
            "id": alarm.pk,
            "cause": alarm.cause,
            "severity": alarm.severity,
            "title": alarm.title,
            "estate_code": alarm.estate.code,
            "estate": alarm.estate.name,
            "device_key": alarm.device.key,
            "first_at": alarm.first_at.isoformat(),
            "count": alarm.count,
        },
    }


def _record(alarm: Alarm, channel: str, target: str, level: int, status: str, error: str = "") -> bool:
    """Store one notification row; False when it was already sent (idempotent re-runs)."""
    try:
        with transaction.atomic():
            AlarmNotification.objects.create(
                alarm=alarm,
                channel=channel,
                target=target[:200],
                level=level,
                status=status,
                error=error[:300],
                sent_at=timezone.now(),
            )
        return True
    except IntegrityError:
        return False


def _already(alarm: Alarm, channel: str, level: int) -> set[str]:
    return set(
        AlarmNotification.objects.filter(alarm=alarm, channel=channel, level=level).values_list(
            "target", flat=True
        )
    )


def send(alarm: Alarm, level: int) -> dict[str, int]:
    """Notify through the alarm's channels; returns counts per channel. Safe to run twice."""
    from linli.accounts.sms import get_sender
    from linli.core.pii import mask_phone
    from linli.messaging.services import message_send

    channels = alarm.notify_channels or [Channel.CONSOLE]
    users = recipients(alarm, level)
    counts = {Channel.CONSOLE: 0, Channel.SMS: 0, Channel.WEBHOOK: 0}
    if Channel.CONSOLE in channels:
        done = _already(alarm, Channel.CONSOLE, level)
        todo = [u for u in users if u.username not in done]
        title = (_("告警升级：") if level else _("告警：")) + (
            _("老人关爱紧急告警") if alarm.health_sensitive else alarm.title
        )
        message_send(
            recipients=todo,
            title=title,
            link=f"/console/alarms/{alarm.pk}/",
            estate=alarm.estate,
            category="alarm",
            channels=[],
        )
        for u in todo:
            counts[Channel.CONSOLE] += _record(
                alarm, Channel.CONSOLE, u.username, level, NotificationStatus.SENT
            )
    if Channel.SMS in channels:
        done = _already(alarm, Channel.SMS, level)
        sender = get_sender()
        text = sms_text(alarm, level)
        for u in users:
            if not u.phone:
                continue
            target = f"{u.username}:{mask_phone(u.phone)}"
            if target in done:
                continue
            try:
                sender.send(u.phone, text)
                status, error = NotificationStatus.SENT, ""
            except Exception as exc:  # a carrier failure must not stop the other channels
                log.warning("SMS for alarm %s failed: %s", alarm.pk, exc)
                status, error = NotificationStatus.FAILED, exc.__class__.__name__
            counts[Channel.SMS] += _record(alarm, Channel.SMS, target, level, status, error)
    if Channel.WEBHOOK in channels and not alarm.health_sensitive:
        done = _already(alarm, Channel.WEBHOOK, level)
        rank = SEVERITY_RANK.get(alarm.severity, 9)
        for hook in WebhookEndpoint.objects.filter(estate_id=alarm.estate_id, enabled=True).order_by("pk"):
            target = f"#{hook.pk} {urlsplit(hook.url).hostname}"
            if target in done or rank > SEVERITY_RANK.get(hook.min_severity, 9):
                continue
            try:
                code = post_webhook(hook.url, hook.secret, webhook_payload(alarm, level))
                ok = 200 <= code < 300
                status, error = (
                    (NotificationStatus.SENT, "") if ok else (NotificationStatus.FAILED, f"HTTP {code}")
                )
            except UrlRefused as exc:
                status, error = NotificationStatus.REFUSED, str(exc)
            except (OSError, http.client.HTTPException) as exc:
                status, error = NotificationStatus.FAILED, exc.__class__.__name__
            counts[Channel.WEBHOOK] += _record(alarm, Channel.WEBHOOK, target, level, status, error)
    return counts
