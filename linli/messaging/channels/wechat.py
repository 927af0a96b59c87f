"""WeChat mini-program subscription messages (订阅消息, ``subscribeMessage.send``).

The sender fetches an access token with the app id and secret, caches it (Django cache, shared by
the workers of one deployment) until shortly before it expires, and fetches a fresh one once when
WeChat answers that the token is invalid or expired. Off while ``LINLI_WECHAT_APP_ID`` is empty;
the openid comes from the user's message preferences (set when they subscribe in the mini program).
"""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache as default_cache
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.messaging.channels.base import Channel, ProviderError, Transport, Undeliverable, urllib_transport

TOKEN_ERRORS = {40001, 40014, 42001}  # invalid credential, invalid token, token expired
TOKEN_MARGIN_SECONDS = 300
THING_MAX = 20  # WeChat's limit for a "thing" keyword value


class WeChatSubscribeSender:
    """``subscribeMessage.send`` with access-token fetch and cache; the transport is injectable."""

    def __init__(self, *, transport: Transport | None = None, cache=None) -> None:
        self.transport = transport or urllib_transport
        self.cache = cache or default_cache

    @property
    def cache_key(self) -> str:
        return f"linli:wechat:token:{settings.WECHAT_APP_ID}"

    def _call(self, method: str, path: str, query: dict, body: dict | None = None) -> dict:
        url = f"{settings.WECHAT_API_BASE}{path}?{urlencode(query)}"
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, raw = self.transport(method, url, headers, data, settings.MESSAGING_HTTP_TIMEOUT)
        try:
            answer = json.loads(raw or b"{}")
        except ValueError as exc:
            raise ProviderError(f"wechat {status}: not JSON") from exc
        return answer if isinstance(answer, dict) else {}

    def access_token(self, *, refresh: bool = False) -> str:
        token = None if refresh else self.cache.get(self.cache_key)
        if token:
            return token
        answer = self._call(
            "GET",
            "/cgi-bin/token",
            {
                "grant_type": "client_credential",
                "appid": settings.WECHAT_APP_ID,
                "secret": settings.WECHAT_APP_SECRET,
            },
        )
        token = answer.get("access_token")
        if not token:
            raise ProviderError(f"wechat token {answer.get('errcode')}: {answer.get('errmsg', '')}"[:300])
        ttl = max(int(answer.get("expires_in", 7200)) - TOKEN_MARGIN_SECONDS, 60)
        self.cache.set(self.cache_key, token, ttl)
        return token

    def payload(self, openid: str, *, title: str, body: str, when: datetime) -> dict:
        values = [
            title[:THING_MAX],
            (body or title)[:THING_MAX],
            timezone.localtime(when).strftime("%Y-%m-%d %H:%M"),
        ]
        payload = {
            "touser": openid,
            "template_id": settings.WECHAT_SUBSCRIBE_TEMPLATE_ID,
            "miniprogram_state": settings.WECHAT_MINIPROGRAM_STATE,
            "lang": "zh_CN",
            "data": {
                key: {"value": value}
                for key, value in zip(settings.WECHAT_SUBSCRIBE_FIELDS, values, strict=False)
            },
        }
        if settings.WECHAT_SUBSCRIBE_PAGE:
            payload["page"] = settings.WECHAT_SUBSCRIBE_PAGE
        return payload

    def send(self, openid: str, *, title: str, body: str, when: datetime) -> str:
        payload = self.payload(openid, title=title, body=body, when=when)
        for refresh in (False, True):
            answer = self._call(
                "POST",
                "/cgi-bin/message/subscribe/send",
                {"access_token": self.access_token(refresh=refresh)},
                payload,
            )
            code = answer.get("errcode", 0)
            if code == 0:
                return str(answer.get("msgid", ""))
            if code not in TOKEN_ERRORS:
                break
        raise ProviderError(f"wechat {code}: {answer.get('errmsg', '')}"[:300])


class WeChatChannel(Channel):
    key = "wechat"

    def sender(self) -> WeChatSubscribeSender:
        return WeChatSubscribeSender()

    def address(self, user) -> str:
        prefs = getattr(user, "message_preference", None)
        return prefs.wechat_openid if prefs is not None else ""

    def send(self, message, address: str) -> str:
        if not settings.WECHAT_APP_ID:
            raise Undeliverable(_("未配置微信订阅消息"))
        if not address:
            raise Undeliverable(_("未绑定微信"))
        return self.sender().send(address, title=message.title, body=message.body, when=message.created_at)
