"""PostgreSQL's incident search index takes each new incident's words at once.

With GIN's default `fastupdate`, new entries wait in a pending list that every search reads
through, row by row, until a vacuum merges it: up to 4 MB of it, thousands of incidents, so a
search that matches nothing cost 0.6 ms at 1,000 incidents and 1.8 ms at 100,000. Incidents
are written a few at a time, so each insert now updates the index itself, and what is pending
today is merged here. SQLite's FTS5 table merges its own segments and needs nothing."""

from django.db import migrations

UP = [
    "ALTER INDEX portal_incident_fts SET (fastupdate = off)",
    "SELECT gin_clean_pending_list('portal_incident_fts'::regclass)",
]
DOWN = ["ALTER INDEX portal_incident_fts SET (fastupdate = on)"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("portal", "0003_held_mail")]

    operations = [migrations.RunPython(_run(UP), _run(DOWN))]
