"""``linli rotate_keys``: re-encrypt every encrypted field under the primary key (R21); ``--check``
counts values still under other keys; ``--reindex`` recomputes blind indexes after LINLI_INDEX_KEY
changed. See docs/key-rotation.md for the whole procedure.
"""

from __future__ import annotations

from collections import Counter

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction

from linli.core import audit, crypto
from linli.core.fields import EncryptedTextField


def encrypted_columns() -> list[tuple[type[models.Model], list[EncryptedTextField]]]:
    out = []
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label_lower):
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields and model._meta.managed and not model._meta.proxy:
            out.append((model, fields))
    return out


def _raw_batches(model: type[models.Model], column: str, batch: int):
    """(pk, raw ciphertext) pairs in pk order, read straight from the table (no decryption)."""
    qn = connection.ops.quote_name
    table, pk, col = qn(model._meta.db_table), qn(model._meta.pk.column), qn(column)
    base = f"SELECT {pk}, {col} FROM {table} WHERE {col} IS NOT NULL AND {col} <> ''"  # noqa: S608
    last = None
    while True:
        with connection.cursor() as cur:
            if last is None:
                cur.execute(f"{base} ORDER BY {pk} LIMIT %s", [batch])
            else:
                cur.execute(f"{base} AND {pk} > %s ORDER BY {pk} LIMIT %s", [last, batch])
            rows = cur.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def key_census() -> dict[str, Counter]:
    """Per model label: how many values are stored under each key id."""
    census: dict[str, Counter] = {}
    for model, fields in encrypted_columns():
        counts: Counter = Counter()
        for f in fields:
            for rows in _raw_batches(model, f.column, 2000):
                counts.update(crypto.key_id_of(raw) for _pk, raw in rows)
        census[model._meta.label_lower] = counts
    return census


def rotate(batch: int) -> dict[str, int]:
    primary = crypto.primary_key_id()
    qn = connection.ops.quote_name
    done: dict[str, int] = {}
    for model, fields in encrypted_columns():
        table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
        n = 0
        for f in fields:
            context = f"{model._meta.db_table}.{f.column}"
            update = f"UPDATE {table} SET {qn(f.column)} = %s WHERE {pk} = %s AND {qn(f.column)} = %s"  # noqa: S608
            for rows in _raw_batches(model, f.column, batch):
                stale = [(row_pk, raw) for row_pk, raw in rows if crypto.key_id_of(raw) != primary]
                if not stale:
                    continue
                with transaction.atomic(), connection.cursor() as cur:
                    for row_pk, raw in stale:
                        fresh = crypto.encrypt(
                            crypto.decrypt(raw, context=context), context=context, key_id=primary
                        )
                        # Compare-and-set: a value changed meanwhile is already under the primary key.
                        cur.execute(update, [fresh, row_pk, raw])
                        n += cur.rowcount
        done[model._meta.label_lower] = n
    return done


# Blind-index columns: (model label, encrypted field, hash field, index purpose).
BLIND_INDEXES = [
    ("people.person", "id_number", "id_number_hash", crypto.INDEX_ID_NUMBER),
    ("people.person", "phone", "phone_hash", crypto.INDEX_PHONE),
    ("accounts.user", "phone", "phone_hash", crypto.INDEX_PHONE),
]


def reindex(batch: int) -> dict[str, int]:
    done: dict[str, int] = {}
    for label, value_field, hash_field, purpose in BLIND_INDEXES:
        model = apps.get_model(label)
        n = 0
        last = None
        while True:
            qs = model._default_manager.order_by("pk").only("pk", value_field, hash_field)
            if last is not None:
                qs = qs.filter(pk__gt=last)
            objs = list(qs[:batch])
            if not objs:
                break
            last = objs[-1].pk
            changed = []
            for obj in objs:
                value = getattr(obj, value_field)
                want = crypto.blind_index(value, purpose=purpose) if value else ""
                if getattr(obj, hash_field) != want:
                    setattr(obj, hash_field, want)
                    changed.append(obj)
            if changed:
                with transaction.atomic():
                    model._default_manager.bulk_update(changed, [hash_field])
                n += len(changed)
        done[f"{label}.{hash_field}"] = n
    return done


class Command(BaseCommand):
    help = "Re-encrypt encrypted fields under the primary key (first in LINLI_FIELD_KEYS)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="only count values under non-primary keys; exit 1 while any remain",
        )
        parser.add_argument(
            "--reindex",
            action="store_true",
            help="recompute blind-index (*_hash) columns with the current LINLI_INDEX_KEY",
        )
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **options):
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be positive")
        primary = crypto.primary_key_id()
        if options["check"]:
            census = key_census()
            stale = {label: sum(n for k, n in c.items() if k != primary) for label, c in census.items()}
            for label, counts in census.items():
                detail = ", ".join(f"{k}={n}" for k, n in sorted(counts.items())) or "no values"
                self.stdout.write(f"{label}: {stale[label]} under old keys ({detail})")
            total = sum(stale.values())
            if total:
                raise CommandError(f"{total} values are still under non-primary keys; run rotate_keys")
            self.stdout.write(self.style.SUCCESS(f"all values are under the primary key {primary!r}"))
            return
        if options["reindex"]:
            counts = reindex(batch_size)
            with transaction.atomic():
                audit.record(
                    audit.Action.KEY_ROTATION,
                    actor_label="system:rotate_keys",
                    object_type="core.index_key",
                    detail={"reindexed": counts},
                )
            for label, n in counts.items():
                self.stdout.write(f"{label}: {n} recomputed")
            self.stdout.write(self.style.SUCCESS("blind indexes recomputed"))
            return
        counts = rotate(batch_size)
        with transaction.atomic():
            audit.record(
                audit.Action.KEY_ROTATION,
                actor_label="system:rotate_keys",
                object_type="core.field_key",
                object_id=primary,
                detail={"primary": primary, "re_encrypted": counts},
            )
        for label, n in counts.items():
            self.stdout.write(f"{label}: {n} re-encrypted")
        self.stdout.write(
            self.style.SUCCESS(f"rotation to key {primary!r} done: {sum(counts.values())} values")
        )
