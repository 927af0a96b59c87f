"""Make the audit log append-only in the database itself: UPDATE and DELETE raise (R49).

Only ``linli.core.audit.maintenance()`` (the retention purge) lifts the guard, for its own
connection: a PostgreSQL session setting, or the SQL function ``linli_audit_locked()`` that Linli
registers on each SQLite connection (a tool without it cannot write the table at all).
"""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION linli_audit_refuse_change() RETURNS trigger AS $$
BEGIN
  -- Only the retention purge (linli purge_audit, rows older than the legal minimum) may delete.
  IF current_setting('linli.audit_maintenance', true) = 'on' THEN
    RETURN COALESCE(OLD, NEW);
  END IF;
  RAISE EXCEPTION 'core_auditevent is append-only';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS core_auditevent_no_update ON core_auditevent;
CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE OR DELETE ON core_auditevent
  FOR EACH ROW EXECUTE FUNCTION linli_audit_refuse_change();
DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent;
CREATE TRIGGER core_auditevent_no_truncate BEFORE TRUNCATE ON core_auditevent
  FOR EACH STATEMENT EXECUTE FUNCTION linli_audit_refuse_change();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS core_auditevent_no_update ON core_auditevent;
DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent;
DROP FUNCTION IF EXISTS linli_audit_refuse_change();
"""
SQLITE_UP = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_update",
    "CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent WHEN linli_audit_locked() "
    "BEGIN SELECT RAISE(ABORT, 'core_auditevent is append-only'); END",
    "DROP TRIGGER IF EXISTS core_auditevent_no_delete",
    "CREATE TRIGGER core_auditevent_no_delete BEFORE DELETE ON core_auditevent WHEN linli_audit_locked() "
    "BEGIN SELECT RAISE(ABORT, 'core_auditevent is append-only'); END",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS core_auditevent_no_update", "DROP TRIGGER IF EXISTS core_auditevent_no_delete"]


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UP)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_UP:
            schema_editor.execute(sql)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DOWN)
    elif schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_DOWN:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(up, down)]
