import pytest
from django.urls import reverse

from linli.core import audit
from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.privacy import selectors
from linli.privacy.models import Consent
from linli.privacy.tests import factories as privacy_f
from linli.privacy.tests.pii import find_pii


@pytest.mark.django_db
def test_privacy_centre_shows_my_data_consents_and_who_viewed_me(world, login):
    me = world.a.persons[0]
    privacy_f.consent(person=me, code="notifications")
    audit.record(
        Action.REVEAL,
        actor=actor_for_user(world.a.staff[Role.PROPERTY_ADMIN]),
        object_type="people.person",
        object_id=me.pk,
        subject_person_id=me.pk,
        estate_id=world.a.estate.pk,
        reason="办理门禁卡",
    )

    response = login(world.a.resident).get(reverse("h5privacy:home"))

    assert response.status_code == 200
    assert response.context["h5_tab"] == "privacy"
    html = response.content.decode()
    for text in (
        "我的数据",
        "实有人口登记、物业服务与基层治理",
        "迁出后 3 年",
        "下载我的数据（JSON）",
        "人脸识别通行",
        "健康数据用于关爱服务",
        "向服务商提供联系方式",
        "社区通知推送",
        "处理者：",
        "谁查看了我的信息",
        "办理门禁卡",
        "物业管理员",
    ):
        assert text in html
    assert reverse("h5privacy:consent_withdraw", args=["notifications"]) in html
    assert reverse("h5privacy:consent_grant", args=["face_access"]) in html
    summary = {c.key: c.count for c in response.context["summary"]}
    assert (summary["person"], summary["occupancies"], summary["consents"]) == (1, 1, 1)
    assert find_pii(html) == []
    assert world.a.staff[Role.PROPERTY_ADMIN].username not in html


@pytest.mark.django_db
def test_grant_and_withdraw_from_the_same_page(world, login):
    client = login(world.a.resident)
    me = world.a.persons[0]

    granted = client.post(reverse("h5privacy:consent_grant", args=["face_access"]))
    after_grant = selectors.has_consent(me, "face_access")
    withdrawn = client.post(reverse("h5privacy:consent_withdraw", args=["face_access"]))

    assert granted.status_code == withdrawn.status_code == 302
    assert granted["Location"] == reverse("h5privacy:home")
    assert after_grant is True
    assert selectors.has_consent(me, "face_access") is False
    consent = Consent.objects.get(person=me)
    assert (consent.channel, consent.withdrawn_at is not None) == ("h5", True)


@pytest.mark.django_db
def test_consent_buttons_need_post(world, login):
    response = login(world.a.resident).get(reverse("h5privacy:consent_grant", args=["face_access"]))

    assert response.status_code == 405
    assert Consent.objects.count() == 0


@pytest.mark.django_db
def test_unknown_purpose_is_404(world, login):
    response = login(world.a.resident).post(reverse("h5privacy:consent_grant", args=["marketing"]))

    assert response.status_code == 404


@pytest.mark.django_db
def test_h5_downloads(world, login):
    client = login(world.a.resident)

    js = client.get(reverse("h5privacy:export"), {"format": "json"})
    zp = client.get(reverse("h5privacy:export"), {"format": "csv"})
    bad = client.get(reverse("h5privacy:export"), {"format": "exe"})

    assert (js.status_code, js["Content-Type"]) == (200, "application/json; charset=utf-8")
    assert (zp.status_code, zp["Content-Type"]) == (200, "application/zip")
    assert bad.status_code == 400
    assert AuditEvent.objects.filter(action=Action.SUBJECT_EXPORT).count() == 2


@pytest.mark.django_db
def test_staff_are_sent_to_the_console(world, login):
    response = login(world.a.staff[Role.PROPERTY_ADMIN]).get(reverse("h5privacy:home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("console:home")


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_the_phone_login(client):
    response = client.get(reverse("h5privacy:home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("h5:login") + "?next=/h5/privacy/"
