"""Resident sign-in by phone and one-time code: API and H5 flows, quota, no enumeration."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from linli.accounts import services
from linli.accounts.models import OneTimeCode
from linli.core import crypto
from linli.core.audit import Action
from linli.core.errors import RateLimited, Unauthenticated
from linli.core.models import AuditEvent

UNKNOWN_PHONE = "13700000001"


def _code(message: str) -> str:
    return re.search(r"\d{6}", message).group(0)


def _request(client: Client, phone: str):
    return client.post("/api/v1/auth/otp/request", {"phone": phone}, content_type="application/json")


def _verify(client: Client, phone: str, code: str):
    return client.post(
        "/api/v1/auth/otp/verify", {"phone": phone, "code": code}, content_type="application/json"
    )


def test_resident_signs_in_by_code_end_to_end(world, sms, sent):
    phone = world.a.persons[0].phone
    client = Client()

    with sent():
        answer = _request(client, phone)
    token = _verify(client, phone, _code(sms[0].message))
    me = client.get("/api/v1/auth/tokens", HTTP_AUTHORIZATION=f"Bearer {token.json()['token']}")

    assert answer.status_code == 200
    assert [m.phone for m in sms] == [phone]
    assert token.status_code == 200
    assert me.status_code == 200
    item = me.json()["items"][0]
    assert item["scope"] == "write"
    expires = timezone.datetime.fromisoformat(item["expires_at"])
    assert timedelta(hours=11, minutes=59) < expires - timezone.now() <= timedelta(hours=12)
    assert AuditEvent.objects.filter(action=Action.LOGIN, actor_id=world.a.resident.pk).count() == 1


def test_only_the_code_hash_is_stored(world, sms, sent):
    phone = world.a.persons[0].phone

    with sent():
        services.otp_request(phone=phone)

    code = _code(sms[0].message)
    row = OneTimeCode.objects.get()
    assert row.code_hash == crypto.blind_index(code + phone, purpose="otp")
    assert code not in row.code_hash


def test_resident_with_own_account_phone_gets_a_code(world, sms, sent):
    resident = world.b.resident
    services.resident_phone_set(user=resident, phone="13911112222")

    with sent():
        services.otp_request(phone="139 1111 2222")
    user = services.otp_verify(phone="13911112222", code=_code(sms[0].message))

    assert user == resident


def test_unknown_phone_gets_the_same_answer_and_no_message(world, sms, sent):
    with sent():
        known = _request(Client(), world.a.persons[0].phone)
        unknown = _request(Client(), UNKNOWN_PHONE)

    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()
    assert len(sms) == 1


def test_person_not_linked_to_an_account_gets_no_message(world, sms, sent):
    with sent():
        response = _request(Client(), world.a.persons[1].phone)

    assert response.status_code == 200
    assert sms == []


def test_quota_per_phone_is_the_same_for_known_and_unknown_numbers(world, sms, sent, settings):
    settings.OTP_MAX_PER_HOUR = 3
    known, unknown = world.a.persons[0].phone, UNKNOWN_PHONE
    with sent():
        for _ in range(3):
            _request(Client(), known)
            _request(Client(), unknown)

    with sent():
        over_known = _request(Client(), known)
        over_unknown = _request(Client(), unknown)

    assert over_known.status_code == over_unknown.status_code == 429
    assert over_known.json() == over_unknown.json()
    assert over_known.json()["error"]["code"] == "rate_limited"
    assert len(sms) == 3


def test_quota_frees_up_after_an_hour(world, sms, sent, settings):
    settings.OTP_MAX_PER_HOUR = 1
    phone = world.a.persons[0].phone
    with sent(), time_machine.travel(timezone.now(), tick=False) as traveller:
        services.otp_request(phone=phone)
        with pytest.raises(RateLimited):
            services.otp_request(phone=phone)
        traveller.shift(timedelta(hours=1, seconds=1))
        services.otp_request(phone=phone)

    assert len(sms) == 2


def test_code_is_single_use(world, sms, sent):
    phone = world.a.persons[0].phone
    with sent():
        services.otp_request(phone=phone)
    code = _code(sms[0].message)
    services.otp_verify(phone=phone, code=code)

    with pytest.raises(Unauthenticated):
        services.otp_verify(phone=phone, code=code)


def test_five_wrong_tries_burn_the_code(world, sms, sent):
    phone = world.a.persons[0].phone
    with sent():
        services.otp_request(phone=phone)
    code = _code(sms[0].message)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            services.otp_verify(phone=phone, code=wrong)

    with pytest.raises(Unauthenticated):
        services.otp_verify(phone=phone, code=code)
    assert OneTimeCode.objects.get().attempts == 5


def test_expired_code_is_refused(world, sms, sent, settings):
    phone = world.a.persons[0].phone
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        with sent():
            services.otp_request(phone=phone)
        traveller.shift(timedelta(seconds=settings.OTP_TTL_SECONDS + 1))
        with pytest.raises(Unauthenticated):
            services.otp_verify(phone=phone, code=_code(sms[0].message))


def test_wrong_code_and_unknown_phone_answer_alike(world, sms):
    _request(Client(), world.a.persons[0].phone)
    _request(Client(), UNKNOWN_PHONE)

    wrong = _verify(Client(), world.a.persons[0].phone, "000000")
    unknown = _verify(Client(), UNKNOWN_PHONE, "000000")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_invalid_phone_is_a_400(db, sms):
    response = _request(Client(), "12345")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["phone"] == ["手机号应为以1开头的11位数字"]


def test_disabled_resident_gets_no_code(world, sms, sent):
    resident = world.a.resident
    resident.is_active = False
    resident.save(update_fields=["is_active"])

    with sent():
        _request(Client(), world.a.persons[0].phone)

    assert sms == []


def test_console_sender_logs_the_code(world, caplog, sent, settings):
    settings.SMS_BACKEND = "linli.accounts.sms.ConsoleSmsSender"

    with caplog.at_level("WARNING", logger="linli.sms"), sent():
        services.otp_request(phone=world.a.persons[0].phone)

    assert len(caplog.records) == 1
    assert re.search(r"验证码为 \d{6}", caplog.records[0].getMessage())
