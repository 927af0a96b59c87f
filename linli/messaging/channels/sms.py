"""SMS: the channel over ``accounts.sms`` senders, and the two carrier senders.

``AliyunSmsSender`` calls Dysms ``SendSms`` (RPC style, signature v1: HMAC-SHA1 over the sorted,
percent-encoded query); ``TencentSmsSender`` calls SMS API 2021-01-11 ``SendSms`` (TC3-HMAC-SHA256).
Both are ``SmsSender`` subclasses, so ``LINLI_SMS_BACKEND`` can point at either for login codes too.
Carriers only send approved templates: the text goes into the one variable of ``LINLI_SMS_TEMPLATE``.
The signing functions are pure and tested against the worked examples in the providers' docs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote

from django.conf import settings
from django.utils.translation import gettext as _

from linli.accounts.sms import SmsSender, get_sender
from linli.messaging.channels.base import Channel, ProviderError, Transport, Undeliverable, urllib_transport

SMS_TITLE_MAX = 40


class SmsChannel(Channel):
    key = "sms"

    def address(self, user) -> str:
        return user.phone or ""

    def send(self, message, address: str) -> str:
        if not address:
            raise Undeliverable(_("没有登记手机号"))
        return get_sender().send(address, sms_text(message)) or ""


def sms_text(message) -> str:
    """The title only (a phone screen may be seen by others); the body stays in the inbox."""
    return _("%(title)s（详情请登录邻里查看）") % {"title": message.title[:SMS_TITLE_MAX]}


# --- Aliyun (Dysms) ------------------------------------------------------------------------------


def pop_quote(value: str) -> str:
    """Aliyun's percent-encoding: RFC 3986, space as %20, only A-Z a-z 0-9 - _ . ~ kept."""
    return quote(value, safe="~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "GET") -> str:
    """Signature v1 of an RPC request (every parameter but ``Signature``), base64 HMAC-SHA1."""
    canonical = "&".join(f"{pop_quote(k)}={pop_quote(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{pop_quote('/')}&{pop_quote(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsSender(SmsSender):
    """Dysms ``SendSms`` over HTTPS GET; returns the ``BizId``."""

    def __init__(
        self,
        *,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.transport = transport or urllib_transport
        self.clock = clock
        self.nonce = nonce

    def params(self, phone: str, message: str) -> dict[str, str]:
        stamp = datetime.fromtimestamp(self.clock(), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        params = {
            "AccessKeyId": settings.SMS_ALIYUN_ACCESS_KEY_ID,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": settings.SMS_ALIYUN_REGION,
            "SignName": settings.SMS_SIGN_NAME,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self.nonce(),
            "SignatureVersion": "1.0",
            "TemplateCode": settings.SMS_TEMPLATE,
            "TemplateParam": json.dumps({settings.SMS_TEMPLATE_PARAM: message}, ensure_ascii=False),
            "Timestamp": stamp,
            "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(params, settings.SMS_ALIYUN_ACCESS_KEY_SECRET)
        return params

    def send(self, phone: str, message: str) -> str:
        query = "&".join(f"{pop_quote(k)}={pop_quote(v)}" for k, v in self.params(phone, message).items())
        status, raw = self.transport(
            "GET", f"{settings.SMS_ALIYUN_ENDPOINT}?{query}", {}, None, settings.MESSAGING_HTTP_TIMEOUT
        )
        data = _json(raw)
        if data.get("Code") != "OK":
            raise ProviderError(f"aliyun {status} {data.get('Code')}: {data.get('Message', '')}"[:300])
        return str(data.get("BizId", ""))


# --- Tencent Cloud SMS ---------------------------------------------------------------------------

TC3 = "TC3-HMAC-SHA256"
JSON_TYPE = "application/json; charset=utf-8"


def _hmac256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tc3_authorization(
    *, secret_id: str, secret_key: str, service: str, host: str, payload: bytes, timestamp: int
) -> str:
    """The ``Authorization`` header of a POST JSON request (signed headers content-type and host)."""
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{JSON_TYPE}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    date = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"{TC3}\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac256(_hmac256(_hmac256(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{TC3} Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


class TencentSmsSender(SmsSender):
    """SMS API 2021-01-11 ``SendSms`` over HTTPS POST; returns the ``SerialNo``."""

    def __init__(self, *, transport: Transport | None = None, clock: Callable[[], float] = time.time) -> None:
        self.transport = transport or urllib_transport
        self.clock = clock

    def request(self, phone: str, message: str) -> tuple[dict[str, str], bytes]:
        host = settings.SMS_TENCENT_HOST
        payload = json.dumps(
            {
                "PhoneNumberSet": [f"+86{phone}"],
                "SmsSdkAppId": settings.SMS_TENCENT_SDK_APP_ID,
                "SignName": settings.SMS_SIGN_NAME,
                "TemplateId": settings.SMS_TEMPLATE,
                "TemplateParamSet": [message],
            },
            ensure_ascii=False,
        ).encode()
        timestamp = int(self.clock())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=settings.SMS_TENCENT_SECRET_ID,
                secret_key=settings.SMS_TENCENT_SECRET_KEY,
                service="sms",
                host=host,
                payload=payload,
                timestamp=timestamp,
            ),
            "Content-Type": JSON_TYPE,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": settings.SMS_TENCENT_REGION,
        }
        return headers, payload

    def send(self, phone: str, message: str) -> str:
        headers, payload = self.request(phone, message)
        status, raw = self.transport(
            "POST", f"https://{settings.SMS_TENCENT_HOST}/", headers, payload, settings.MESSAGING_HTTP_TIMEOUT
        )
        response = _json(raw).get("Response") or {}
        error = response.get("Error")
        if error:
            raise ProviderError(f"tencent {status} {error.get('Code')}: {error.get('Message', '')}"[:300])
        result = (response.get("SendStatusSet") or [{}])[0]
        if result.get("Code") != "Ok":
            raise ProviderError(f"tencent {status} {result.get('Code')}: {result.get('Message', '')}"[:300])
        return str(result.get("SerialNo", ""))


def _json(raw: bytes) -> dict:
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ProviderError(f"not JSON: {raw[:100]!r}") from exc
    return data if isinstance(data, dict) else {}
