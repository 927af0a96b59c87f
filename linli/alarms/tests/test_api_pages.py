"""API and pages: ack/clear independence, R65 visibility, region-tree visibility, cross-scope probe
for every endpoint and page, query-count guards."""

from __future__ import annotations

import pytest

from linli.alarms import engine
from linli.alarms.models import Alarm, AlarmRule
from linli.alarms.tests import factories as f
from linli.alarms.tests.conftest import T0
from linli.orgs.roles import Role
from linli.orgs.tests import factories as orgs_f

pytestmark = pytest.mark.django_db
API = "/api/v1/alarms"
J = "application/json"


@pytest.fixture
def alarms(dev):
    engine.evaluate(
        [
            f.event(dev.smoke, T0, "smoke_alarm"),
            f.event(dev.watch, T0, "fall"),
            f.event(dev.b_smoke, T0, "smoke_alarm"),
            f.event(dev.b_watch, T0, "fall"),
        ]
    )
    by = {(a.device_id): a for a in Alarm.objects.all()}
    return {
        "fire": by[dev.smoke.pk],
        "health": by[dev.watch.pk],
        "b_fire": by[dev.b_smoke.pk],
        "b_health": by[dev.b_watch.pk],
    }


def test_ack_and_clear_are_independent(alarms, world, login):
    c = login(world.a.staff[Role.GUARD])
    pk = alarms["fire"].pk
    r = c.post(f"{API}/{pk}/clear", {"note": "误报"}, content_type=J)
    assert (r.status_code, r.json()["is_open"], r.json()["needs_ack"]) == (200, False, True)
    needs = c.get(f"{API}?state=needs_ack").json()
    assert [i["id"] for i in needs["items"]] == [pk]
    r = c.post(f"{API}/{pk}/ack", {}, content_type=J)
    assert (r.status_code, r.json()["needs_ack"], r.json()["is_open"]) == (200, False, False)
    assert c.post(f"{API}/{pk}/ack", {}, content_type=J).status_code == 409
    assert c.post(f"{API}/{pk}/clear", {}, content_type=J).status_code == 409
    assert [h["kind"] for h in c.get(f"{API}/{pk}").json()["history"]] == ["raised", "cleared", "acked"]


def test_comment_and_assign(alarms, world, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    pk = alarms["fire"].pk
    assert c.post(f"{API}/{pk}/comments", {"body": "已到场"}, content_type=J).status_code == 201
    guard = world.a.staff[Role.GUARD]
    r = c.post(f"{API}/{pk}/assign", {"assignee_id": guard.pk}, content_type=J)
    assert r.json()["assignee"]["username"] == guard.username
    b_guard = world.b.staff[Role.GUARD]
    r = c.post(f"{API}/{pk}/assign", {"assignee_id": b_guard.pk}, content_type=J)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "validation_error")
    assert c.post(f"{API}/{pk}/comments", {"body": ""}, content_type=J).status_code == 400


