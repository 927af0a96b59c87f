import pytest
from django.urls import reverse

from linli.core import audit
from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.orgs.roles import Role
from linli.privacy.tests import factories as privacy_f
from linli.privacy.tests.pii import find_pii


def _seed(world):
    a0 = world.a.persons[0]
    audit.record(
        Action.REVEAL,
        actor=world.a.staff[Role.PROPERTY_ADMIN],
        object_type="people.person",
        object_id=a0.pk,
        subject_person_id=a0.pk,
        estate_id=world.a.estate.pk,
        reason="核对身份",
    )
    audit.record(Action.LOGIN_FAILED, actor_label="mallory", result="failure")
    audit.record(
        Action.SENSITIVE_READ,
        actor=world.b.staff[Role.POLICE_OFFICER],
        object_type="people.caretag",
        object_id=5,
        subject_person_id=world.b.persons[1].pk,
        estate_id=world.b.estate.pk,
    )


@pytest.mark.django_db
def test_platform_admin_cannot_read_the_audit_log(world, login):
    client = login(world.platform_admin)

    page = client.get(reverse("privacy:audit"))
    api = client.get("/api/v1/privacy/audit")

    assert page.status_code == 403
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "permission_denied"
    assert AuditEvent.objects.filter(action=Action.AUDIT_READ).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.PROPERTY_ADMIN, Role.COMMUNITY_WORKER, Role.POLICE_OFFICER])
def test_estate_staff_cannot_read_the_audit_log(world, login, role):
    assert login(world.a.staff[role]).get(reverse("privacy:audit")).status_code == 403


@pytest.mark.django_db
def test_resident_is_sent_to_h5_from_the_audit_page(world, login):
    response = login(world.a.resident).get(reverse("privacy:audit"))

    assert response.status_code == 302
    assert response["Location"] == reverse("h5:home")


@pytest.mark.django_db
def test_audit_admin_searches_and_the_search_is_audited(world, login):
    _seed(world)
    client = login(world.audit_admin)

    response = client.get(
        reverse("privacy:audit"),
        {"action": Action.REVEAL, "actor": world.a.staff[Role.PROPERTY_ADMIN].username},
        HTTP_X_REQUEST_ID="req-audit-1",
    )

    assert response.status_code == 200
    rows = list(response.context["page"])
    assert [(r.action, r.reason) for r in rows] == [(Action.REVEAL, "核对身份")]
    read = AuditEvent.objects.get(action=Action.AUDIT_READ)
    assert (read.actor_id, read.actor_role, read.ip, read.request_id, read.object_type) == (
        world.audit_admin.pk,
        Role.AUDIT_ADMIN,
        "127.0.0.1",
        "req-audit-1",
        "core.auditevent",
    )
    assert read.detail == {"action": Action.REVEAL, "actor": world.a.staff[Role.PROPERTY_ADMIN].username}
    assert find_pii(response.content.decode()) == []


@pytest.mark.django_db
def test_audit_page_filters_by_subject_result_and_date(world, login):
    _seed(world)
    client = login(world.audit_admin)

    by_subject = client.get(reverse("privacy:audit"), {"subject_person_id": world.b.persons[1].pk})
    by_result = client.get(reverse("privacy:audit"), {"result": "failure"})
    future = client.get(reverse("privacy:audit"), {"date_from": "2999-01-01"})
    bad = client.get(reverse("privacy:audit"), {"date_from": "yesterday"})

    assert [r.action for r in by_subject.context["page"]] == [Action.SENSITIVE_READ]
    assert [r.actor_label for r in by_result.context["page"]] == ["mallory"]
    assert list(future.context["page"]) == []
    assert bad.status_code == 200
    assert bad.context["page"] is None
    assert "date_from" in bad.context["form"].errors


