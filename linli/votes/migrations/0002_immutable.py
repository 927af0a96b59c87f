"""Frozen vote data has no UPDATE path in the database: triggers refuse any UPDATE of electorate
entries, members, ballots and results, and any UPDATE of a vote that is already closed.

(DELETE is left to ``on_delete=PROTECT`` and to the absence of any delete service, so test-database
flushes keep working.)
"""

from django.db import migrations

TABLES = ["votes_electorateentry", "votes_electoratemember", "votes_ballot", "votes_result"]

PG_UP = """
CREATE OR REPLACE FUNCTION linli_votes_refuse_update() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is frozen: no updates', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION linli_votes_refuse_closed() RETURNS trigger AS $$
BEGIN
  IF OLD.status = 'closed' THEN
    RAISE EXCEPTION 'votes_vote % is closed: no updates', OLD.id;
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def up(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP, None)  # no parameters: the SQL holds literal % placeholders
        for t in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {t}_no_update ON {t}")
            schema_editor.execute(
                f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} "
                "FOR EACH ROW EXECUTE FUNCTION linli_votes_refuse_update()"
            )
        schema_editor.execute("DROP TRIGGER IF EXISTS votes_vote_closed ON votes_vote")
        schema_editor.execute(
            "CREATE TRIGGER votes_vote_closed BEFORE UPDATE ON votes_vote "
            "FOR EACH ROW EXECUTE FUNCTION linli_votes_refuse_closed()"
        )
    elif vendor == "sqlite":
        for t in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {t}_no_update")
            schema_editor.execute(
                f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} "
                f"BEGIN SELECT RAISE(ABORT, '{t} is frozen: no updates'); END"
            )
        schema_editor.execute("DROP TRIGGER IF EXISTS votes_vote_closed")
        schema_editor.execute(
            "CREATE TRIGGER votes_vote_closed BEFORE UPDATE ON votes_vote WHEN OLD.status = 'closed' "
            "BEGIN SELECT RAISE(ABORT, 'votes_vote is closed: no updates'); END"
        )


def down(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for t in [*TABLES, "votes_vote"]:
        name = f"{t}_no_update" if t != "votes_vote" else "votes_vote_closed"
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {t}")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS linli_votes_refuse_update()")
        schema_editor.execute("DROP FUNCTION IF EXISTS linli_votes_refuse_closed()")


class Migration(migrations.Migration):
    dependencies = [("votes", "0001_initial")]
    operations = [migrations.RunPython(up, down)]
