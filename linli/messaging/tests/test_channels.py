"""Request signing against the providers' documented worked examples, and the senders' requests and
answers through a fake transport."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.cache import cache

from linli.messaging.channels import ProviderError
from linli.messaging.channels.sms import (
    AliyunSmsSender,
    TencentSmsSender,
    aliyun_signature,
    tc3_authorization,
)
from linli.messaging.channels.wechat import WeChatSubscribeSender


def test_aliyun_signature_matches_the_rpc_signature_mechanism_example():
    # Alibaba Cloud, "Signature mechanism" (RPC API), worked example: DescribeRegions signed with
    # AccessKey secret "testsecret" gives OLeaidS1JvxuMvnyHOwuJ+uX5qY=.
    params = {
        "Timestamp": "2016-02-23T12:46:24Z",
        "Format": "XML",
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Version": "2014-05-26",
        "SignatureVersion": "1.0",
    }

    assert aliyun_signature(params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_signature_matches_the_sms_sendsms_example():
    # Alibaba Cloud SMS, "HTTP 协议及签名" example (help.aliyun.com/document_detail/101343): SendSms
    # with testId/testSecret gives zJDF+Lrzhj/ThnlvIToysFRq6t4= (URL: zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D).
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }

    assert aliyun_signature(params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_tencent_tc3_signature_matches_the_signature_v3_example():
    # Tencent Cloud API, "Signature v3" worked example: CVM DescribeInstances at 1551113065
    # (2019-02-25), the doc's masked SecretKey, signed headers content-type;host.
    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'

    authorization = tc3_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3*******",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        payload=payload,
        timestamp=1551113065,
    )

    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )


@pytest.fixture
def aliyun(settings):
    settings.SMS_ALIYUN_ACCESS_KEY_ID = "testId"
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = "testSecret"
    settings.SMS_SIGN_NAME = "邻里"
    settings.SMS_TEMPLATE = "SMS_1"


def test_aliyun_sender_sends_a_signed_request_and_returns_the_biz_id(aliyun, fake_transport):
    transport = fake_transport((200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"}))
    sender = AliyunSmsSender(transport=transport, clock=lambda: 1499827339.0, nonce=lambda: "n-1")

    biz_id = sender.send("13800138000", "账单已出")

    method, url, _headers, body = transport.requests[0]
    query = dict(parse_qsl(urlsplit(url).query))
    signature = query.pop("Signature")
    assert (biz_id, method, body) == ("900619746936498440^0", "GET", None)
    assert url.startswith("https://dysmsapi.aliyuncs.com/?")
    assert (query["PhoneNumbers"], query["TemplateParam"], query["Timestamp"]) == (
        "13800138000",
        '{"content": "账单已出"}',
        "2017-07-12T02:42:19Z",
    )
    assert signature == aliyun_signature(query, "testSecret")


def test_aliyun_sender_raises_on_a_refusal(aliyun, fake_transport):
    transport = fake_transport((200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发流控"}))

    with pytest.raises(ProviderError, match=r"isv\.BUSINESS_LIMIT_CONTROL"):
        AliyunSmsSender(transport=transport).send("13800138000", "x")


@pytest.fixture
def tencent(settings):
    settings.SMS_TENCENT_SECRET_ID = "AKIDtest"
    settings.SMS_TENCENT_SECRET_KEY = "secret"
    settings.SMS_TENCENT_SDK_APP_ID = "1400000000"
    settings.SMS_SIGN_NAME = "邻里"
    settings.SMS_TEMPLATE = "449739"


def test_tencent_sender_posts_signed_json_and_returns_the_serial_no(tencent, fake_transport):
    transport = fake_transport(
        (
            200,
            {
                "Response": {
                    "SendStatusSet": [{"SerialNo": "5000:1045710669", "Code": "Ok"}],
                    "RequestId": "r",
                }
            },
        )
    )

    serial = TencentSmsSender(transport=transport, clock=lambda: 1551113065).send("13800138000", "账单已出")

    method, url, headers, body = transport.requests[0]
    assert (serial, method, url) == ("5000:1045710669", "POST", "https://sms.tencentcloudapi.com/")
    assert json.loads(body) == {
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": "1400000000",
        "SignName": "邻里",
        "TemplateId": "449739",
        "TemplateParamSet": ["账单已出"],
    }
    assert (headers["X-TC-Action"], headers["X-TC-Version"], headers["X-TC-Timestamp"]) == (
        "SendSms",
        "2021-01-11",
        "1551113065",
    )
    assert headers["Authorization"] == tc3_authorization(
        secret_id="AKIDtest",
        secret_key="secret",
        service="sms",
        host="sms.tencentcloudapi.com",
        payload=body,
        timestamp=1551113065,
    )


def test_tencent_sender_raises_on_an_error_response(tencent, fake_transport):
    transport = fake_transport((200, {"Response": {"Error": {"Code": "AuthFailure", "Message": "bad"}}}))

    with pytest.raises(ProviderError, match="AuthFailure"):
        TencentSmsSender(transport=transport).send("13800138000", "x")


@pytest.fixture
def wechat(settings):
    settings.WECHAT_APP_ID = "wx123"
    settings.WECHAT_APP_SECRET = "s3cret"
    settings.WECHAT_SUBSCRIBE_TEMPLATE_ID = "tmpl-1"
    settings.WECHAT_SUBSCRIBE_PAGE = "pages/inbox/index"
    cache.clear()
    yield
    cache.clear()


def test_wechat_sender_fetches_the_token_once_and_sends(wechat, fake_transport):
    transport = fake_transport(
        (200, {"access_token": "TOKEN", "expires_in": 7200}),
        (200, {"errcode": 0, "errmsg": "ok", "msgid": 42}),
        (200, {"errcode": 0, "errmsg": "ok", "msgid": 43}),
    )
    sender = WeChatSubscribeSender(transport=transport)
    when = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)

    ids = [
        sender.send("openid-1", title="物业费账单已出", body="请于月底前缴纳", when=when) for _ in range(2)
    ]

    urls = [r[1] for r in transport.requests]
    assert ids == ["42", "43"]
    assert urls == [
        "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx123&secret=s3cret",
        "https://api.weixin.qq.com/cgi-bin/message/subscribe/send?access_token=TOKEN",
        "https://api.weixin.qq.com/cgi-bin/message/subscribe/send?access_token=TOKEN",
    ]
    assert json.loads(transport.requests[1][3]) == {
        "touser": "openid-1",
        "template_id": "tmpl-1",
        "page": "pages/inbox/index",
        "miniprogram_state": "formal",
        "lang": "zh_CN",
        "data": {
            "thing1": {"value": "物业费账单已出"},
            "thing2": {"value": "请于月底前缴纳"},
            "time3": {"value": "2026-12-08 09:00"},
        },
    }


def test_wechat_sender_refreshes_an_expired_token_once(wechat, fake_transport):
    cache.set("linli:wechat:token:wx123", "OLD", 600)
    transport = fake_transport(
        (200, {"errcode": 42001, "errmsg": "access_token expired"}),
        (200, {"access_token": "NEW", "expires_in": 7200}),
        (200, {"errcode": 0, "errmsg": "ok", "msgid": 7}),
    )

    msgid = WeChatSubscribeSender(transport=transport).send("o", title="t", body="b", when=datetime.now(UTC))

    assert (msgid, cache.get("linli:wechat:token:wx123")) == ("7", "NEW")
    assert [r[1].rsplit("=", 1)[-1] for r in transport.requests] == ["OLD", "s3cret", "NEW"]


def test_wechat_sender_raises_on_other_errors(wechat, fake_transport):
    transport = fake_transport(
        (200, {"access_token": "T", "expires_in": 7200}), (200, {"errcode": 43101, "errmsg": "user refuse"})
    )

    with pytest.raises(ProviderError, match="43101"):
        WeChatSubscribeSender(transport=transport).send("o", title="t", body="b", when=datetime.now(UTC))
