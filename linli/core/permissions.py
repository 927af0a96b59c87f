"""Permissions: declared by each app in ``<app>/permissions.py``, collected here in one registry.

An app lists what may be done to its data as upper-case attributes of a ``Permissions`` subclass
(``BILLING_VIEW = "billing.view"``); defining the class registers every name, and a name declared
twice is a start-up error. ``orgs.roles`` grants registered names to roles and joins the app classes
into the ``Perm`` namespace services check (``actor.require(Perm.BILLING_VIEW)``). The orgs tests
assert that every granted permission is registered and every registered one is granted to some role,
so a permission cannot be granted by typo or declared and forgotten.

Kernel module: it knows no app; the apps import it.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

registry: dict[str, str] = {}  # permission name → "<module>.<class>.<ATTRIBUTE>" that declared it


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
            if name in registry:
                raise ImproperlyConfigured(
                    f"permission {name!r} declared twice: {registry[name]} and {where}"
                )
            registry[name] = where
