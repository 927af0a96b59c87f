import importlib
from datetime import date

import pytest
from django.apps import apps as django_apps

from linli.core.audit import Action
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.people.tests import factories as people_f
from linli.privacy import selectors, services
from linli.privacy.models import Consent, Purpose
from linli.privacy.tests import factories as privacy_f

DEFAULT_CODES = ["face_access", "health_care", "notifications", "service_sharing", "voice_access"]


@pytest.mark.django_db
def test_default_purposes_exist_with_complete_versioned_notices():
    purposes = list(Purpose.objects.order_by("code"))

    assert [p.code for p in purposes] == DEFAULT_CODES
    assert [(p.code, p.sensitive, p.version, p.required_for_service) for p in purposes] == [
        ("face_access", True, 1, False),
        ("health_care", True, 1, False),
        ("notifications", False, 1, False),
        ("service_sharing", False, 1, False),
        ("voice_access", True, 1, False),
    ]
    assert {p.code: services.notice_missing_sections(p.notice, sensitive=p.sensitive) for p in purposes} == {
        c: [] for c in DEFAULT_CODES
    }
    assert Purpose.objects.get(code="face_access").name == "人脸识别通行"
    assert "全部设备确认接收后，平台即删除该照片" in Purpose.objects.get(code="face_access").notice


@pytest.mark.django_db
def test_an_installation_on_the_old_face_notice_moves_to_version_2_and_gets_voice_access():
    migration = importlib.import_module("linli.privacy.migrations.0003_biometric_access_notices")
    face = Purpose.objects.get(code="face_access")
    face.notice = face.notice.replace(migration.NEW_FACE_METHOD, migration.OLD_FACE_METHOD)
    face.save(update_fields=["notice"])
    Purpose.objects.filter(code="voice_access").delete()

    migration.forwards(django_apps, None)
    migration.forwards(django_apps, None)

    face.refresh_from_db()
    assert (face.version, migration.NEW_FACE_METHOD in face.notice) == (2, True)
    assert Purpose.objects.get(code="voice_access").version == 1


@pytest.mark.django_db
def test_the_data_migration_is_rerunnable_and_keeps_newer_versions():
    migration = importlib.import_module("linli.privacy.migrations.0002_default_purposes")
    Purpose.objects.filter(code="notifications").update(version=3)
    Purpose.objects.filter(code="face_access").delete()

    migration.create_purposes(django_apps, None)
    migration.create_purposes(django_apps, None)

    assert sorted(Purpose.objects.values_list("code", flat=True)) == DEFAULT_CODES
    assert Purpose.objects.get(code="notifications").version == 3


@pytest.mark.django_db
def test_resident_grants_and_withdraws_consent(world):
    person = world.a.persons[0]
    actor = actor_for_user(world.a.resident)
    purpose = privacy_f.purpose("face_access")

    consent = services.consent_grant(actor=actor, person=person, purpose=purpose, channel="h5")
    status = next(s for s in selectors.consents_for(person) if s.purpose.code == "face_access")
    assert (consent.notice_version, consent.channel, consent.given_by, consent.guardian) == (
        1,
        "h5",
        world.a.resident,
        None,
    )
    assert (status.granted, status.needs_reconsent, status.effective) == (True, False, True)
    assert selectors.has_consent(person, "face_access") is True

    withdrawn = services.consent_withdraw(actor=actor, person=person, purpose=purpose)

    assert withdrawn.pk == consent.pk
    assert withdrawn.withdrawn_at is not None
    assert selectors.has_consent(person, "face_access") is False
    assert list(
        AuditEvent.objects.filter(subject_person_id=person.pk).order_by("id").values_list("action", flat=True)
    ) == [Action.CONSENT_GRANT, Action.CONSENT_WITHDRAW]


@pytest.mark.django_db
def test_granting_twice_is_idempotent(world):
    person = world.a.persons[0]

    first = privacy_f.consent(person=person, code="notifications")
    second = privacy_f.consent(person=person, code="notifications")

    assert first.pk == second.pk
    assert AuditEvent.objects.filter(action=Action.CONSENT_GRANT).count() == 1


@pytest.mark.django_db
def test_withdrawing_without_consent_is_not_found(world):
    with pytest.raises(NotFound):
        services.consent_withdraw(
            actor=actor_for_user(world.a.resident),
            person=world.a.persons[0],
            purpose=privacy_f.purpose("notifications"),
        )


@pytest.mark.django_db
def test_bumping_the_notice_requires_re_consent(world):
    person = world.a.persons[0]
    old = privacy_f.consent(person=person, code="health_care")
    purpose = privacy_f.purpose("health_care")
    new_text = purpose.notice + "\n处理方式补充：关爱服务记录将同步给签约家庭医生。"

    bumped = services.purpose_bump_version(
        actor=actor_for_user(world.platform_admin), purpose=purpose, notice=new_text
    )

    assert bumped.version == 2
    status = next(s for s in selectors.consents_for(person) if s.purpose.code == "health_care")
    assert (status.granted, status.needs_reconsent, status.effective) == (True, True, False)
    assert selectors.has_consent(person, "health_care") is False
    assert AuditEvent.objects.get(action=Action.UPDATE, object_type="privacy.purpose").detail == {
        "version": 2,
        "consents_needing_renewal": 1,
    }

    renewed = privacy_f.consent(person=person, code="health_care")

    old.refresh_from_db()
    assert renewed.pk != old.pk
    assert (renewed.notice_version, old.withdrawn_at is not None) == (2, True)
    assert selectors.has_consent(person, "health_care") is True


