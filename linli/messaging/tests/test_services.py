"""message_send through every channel, de-duplication, preferences and quiet hours, retries and the
delivery log."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache

from linli.core.errors import NotFound, ValidationFailed
from linli.messaging import services
from linli.messaging.channels import CHANNELS
from linli.messaging.channels.wechat import WeChatSubscribeSender
from linli.messaging.models import Delivery, Message
from linli.messaging.services import deliveries_due, message_mark_read, message_send, messages_purge
from linli.messaging.tests import factories as f
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

pytestmark = pytest.mark.django_db

# 2026-12-08 10:00 in Asia/Shanghai.
MORNING = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
# 2026-12-08 23:30 in Asia/Shanghai.
LATE = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)


def _log(message: Message) -> list[tuple]:
    return list(
        Delivery.objects.filter(message=message)
        .order_by("channel")
        .values_list("channel", "status", "attempts", "provider_id", "last_error")
    )


@pytest.fixture
def wechat_transport(settings, monkeypatch, fake_transport):
    settings.WECHAT_APP_ID = "wx123"
    settings.WECHAT_APP_SECRET = "s"
    settings.WECHAT_SUBSCRIBE_TEMPLATE_ID = "tmpl"
    cache.clear()
    transport = fake_transport(
        (200, {"access_token": "T", "expires_in": 7200}), (200, {"errcode": 0, "errmsg": "ok", "msgid": 99})
    )
    monkeypatch.setattr(CHANNELS["wechat"], "sender", lambda: WeChatSubscribeSender(transport=transport))
    yield transport
    cache.clear()


def test_one_message_reaches_every_channel(world, sms, committed, wechat_transport):
    resident = f.with_phone(world.a.resident)
    f.prefs(resident, channels={"bill": ["sms", "wechat"]}, wechat_openid="openid-1")

    with committed():
        (message,) = message_send(
            recipients=[resident],
            title="物业费账单已出",
            body="12 月账单",
            category="bill",
            estate=world.a.estate,
        )

    assert [(s.phone, s.message) for s in sms] == [("13800138000", "物业费账单已出（详情请登录邻里查看）")]
    assert [r[1].split("?")[0] for r in wechat_transport.requests] == [
        "https://api.weixin.qq.com/cgi-bin/token",
        "https://api.weixin.qq.com/cgi-bin/message/subscribe/send",
    ]
    assert _log(message) == [
        ("in_app", "sent", 1, f"inbox:{message.pk}", ""),
        ("sms", "sent", 1, "memory:1", ""),
        ("wechat", "sent", 1, "99", ""),
    ]


def test_a_repeated_send_with_the_same_key_delivers_once(world, sms, committed):
    resident = f.with_phone(world.a.resident)
    f.prefs(resident, channels={"bill": ["sms"]})

    with committed():
        first = message_send(recipients=[resident], title="账单到期", category="bill", dedup_key="bill:1:due")
        again = message_send(recipients=[resident], title="账单到期", category="bill", dedup_key="bill:1:due")

    assert (len(first), again) == (1, [])
    assert (Message.objects.filter(user=resident).count(), len(sms), Delivery.objects.count()) == (1, 1, 2)


def test_the_same_key_still_reaches_a_new_recipient(world):
    a, b = world.a.staff[Role.TECHNICIAN], world.a.staff[Role.GUARD]
    message_send(recipients=[a], title="停水", category="notice", dedup_key="notice:9")

    sent = message_send(recipients=[a, b], title="停水", category="notice", dedup_key="notice:9")

    assert [m.user for m in sent] == [b]


def test_one_message_per_distinct_active_user(world):
    tech, guard = world.a.staff[Role.TECHNICIAN], world.a.staff[Role.GUARD]
    guard.is_active = False
    guard.save(update_fields=["is_active"])

    sent = message_send(recipients=[tech, tech, None, guard], title="新工单", category="workorder")

    assert [(m.user, m.title, m.category) for m in sent] == [(tech, "新工单", "workorder")]
    assert (message_send(recipients=[], title="x"), message_send(recipients=None, title="x")) == ([], [])


def test_without_preferences_only_the_inbox_is_used(world, sms, committed):
    resident = f.with_phone(world.a.resident)

    with committed():
        message = f.message(resident)

    assert (_log(message), sms) == ([("in_app", "sent", 1, f"inbox:{message.pk}", "")], [])


def test_forced_channels_override_preferences(world, sms, committed):
    resident = f.with_phone(world.a.resident)
    f.prefs(resident, channels={"bill": ["sms"]})

    with committed():
        message = f.message(resident, channels=[])

    assert (len(_log(message)), sms) == (1, [])


def test_an_unknown_category_or_empty_title_is_refused(world):
    with pytest.raises(ValidationFailed) as bad_category:
        message_send(recipients=[world.a.resident], title="t", category="spam")
    with pytest.raises(ValidationFailed) as no_title:
        message_send(recipients=[world.a.resident], title="  ", category="bill")

    assert (list(bad_category.value.fields), list(no_title.value.fields)) == (["category"], ["title"])
    assert Message.objects.count() == 0


def test_quiet_hours_hold_sms_until_they_end_and_inbox_is_immediate(world, sms, committed):
    resident = f.with_phone(world.a.resident)
    f.prefs(resident, channels={"bill": ["sms"]}, quiet=(time(22, 0), time(7, 30)))

    with time_machine.travel(LATE, tick=False), committed():
        message = f.message(resident)
    held = Delivery.objects.get(message=message, channel="sms")
    with time_machine.travel(LATE + timedelta(hours=7), tick=False):
        early = deliveries_due()
    with time_machine.travel(LATE + timedelta(hours=8), tick=False):
        due = deliveries_due()

    assert (message.read_at, Message.objects.filter(user=resident).count()) == (None, 1)
    assert held.not_before == datetime(2026, 12, 8, 23, 30, tzinfo=UTC)  # 07:30 local the next day
    assert (early, due, len(sms)) == ({}, {"sent": 1}, 1)


def test_outside_quiet_hours_sms_goes_at_once(world, sms, committed):
    resident = f.with_phone(world.a.resident)
    f.prefs(resident, channels={"bill": ["sms"]}, quiet=(time(22, 0), time(7, 30)))

    with time_machine.travel(MORNING, tick=False), committed():
        f.message(resident)

    assert len(sms) == 1


def test_failed_attempts_are_retried_with_back_off_then_failed(world, settings, monkeypatch, committed):
    settings.MESSAGING_MAX_ATTEMPTS = 3
    resident = f.with_phone(world.a.resident)
    f.prefs(resident, channels={"bill": ["sms"]})

    class Down:
        def send(self, phone, text):
            raise OSError("carrier unreachable")

    monkeypatch.setattr("linli.messaging.channels.sms.get_sender", lambda: Down())
    with time_machine.travel(MORNING, tick=False), committed():
        message = f.message(resident)
    sms = Delivery.objects.get(message=message, channel="sms")
    after_first = (sms.status, sms.attempts, sms.not_before)
    with time_machine.travel(MORNING + timedelta(seconds=30), tick=False):
        too_soon = deliveries_due()
    with time_machine.travel(MORNING + timedelta(minutes=1), tick=False):
        second = deliveries_due()
    with time_machine.travel(MORNING + timedelta(minutes=6), tick=False):
        third = deliveries_due()
    sms.refresh_from_db()

    assert after_first == ("queued", 1, MORNING + timedelta(minutes=1))
    assert (too_soon, second, third) == ({}, {"queued": 1}, {"failed": 1})
    assert (sms.status, sms.attempts, sms.last_error, sms.sent_at) == (
        "failed",
        3,
        "OSError: carrier unreachable",
        None,
    )


def test_no_phone_or_no_wechat_binding_is_skipped(world, settings, committed):
    settings.WECHAT_APP_ID = ""
    resident = world.a.resident
    f.prefs(resident, channels={"bill": ["sms", "wechat"]})

    with committed():
        message = f.message(resident)

    assert _log(message)[1:] == [
        ("sms", "skipped", 1, "", "没有登记手机号"),
        ("wechat", "skipped", 1, "", "未配置微信订阅消息"),
    ]


def test_an_attempt_is_idempotent(world, sms, committed):
    resident = f.with_phone(world.a.resident)
    f.prefs(resident, channels={"bill": ["sms"]})
    with committed():
        message = f.message(resident)
    delivery = Delivery.objects.get(message=message, channel="sms")

    status = services.delivery_attempt(delivery_id=delivery.pk)

    assert (status, len(sms)) == ("sent", 1)


def test_marking_read_is_only_for_the_owner(world):
    tech, other = world.a.staff[Role.TECHNICIAN], world.a.staff[Role.GUARD]
    message = f.message(tech, title="巡检漏检", category="patrol_missed")

    with pytest.raises(NotFound):
        message_mark_read(actor=actor_for_user(other), message_id=message.pk)
    first = message_mark_read(actor=actor_for_user(tech), message_id=message.pk).read_at
    again = message_mark_read(actor=actor_for_user(tech), message_id=message.pk).read_at

    assert first is not None and again == first


def test_preferences_refuse_unknown_categories_channels_and_half_quiet_hours(world):
    actor = actor_for_user(world.a.resident)

    with pytest.raises(ValidationFailed) as exc:
        services.prefs_update(actor=actor, channels={"spam": ["sms"], "bill": ["fax"]}, quiet_start=time(22))

    assert sorted(exc.value.fields) == ["channels", "quiet_start"]
    assert not world.a.resident.__class__.objects.filter(message_preference__isnull=False).exists()


def test_settings_defaults_are_off():
    assert (settings.WECHAT_APP_ID, settings.SMS_ALIYUN_ACCESS_KEY_ID, settings.SMS_TENCENT_SECRET_ID) == (
        "",
        "",
        "",
    )


def test_messages_older_than_a_year_are_purged_with_their_log(world):
    with time_machine.travel(MORNING - timedelta(days=366), tick=False):
        f.message(world.a.resident, title="去年的账单")
    with time_machine.travel(MORNING, tick=False):
        kept = f.message(world.a.resident)
        deleted = messages_purge()

    assert (deleted, list(Message.objects.all()), Delivery.objects.count()) == (2, [kept], 1)
