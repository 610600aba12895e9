"""Full-text search over incidents with the database's own engine: an FTS5 table kept in step
by triggers on SQLite, a GIN expression index on PostgreSQL (see portal.search)."""

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE portal_incident_fts USING fts5("
    "title, description, tokenize='porter unicode61')",
    "INSERT INTO portal_incident_fts(rowid, title, description) "
    "SELECT id, title, description FROM incidents_incident",
    "CREATE TRIGGER portal_incident_fts_ai AFTER INSERT ON incidents_incident BEGIN "
    "INSERT INTO portal_incident_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "CREATE TRIGGER portal_incident_fts_au AFTER UPDATE OF title, description "
    "ON incidents_incident WHEN old.title IS NOT new.title "
    "OR old.description IS NOT new.description BEGIN "
    "DELETE FROM portal_incident_fts WHERE rowid = old.id; "
    "INSERT INTO portal_incident_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "CREATE TRIGGER portal_incident_fts_ad AFTER DELETE ON incidents_incident BEGIN "
    "DELETE FROM portal_incident_fts WHERE rowid = old.id; END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS portal_incident_fts_ad",
    "DROP TRIGGER IF EXISTS portal_incident_fts_au",
    "DROP TRIGGER IF EXISTS portal_incident_fts_ai",
    "DROP TABLE IF EXISTS portal_incident_fts",
]
POSTGRES_UP = [
    "CREATE INDEX IF NOT EXISTS portal_incident_fts ON incidents_incident USING GIN "
    "(to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, '')))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS portal_incident_fts"]


def _run(statements_for):
    def run(apps, schema_editor):
        for sql in statements_for.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("incidents", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        ),
    ]
