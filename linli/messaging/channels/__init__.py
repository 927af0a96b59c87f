"""Channels that reach a person: in-app, SMS (``settings.SMS_BACKEND``: console, memory, Aliyun,
Tencent) and WeChat subscription messages. ``CHANNELS[key]`` is the one lookup the services use."""

from __future__ import annotations

from linli.messaging.channels.base import Channel, ProviderError, Transport, Undeliverable
from linli.messaging.channels.inapp import InAppChannel
from linli.messaging.channels.sms import SmsChannel
from linli.messaging.channels.wechat import WeChatChannel

CHANNELS: dict[str, Channel] = {c.key: c for c in (InAppChannel(), SmsChannel(), WeChatChannel())}


__all__ = ["CHANNELS", "Channel", "ProviderError", "Transport", "Undeliverable"]
