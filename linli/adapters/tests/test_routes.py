"""Push routes come from the manifests: every declared route is mounted under /api/v1/devices, and
``check_adapters`` refuses a route it could not mount."""

from pathlib import Path

from django.urls import resolve, reverse

from linli.adapters import registry

GENERIC = Path(registry.__file__).parent / "generic"


def test_every_declared_route_is_mounted_by_name_and_path():
    declared = sorted((r.method, r.path, r.name) for m in registry.manifests().values() for r in m.routes)

    assert declared == [
        ("GET", "/ingest/onenet", "ingest_onenet_verify"),
        ("POST", "/ingest/ctwing", "ingest_ctwing"),
        ("POST", "/ingest/dahua/{token}", "ingest_dahua"),
        ("POST", "/ingest/hikvision/{token}", "ingest_hikvision"),
        ("POST", "/ingest/onenet", "ingest_onenet"),
    ]
    assert (
        reverse("api-v1:ingest_hikvision", kwargs={"token": "k.t"}) == "/api/v1/devices/ingest/hikvision/k.t"
    )
    assert reverse("api-v1:ingest_ctwing") == "/api/v1/devices/ingest/ctwing"
    assert resolve("/api/v1/devices/ingest/dahua/k.t").url_name == "ingest_dahua"


def test_a_route_that_cannot_be_mounted_is_a_manifest_problem():
    routes = [
        {
            "method": "PUT",
            "path": "/push",
            "view": "views:nothing",
            "name": "n",
            "operation_id": "o",
            "summary": "s",
        },
        {"method": "POST", "path": "/ingest/x"},
    ]

    problems = registry._check_routes(GENERIC, routes)

    assert problems == [
        "generic: routes[0]: method must be one of ['GET', 'POST']",
        "generic: routes[0]: path must start with /ingest/",
        "generic: routes[0]: view views:nothing does not import: "
        "No module named 'linli.adapters.generic.views'",
        "generic: routes[1]: view, name, operation_id, summary missing or not a string",
    ]
    assert registry._check_routes(GENERIC, {"method": "GET"}) == [
        "generic: routes must be a list of tables ([[routes]])"
    ]