@pytest.mark.django_db
def test_a_notice_missing_required_sections_is_rejected(world):
    purpose = privacy_f.purpose("face_access")

    with pytest.raises(ValidationFailed) as exc:
        services.purpose_bump_version(
            actor=actor_for_user(world.platform_admin),
            purpose=purpose,
            notice="处理者：物业。处理目的：通行。",
        )

    assert exc.value.fields["notice"] == [
        "告知内容缺少：处理方式、个人信息种类、保存期限、权利、必要性、影响"
    ]
    assert Purpose.objects.get(pk=purpose.pk).version == 1


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["property_admin", "audit_admin", "resident"])
def test_only_platform_admins_publish_notices(world, who):
    user = {
        "property_admin": world.a.staff[Role.PROPERTY_ADMIN],
        "audit_admin": world.audit_admin,
        "resident": world.a.resident,
    }[who]
    purpose = privacy_f.purpose("notifications")

    with pytest.raises(PermissionDenied):
        services.purpose_bump_version(
            actor=actor_for_user(user), purpose=purpose, notice=purpose.notice + "。"
        )

    assert Purpose.objects.get(pk=purpose.pk).version == 1


# --- R18: under-14 residents --------------------------------------------------------------------


def _family(world, *, child_age: int = 10):
    room = world.a.rooms[0]
    household = people_f.household(room=room, head=world.a.persons[0])  # persons[0] and [3] live in rooms[0]
    kid = privacy_f.child(estate=world.a.estate, room=room, age=child_age, household=household)
    return household, kid


@pytest.mark.django_db
def test_a_child_under_14_needs_a_guardian(world):
    _household, kid = _family(world)
    kid_user = privacy_f.resident_user_for(kid)

    with pytest.raises(ValidationFailed) as exc:
        services.consent_grant(
            actor=actor_for_user(kid_user), person=kid, purpose=privacy_f.purpose("face_access"), channel="h5"
        )

    assert exc.value.status == 400
    assert exc.value.fields == {"guardian": ["不满十四周岁的未成年人须由监护人同意"]}
    assert Consent.objects.count() == 0


@pytest.mark.django_db
def test_an_adult_of_the_same_household_consents_for_the_child(world):
    _household, kid = _family(world)
    parent = world.a.persons[0]

    consent = services.consent_grant(
        actor=actor_for_user(world.a.resident),
        person=kid,
        guardian=parent,
        purpose=privacy_f.purpose("face_access"),
        channel="h5",
    )

    assert (consent.person, consent.guardian, consent.given_by) == (kid, parent, world.a.resident)
    assert AuditEvent.objects.get(action=Action.CONSENT_GRANT).detail["guardian_id"] == parent.pk


@pytest.mark.django_db
def test_a_guardian_from_another_household_is_rejected(world):
    _household, kid = _family(world)
    stranger = world.a.persons[1]  # lives in rooms[1], no shared household
    stranger_user = privacy_f.resident_user_for(stranger)

    with pytest.raises(ValidationFailed) as exc:
        services.consent_grant(
            actor=actor_for_user(stranger_user),
            person=kid,
            guardian=stranger,
            purpose=privacy_f.purpose("face_access"),
            channel="h5",
        )

    assert exc.value.fields == {"guardian": ["监护人须与未成年人同住一户"]}


@pytest.mark.django_db
def test_a_minor_cannot_be_the_guardian(world):
    household, kid = _family(world)
    sibling = privacy_f.child(estate=world.a.estate, room=world.a.rooms[0], age=16, household=household)
    sibling_user = privacy_f.resident_user_for(sibling)

    with pytest.raises(ValidationFailed) as exc:
        services.consent_grant(
            actor=actor_for_user(sibling_user),
            person=kid,
            guardian=sibling,
            purpose=privacy_f.purpose("face_access"),
            channel="h5",
        )

    assert exc.value.fields == {"guardian": ["监护人须为成年人"]}


@pytest.mark.django_db
def test_a_resident_cannot_act_for_someone_else(world):
    with pytest.raises(NotFound):
        services.consent_grant(
            actor=actor_for_user(world.a.resident),
            person=world.a.persons[1],
            purpose=privacy_f.purpose("notifications"),
            channel="h5",
        )

    assert Consent.objects.count() == 0


@pytest.mark.django_db
def test_staff_record_consent_at_the_counter_within_scope_only(world):
    staff = actor_for_user(world.a.staff[Role.CUSTOMER_SERVICE])
    purpose = privacy_f.purpose("notifications")

    consent = services.consent_grant(
        actor=staff, person=world.a.persons[2], purpose=purpose, channel="counter"
    )
    with pytest.raises(NotFound):
        services.consent_grant(actor=staff, person=world.b.persons[2], purpose=purpose, channel="counter")
    with pytest.raises(PermissionDenied):
        services.consent_grant(
            actor=actor_for_user(world.a.staff[Role.GUARD]),
            person=world.a.persons[1],
            purpose=purpose,
            channel="counter",
        )

    assert consent.channel == "counter"
    assert Consent.objects.count() == 1


@pytest.mark.django_db
def test_age_is_computed_from_the_birth_date(world):
    kid = privacy_f.child(estate=world.a.estate, room=world.a.rooms[0], age=13)

    born = kid.birth_date
    assert selectors.age_of(kid, today=date(born.year + 14, 1, 1)) == 14
    assert selectors.age_of(kid, today=date(born.year + 13, 12, 31)) == 13
