"""Discovery and validation of adapter folders (``linli check_adapters`` runs ``check_all``)."""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REQUIRED = {"key": str, "name": str, "protocol": str, "mode": str, "owners": list}
MODES = {"push", "poll", "stream"}


@dataclass(frozen=True)
class Manifest:
    key: str
    name: str
    protocol: str
    mode: str
    owners: tuple[str, ...]
    folder: Path

    @property
    def module(self) -> str:
        return f"linli.devices.adapters.{self.folder.name}"


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
    )


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
    module = f"linli.devices.adapters.{folder.name}"
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
    fixtures = folder / "fixtures"
    if not fixtures.is_dir() or not any(fixtures.glob("*.json")):
        problems.append(f"{folder.name}: fixtures/ has no captured payloads")
    return problems


def check_all() -> list[str]:
    problems = []
    seen: dict[str, str] = {}
    for folder in folders():
        problems += check(folder)
        key = load(folder).key
        if key in seen:
            problems.append(f"{folder.name}: key '{key}' also used by {seen[key]}")
        seen[key] = folder.name
    return problems