def test_r65_property_admin_never_sees_health_alarms(alarms, world, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    assert [i["id"] for i in c.get(API).json()["items"]] == [alarms["fire"].pk]
    assert c.get(f"{API}/{alarms['health'].pk}").status_code == 404
    assert c.post(f"{API}/{alarms['health'].pk}/ack", {}, content_type=J).status_code == 404
    assert c.get(f"{API}/stats?since=2025-03-01T00:00:00Z&until=2025-04-01T00:00:00Z").json()["total"] == 1
    assert c.get(f"/console/alarms/{alarms['health'].pk}/").status_code == 404
    w = login(world.a.staff[Role.COMMUNITY_WORKER])
    assert sorted(i["id"] for i in w.get(API).json()["items"]) == sorted(
        [alarms["fire"].pk, alarms["health"].pk]
    )
    assert w.get(f"{API}/{alarms['health'].pk}").status_code == 200


def test_subdistrict_officer_of_the_street_sees_both_estates(alarms, world, login):
    street = world.a.estate.parent.parent
    officer = orgs_f.staff(role=Role.SUBDISTRICT_OFFICER, scope=[street])
    ids = {i["id"] for i in login(officer).get(f"{API}?state=open").json()["items"]}
    assert ids == {a.pk for a in alarms.values()}


def _api_probes(b):
    return [
        ("get", f"{API}/{b.pk}", None),
        ("post", f"{API}/{b.pk}/ack", {}),
        ("post", f"{API}/{b.pk}/clear", {}),
        ("post", f"{API}/{b.pk}/comments", {"body": "x"}),
        ("post", f"{API}/{b.pk}/assign", {"assignee_id": None}),
    ]


@pytest.mark.parametrize(
    "role",
    [
        Role.PROPERTY_ADMIN,
        Role.GUARD,
        Role.COMMUNITY_WORKER,
        Role.SUBDISTRICT_OFFICER,
        Role.CUSTOMER_SERVICE,
        Role.TECHNICIAN,
    ],
)
def test_cross_scope_probe(alarms, world, login, dev, role):
    c = login(world.a.staff[role])
    for b in (alarms["b_fire"], alarms["b_health"]):
        for method, url, body in _api_probes(b):
            r = getattr(c, method)(url, body, content_type=J) if body is not None else c.get(url)
            assert r.status_code in (403, 404), (url, r.status_code)
        for page in (f"/console/alarms/{b.pk}/",):
            assert c.get(page).status_code in (403, 404)
        assert c.post(f"/console/alarms/{b.pk}/ack/").status_code in (403, 404)
    if c.get(API).status_code == 200:
        ids = {i["id"] for i in c.get(f"{API}?page_size=100").json()["items"]}
        assert ids.isdisjoint({alarms["b_fire"].pk, alarms["b_health"].pk})
        assert {i["id"] for i in c.get(f"{API}/live").json()["items"]}.isdisjoint({alarms["b_fire"].pk})
        assert [x["estate_id"] for x in c.get(f"{API}/fire-overview").json()] == [world.a.estate.pk]
    assert c.post(
        f"{API}/rules",
        {
            "profile_id": dev.b_smoke.profile_id,
            "device_id": dev.b_smoke.pk,
            "cause": "x",
            "name": "x",
            "kind": "event",
            "event": "smoke_alarm",
            "severity": "minor",
        },
        content_type=J,
    ).status_code in (403, 404)
    assert c.post(
        f"{API}/webhooks",
        {"estate_id": world.b.estate.pk, "name": "x", "url": "https://example.com/"},
        content_type=J,
    ).status_code in (403, 404)
    assert Alarm.objects.get(pk=alarms["b_fire"].pk).acked_at is None


def test_unauthenticated_is_401(client):
    assert client.get(API).status_code == 401


def test_bad_input_is_400(alarms, world, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    assert c.get(f"{API}?state=nope").status_code == 400
    assert c.get(f"{API}?ordering=nope").status_code == 400
    assert c.get(f"{API}/stats?since=2025-03-10T00:00:00Z&until=2025-03-01T00:00:00Z").status_code == 400
    assert c.get(f"{API}/99999999999999999999").status_code in (400, 404)


def test_live_cursor(alarms, world, login):
    c = login(world.a.staff[Role.GUARD])
    first = c.get(f"{API}/live").json()
    assert [i["id"] for i in first["items"]] == [alarms["fire"].pk]
    assert c.get(f"{API}/live?after={first['cursor']}").json() == {"cursor": first["cursor"], "items": []}


def test_list_query_count(alarms, world, login, django_assert_max_num_queries, dev):
    for i in range(5):
        engine.evaluate([f.telemetry(dev.gas, T0, gas_concentration=50.0 + i)])
        engine.evaluate([f.telemetry(dev.gas, T0, gas_concentration=1.0)])
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    with django_assert_max_num_queries(12):
        r = c.get(f"{API}?page_size=100")
    assert r.json()["count"] == 6


def test_rules_api_device_override_and_profile_rules_platform_only(dev, world, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    rules = c.get(f"{API}/rules?profile={dev.gas.profile_id}&page_size=100").json()["items"]
    base = next(r for r in rules if r["kind"] == "threshold")
    r = c.post(
        f"{API}/rules",
        {"profile_id": dev.gas.profile_id, "device_id": dev.gas.pk, "base_id": base["id"], "value": 50},
        content_type=J,
    )
    assert (r.status_code, r.json()["value"], r.json()["cause"]) == (201, 50.0, "gas_leak")
    r = c.patch(f"{API}/rules/{base['id']}", {"value": 5}, content_type=J)
    assert r.status_code == 403
    r = c.post(
        f"{API}/rules",
        {
            "profile_id": dev.gas.profile_id,
            "device_id": dev.gas.pk,
            "cause": "x",
            "name": "x",
            "kind": "threshold",
            "point": "nope",
            "operator": "gt",
            "value": 1,
            "severity": "minor",
        },
        content_type=J,
    )
    assert (r.status_code, sorted(r.json()["error"]["fields"])) == (400, ["point"])


def test_pages_render(alarms, world, login):
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    live = c.get("/console/alarms/")
    assert live.status_code == 200 and 'hx-trigger="every 2s"' in live.content.decode()
    part = c.get("/console/alarms/", HTTP_HX_REQUEST="true").content.decode()
    assert alarms["fire"].title in part and "critical" in part and alarms["health"].title not in part
    for url in (
        "/console/alarms/history/",
        "/console/alarms/rules/",
        "/console/alarms/fire/",
        f"/console/alarms/{alarms['fire'].pk}/",
    ):
        assert c.get(url).status_code == 200, url
    r = c.post(f"/console/alarms/{alarms['fire'].pk}/ack/", {"note": ""}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert Alarm.objects.get(pk=alarms["fire"].pk).acked_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "since", ["0036-05-17T18:05:37-23:28", "2026-01-01T00:00:00+15:00", "0001-01-01T00:00:00+01:00"]
)
def test_alarm_list_refuses_impossible_time_offsets_with_400(world, login, since):
    from linli.orgs.roles import Role

    response = login(world.a.staff[Role.PROPERTY_ADMIN]).get("/api/v1/alarms", {"since": since})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_an_explicit_null_in_a_rule_patch_is_a_400_and_changes_nothing(dev, world, login):
    # Issue #12: {"name": null} went through to the database (IntegrityError, a 500).
    c = login(world.a.staff[Role.PROPERTY_ADMIN])
    rules = c.get(f"{API}/rules?profile={dev.gas.profile_id}&page_size=100").json()["items"]
    base = next(r for r in rules if r["kind"] == "threshold")
    override = c.post(
        f"{API}/rules",
        {"profile_id": dev.gas.profile_id, "device_id": dev.gas.pk, "base_id": base["id"], "value": 50},
        content_type=J,
    ).json()
    rule = AlarmRule.objects.get(pk=override["id"])
    before = (rule.name, rule.enabled, rule.duration_s, rule.notify_channels, rule.updated_at)

    r = c.patch(f"{API}/rules/{rule.pk}", {"name": None, "enabled": None, "duration_s": None}, content_type=J)

    assert r.status_code == 400
    assert r.json()["error"]["fields"] == {
        "name": ["不能为空"],
        "enabled": ["不能为空"],
        "duration_s": ["不能为空"],
    }
    rule.refresh_from_db()
    assert (rule.name, rule.enabled, rule.duration_s, rule.notify_channels, rule.updated_at) == before
