"""Discovery and validation of adapter folders (``linli check_adapters`` runs ``check_all``).

A manifest may declare HTTP push routes (``[[routes]]``: ``method``, ``path`` under
``/api/v1/devices``, ``view`` as ``"module:function"`` inside the adapter folder, ``name`` for
``reverse("api-v1:<name>")``, ``operation_id`` and ``summary`` as published in ``docs/openapi.json``);
``linli.adapters.routes`` mounts them all.
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REQUIRED = {"key": str, "name": str, "protocol": str, "mode": str, "owners": list}
MODES = {"push", "poll", "stream"}
ROUTE_REQUIRED = ("method", "path", "view", "name", "operation_id", "summary")
METHODS = {"GET", "POST"}


@dataclass(frozen=True)
class Route:
    """One HTTP push route an adapter declares in its manifest."""

    method: str
    path: str
    view: str
    name: str
    operation_id: str
    summary: str
    package: str

    def view_func(self):
        """The view function (imported when the routes are mounted)."""
        module, _colon, func = self.view.partition(":")
        return getattr(importlib.import_module(f"{self.package}.{module}"), func)


@dataclass(frozen=True)
class Manifest:
    key: str
    name: str
    protocol: str
    mode: str
    owners: tuple[str, ...]
    folder: Path
    routes: tuple[Route, ...] = ()

    @property
    def module(self) -> str:
        return f"linli.adapters.{self.folder.name}"


def folders() -> list[Path]:
    return sorted(p for p in ROOT.iterdir() if p.is_dir() and (p / "manifest.toml").exists())


def load(folder: Path) -> Manifest:
    data = tomllib.loads((folder / "manifest.toml").read_text(encoding="utf-8"))
    return Manifest(
        key=data.get("key", ""),
        name=data.get("name", ""),
        protocol=data.get("protocol", ""),
        mode=data.get("mode", ""),
        owners=tuple(data.get("owners", [])),
        folder=folder,
        routes=tuple(_route(folder, r) for r in _tables(data.get("routes"))),
    )


def _tables(routes) -> list[dict]:
    return [r for r in routes if isinstance(r, dict)] if isinstance(routes, list) else []


def _route(folder: Path, raw: dict) -> Route:
    return Route(**{k: str(raw.get(k, "")) for k in ROUTE_REQUIRED}, package=f"linli.adapters.{folder.name}")


@cache
def manifests() -> dict[str, Manifest]:
    return {m.key: m for m in (load(f) for f in folders())}


def keys() -> list[str]:
    return sorted(manifests())


def codec(key: str):
    return importlib.import_module(manifests()[key].module + ".codec")


def adapter(key: str):
    return importlib.import_module(manifests()[key].module + ".adapter")


def check(folder: Path) -> list[str]:
    """Problems of one adapter folder (empty = valid)."""
    problems = []
    try:
        data = tomllib.loads((folder / "manifest.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return [f"{folder.name}: manifest.toml unreadable: {exc}"]
    for name, typ in REQUIRED.items():
        if not isinstance(data.get(name), typ) or not data.get(name):
            problems.append(f"{folder.name}: manifest key '{name}' missing or not a {typ.__name__}")
    if data.get("mode") and data.get("mode") not in MODES:
        problems.append(f"{folder.name}: mode must be one of {sorted(MODES)}")
    module = f"linli.adapters.{folder.name}"
    for part, attr in (("codec", "decode"), ("adapter", "handle")):
        try:
            mod = importlib.import_module(f"{module}.{part}")
        except Exception as exc:
            problems.append(f"{folder.name}: {part}.py does not import: {exc}")
            continue
        if not callable(getattr(mod, attr, None)):
            problems.append(f"{folder.name}: {part}.py has no {attr}()")
    try:
        src = (folder / "codec.py").read_text(encoding="utf-8")
        if "django" in src:
            problems.append(f"{folder.name}: codec.py must not import Django (pure codec)")
    except OSError:
        pass
    problems += _check_routes(folder, data.get("routes"))
    fixtures = folder / "fixtures"
    if not fixtures.is_dir() or not any(fixtures.glob("*.json")):
        problems.append(f"{folder.name}: fixtures/ has no captured payloads")
    return problems


def _check_routes(folder: Path, routes) -> list[str]:
    """Problems of the ``[[routes]]`` an adapter declares (none declared is fine)."""
    if routes is None:
        return []
    if not isinstance(routes, list) or len(_tables(routes)) != len(routes):
        return [f"{folder.name}: routes must be a list of tables ([[routes]])"]
    problems = []
    for i, route in enumerate(routes):
        where = f"{folder.name}: routes[{i}]"
        missing = [k for k in ROUTE_REQUIRED if not isinstance(route.get(k), str) or not route.get(k)]
        if missing:
            problems.append(f"{where}: {', '.join(missing)} missing or not a string")
            continue
        if route["method"] not in METHODS:
            problems.append(f"{where}: method must be one of {sorted(METHODS)}")
        if not route["path"].startswith("/ingest/"):
            problems.append(f"{where}: path must start with /ingest/")
        try:
            view = _route(folder, route).view_func()
        except Exception as exc:
            problems.append(f"{where}: view {route['view']} does not import: {exc}")
            continue
        if not callable(view) or not (view.__doc__ or "").strip():
            problems.append(f"{where}: view {route['view']} is not a function with a docstring")
    return problems


def check_all() -> list[str]:
    problems = []
    seen: dict[str, str] = {}
    names: dict[tuple[str, str], str] = {}
    for folder in folders():
        problems += check(folder)
        manifest = load(folder)
        if manifest.key in seen:
            problems.append(f"{folder.name}: key '{manifest.key}' also used by {seen[manifest.key]}")
        seen[manifest.key] = folder.name
        for route in manifest.routes:
            taken_by = ((route.method, route.path), ("name", route.name), ("operation", route.operation_id))
            for taken in taken_by:
                if taken in names:
                    problems.append(f"{folder.name}: route {taken[1]} also declared by {names[taken]}")
                names[taken] = folder.name
    return problems