@pytest.mark.django_db
def test_audit_page_paginates(world, login):
    for i in range(60):
        audit.record(Action.LOGIN, actor_label=f"user{i}")
    client = login(world.audit_admin)

    first = client.get(reverse("privacy:audit"), {"action": Action.LOGIN})
    second = client.get(reverse("privacy:audit"), {"action": Action.LOGIN, "page": 2})

    assert len(first.context["page"]) == 50
    assert first.context["page"].paginator.count == 60
    assert [r.actor_label for r in second.context["page"]] == [f"user{i}" for i in range(9, -1, -1)]


@pytest.mark.django_db
def test_audit_api_filters_paginates_and_is_audited(world, login, django_assert_max_num_queries):
    _seed(world)
    client = login(world.audit_admin)

    with django_assert_max_num_queries(14):
        response = client.get("/api/v1/privacy/audit", {"object_type": "people.person", "page_size": 5})

    body = response.json()
    assert response.status_code == 200
    assert (body["count"], body["page"], body["page_size"]) == (1, 1, 5)
    item = body["items"][0]
    assert (item["action"], item["object_id"], item["subject_person_id"], item["estate_id"]) == (
        Action.REVEAL,
        str(world.a.persons[0].pk),
        world.a.persons[0].pk,
        world.a.estate.pk,
    )
    assert (
        AuditEvent.objects.filter(action=Action.AUDIT_READ, detail={"object_type": "people.person"}).count()
        == 1
    )


@pytest.mark.django_db
def test_audit_api_rejects_bad_filters_with_the_envelope(world, login):
    client = login(world.audit_admin)

    response = client.get("/api/v1/privacy/audit", {"date_from": "nope", "page_size": 500})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert set(response.json()["error"]["fields"]) >= {"date_from", "page_size"}


# One test per event type written by this app: actor, action, object, ip and request id are recorded.


@pytest.mark.django_db
def test_event_consent_grant_and_withdraw(world, login):
    privacy_f.purpose("notifications")
    client = login(world.a.resident)
    person = world.a.persons[0]

    client.post(
        "/api/v1/privacy/me/consents",
        {"purpose": "notifications"},
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-grant",
    )
    client.post(
        "/api/v1/privacy/me/consents/notifications/withdraw",
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-withdraw",
    )

    grant = AuditEvent.objects.get(action=Action.CONSENT_GRANT)
    withdraw = AuditEvent.objects.get(action=Action.CONSENT_WITHDRAW)
    consent = person.consents.get()
    for event, rid in ((grant, "req-grant"), (withdraw, "req-withdraw")):
        assert (
            event.actor_id,
            event.actor_role,
            event.object_type,
            event.object_id,
            event.subject_person_id,
            event.estate_id,
            event.ip,
            event.request_id,
        ) == (
            world.a.resident.pk,
            Role.RESIDENT,
            "privacy.consent",
            str(consent.pk),
            person.pk,
            world.a.estate.pk,
            "127.0.0.1",
            rid,
        )


@pytest.mark.django_db
def test_event_subject_export(world, login):
    login(world.a.resident).get("/api/v1/privacy/me/export", HTTP_X_REQUEST_ID="req-export")

    event = AuditEvent.objects.get(action=Action.SUBJECT_EXPORT)
    assert (
        event.actor_id,
        event.object_type,
        event.object_id,
        event.subject_person_id,
        event.ip,
        event.request_id,
    ) == (
        world.a.resident.pk,
        "people.person",
        str(world.a.persons[0].pk),
        world.a.persons[0].pk,
        "127.0.0.1",
        "req-export",
    )
    assert event.detail["format"] == "json"
    assert event.detail["dataset_level"] == 4


@pytest.mark.django_db
def test_event_audit_read_through_the_api(world, login):
    login(world.audit_admin).get("/api/v1/privacy/audit", {"result": "failure"}, HTTP_X_REQUEST_ID="req-read")

    event = AuditEvent.objects.get(action=Action.AUDIT_READ)
    assert (
        event.actor_id,
        event.actor_label,
        event.object_type,
        event.ip,
        event.request_id,
        event.detail,
    ) == (world.audit_admin.pk, "auditor", "core.auditevent", "127.0.0.1", "req-read", {"result": "failure"})
