"""Notifications per channel and recipient, webhook signature and SSRF refusal, equipment-fault work
orders, escalation, and two gateways racing on PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.db import connection, transaction

from linli.accounts.sms import MemorySmsSender
from linli.alarms import engine, services
from linli.alarms.models import Alarm, AlarmNotification
from linli.alarms.notify import UrlRefused, check_url
from linli.alarms.tests import factories as f
from linli.alarms.tests.conftest import T0
from linli.core.errors import ValidationFailed
from linli.messaging.models import Message
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user

pytestmark = pytest.mark.django_db


def _raise(dev_, name, capture):
    with capture(execute=True):
        engine.evaluate([f.event(dev_, T0, name)])
    return Alarm.objects.get(device=dev_)


def _phone(user, number):
    user.phone = number
    user.save(update_fields=["phone"])


def test_fire_notifies_guard_and_property_admin_by_console_and_masked_sms(
    dev, world, django_capture_on_commit_callbacks
):
    guard, admin = world.a.staff[Role.GUARD], world.a.staff[Role.PROPERTY_ADMIN]
    _phone(guard, "13800001111")
    alarm = _raise(dev.smoke, "smoke_alarm", django_capture_on_commit_callbacks)

    assert sorted(Message.objects.values_list("user__username", flat=True)) == sorted(
        [guard.username, admin.username]
    )
    assert [(s.phone, "1-101" in s.message) for s in MemorySmsSender.outbox] == [("13800001111", False)]
    assert "甲小区" in MemorySmsSender.outbox[0].message
    rows = sorted(alarm.notifications.values_list("channel", "target", "status"))
    assert rows == sorted(
        [
            ("console", guard.username, "sent"),
            ("console", admin.username, "sent"),
            ("sms", f"{guard.username}:138****1111", "sent"),
        ]
    )
    services.alarm_dispatch(alarm_id=alarm.pk)  # a retried task sends nothing twice
    assert len(MemorySmsSender.outbox) == 1 and Message.objects.count() == 2


def test_health_alarm_goes_to_community_workers_only(dev, world, django_capture_on_commit_callbacks):
    worker = world.a.staff[Role.COMMUNITY_WORKER]
    _phone(worker, "13900002222")
    _phone(world.a.staff[Role.PROPERTY_ADMIN], "13900003333")
    _raise(dev.watch, "fall", django_capture_on_commit_callbacks)
    assert list(Message.objects.values_list("user__username", flat=True)) == [worker.username]
    assert [s.phone for s in MemorySmsSender.outbox] == ["13900002222"]
    assert "跌倒" not in MemorySmsSender.outbox[0].message


def test_equipment_fault_opens_exactly_one_work_order(dev, django_capture_on_commit_callbacks):
    from linli.workorders.models import WorkOrder

    with django_capture_on_commit_callbacks(execute=True):
        engine.evaluate([f.telemetry(dev.lift, T0, fault_code="E12")])
    alarm = Alarm.objects.get()
    order = WorkOrder.objects.get()
    assert (order.source, order.source_ref, order.kind, alarm.workorder_id) == (
        "device",
        f"alarm:{alarm.pk}",
        "repair_common",
        order.pk,
    )
    services.alarm_dispatch(alarm_id=alarm.pk)
    services.alarm_open_workorder(alarm=alarm)
    assert WorkOrder.objects.count() == 1


def test_escalation_notifies_next_level_once(dev, world, django_capture_on_commit_callbacks):
    officer = world.a.staff[Role.SUBDISTRICT_OFFICER]
    alarm = _raise(dev.smoke, "smoke_alarm", django_capture_on_commit_callbacks)  # escalates after 5 min
    with django_capture_on_commit_callbacks(execute=True):
        assert services.alarms_escalate(now=T0 + timedelta(minutes=4)) == 0
        assert services.alarms_escalate(now=T0 + timedelta(minutes=5)) == 1
        assert services.alarms_escalate(now=T0 + timedelta(minutes=9)) == 0
    alarm.refresh_from_db()
    assert alarm.escalated_at == T0 + timedelta(minutes=5)
    level1 = set(alarm.notifications.filter(level=1, channel="console").values_list("target", flat=True))
    assert level1 == {officer.username, world.a.staff[Role.PROPERTY_ADMIN].username}
    assert list(alarm.history.values_list("kind", flat=True)) == ["raised", "escalated"]


def test_acknowledged_alarm_does_not_escalate(dev, world, django_capture_on_commit_callbacks):
    alarm = _raise(dev.smoke, "smoke_alarm", django_capture_on_commit_callbacks)
    services.alarm_ack(actor=actor_for_user(world.a.staff[Role.GUARD]), alarm=alarm)
    assert services.alarms_escalate(now=T0 + timedelta(hours=1)) == 0


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_is_signed_and_verified_by_a_local_server(
    dev, world, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hook.received = []
    try:
        _hook, secret = services.webhook_create(
            actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]),
            estate=world.a.estate,
            name="城市平台",
            url=f"http://127.0.0.1:{server.server_port}/hook?x=1",
        )
        alarm = _raise(dev.smoke, "smoke_alarm", django_capture_on_commit_callbacks)
    finally:
        server.shutdown()
    ((headers, body),) = _Hook.received
    msg = f"{headers['X-Linli-Timestamp']}.{headers['X-Linli-Nonce']}.".encode() + body
    expected = hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()
    assert headers["X-Linli-Signature"] == "sha256=" + expected
    assert json.loads(body)["alarm"]["id"] == alarm.pk
    assert alarm.notifications.get(channel="webhook").status == "sent"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/x",
        "http://127.0.0.1:8000/",
        "ftp://example.com/",
        "http://user:pw@8.8.8.8/",
    ],
)
def test_webhook_to_private_or_metadata_address_is_refused(world, url):
    with pytest.raises(ValidationFailed):
        services.webhook_create(
            actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]), estate=world.a.estate, name="x", url=url
        )
    assert AlarmNotification.objects.count() == 0


def test_metadata_address_refused_even_when_private_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(UrlRefused):
        check_url("http://169.254.169.254/")
    assert check_url("http://10.0.0.1/") == ["10.0.0.1"]


@pytest.mark.django_db(transaction=True)
def test_two_gateways_racing_on_postgresql_open_one_alarm(dev):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises writers; covered sequentially)")
    barrier = threading.Barrier(2)
    errors = []

    def gateway(ts):
        try:
            barrier.wait(5)
            with transaction.atomic():
                engine.evaluate([f.event(dev.smoke, ts, "smoke_alarm")])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=gateway, args=(T0 + timedelta(seconds=i),)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    assert list(Alarm.objects.filter(device=dev.smoke).values_list("cause", "count")) == [("fire", 2)]
