"""Permissions: declared by each app in ``<app>/permissions.py``, collected here in one registry.

An app lists what may be done to its data as upper-case attributes of a ``Permissions`` subclass
(``BILLING_VIEW = "billing.view"``); defining the class registers every name, and a name declared
twice is a start-up error. ``Perm`` is the one namespace services check (``actor.require(
Perm.BILLING_VIEW)``, re-exported by ``orgs.roles``): an attribute not registered yet makes it import
every installed app's ``permissions`` module (Django's ``autodiscover_modules``, as the admin finds
``admin.py``), so no module has to import the apps above it to name their permissions. ``orgs.roles``
grants the names to roles; the orgs tests assert that every granted permission is registered and
every registered one is granted to some role.

Kernel module: it knows no app; the apps import it.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

registry: dict[str, str] = {}  # permission name → "<module>.<class>.<ATTRIBUTE>" that declared it
_by_attribute: dict[str, str] = {}  # "BILLING_VIEW" → "billing.view"


class Permissions:
    """Base of an app's permission namespace: each upper-case ``str`` attribute is one permission.

    ``view`` permissions see masked rows; ``reveal`` permissions see a sensitive value (audited).
    """

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for attr, name in vars(cls).items():
            if not attr.isupper() or not isinstance(name, str):
                continue
            where = f"{cls.__module__}.{cls.__qualname__}.{attr}"
            if name in registry or attr in _by_attribute:
                first = registry.get(name) or registry[_by_attribute[attr]]
                raise ImproperlyConfigured(f"permission {attr} = {name!r} declared in {first} and {where}")
            registry[name] = where
            _by_attribute[attr] = name


def discover() -> dict[str, str]:
    """Import every installed app's ``permissions`` module; return the registry (name → declared where)."""
    autodiscover_modules("permissions")
    return registry


class _Namespace:
    """``Perm.BILLING_VIEW`` → ``"billing.view"``, for every registered permission."""

    def __getattr__(self, attr: str) -> str:
        if attr not in _by_attribute and attr.isupper():
            discover()
        try:
            return _by_attribute[attr]
        except KeyError:
            raise AttributeError(f"no permission {attr} is declared in any app's permissions.py") from None

    def __dir__(self) -> list[str]:
        discover()
        return sorted(_by_attribute)


Perm = _Namespace()
