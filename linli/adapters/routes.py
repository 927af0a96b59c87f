"""The adapters' HTTP push routes, mounted from their manifests (ADR 0009): ``linli/api.py`` adds
``router`` under ``/devices``, so a route declared as ``path = "/ingest/onenet"`` answers at
``/api/v1/devices/ingest/onenet``. No route is written here by hand: an adapter gains an endpoint by
declaring it in its ``manifest.toml`` (``linli check_adapters`` validates the declaration)."""

from __future__ import annotations

from ninja import Router

from linli.adapters import registry


def build() -> Router:
    """One router with every declared route, ``auth=None`` (each view checks its sender)."""
    router = Router()
    for manifest in registry.manifests().values():
        for route in manifest.routes:
            router.add_api_operation(
                route.path,
                [route.method],
                route.view_func(),
                auth=None,
                url_name=route.name,
                operation_id=route.operation_id,
                summary=route.summary,
            )
    return router


router = build()
