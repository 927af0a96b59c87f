"""Model fields for sensitive values: stored encrypted, read back as plain text in Python."""

from __future__ import annotations

from typing import Any

from django.db import models

from linli.core import crypto


class EncryptedTextField(models.TextField):
    """A text value encrypted at rest with AES-256-GCM (see ``linli.core.crypto``).

    Pair it with a ``CharField`` holding ``crypto.blind_index(...)`` for exact-match lookups; the
    ciphertext itself is random per write and cannot be searched.
    """

    description = "Encrypted text"

    def _context(self) -> str:
        return f"{self.model._meta.db_table}.{self.column}"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value, context=self._context())

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value), context=self._context())

    def get_lookup(self, lookup_name: str):  # type: ignore[override]
        if lookup_name not in {"isnull"}:
            return None  # ciphertext cannot be compared; use the blind index column
        return super().get_lookup(lookup_name)
