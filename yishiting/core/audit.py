"""The audit log (the events table) cannot be changed: database triggers refuse it.

The ORM already refuses (Event.save on an existing row, Event.delete, and the queryset's
update() and delete()); the triggers make the database refuse raw SQL too, from any client:

- PostgreSQL: a row trigger refuses every UPDATE and DELETE on `requests_event`. TRUNCATE
  (a table owner's maintenance statement: `flush`, a restore into a fresh database) is left
  to the database's own privileges.
- SQLite: a trigger refuses every UPDATE. DELETE is refused by the ORM only: Django empties
  SQLite tables with DELETE (flush, transactional tests), and whoever can write the SQLite
  file can change anything in it anyway.

The triggers are created by migration `requests.0007_event_immutable` and created again after
every `migrate` (SQLite drops a table's triggers when a migration rebuilds the table).
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "requests_event"
MESSAGE = "events are immutable (audit log)"

POSTGRES = [
    f"""
    CREATE OR REPLACE FUNCTION yishiting_event_immutable() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    f"DROP TRIGGER IF EXISTS event_immutable ON {TABLE}",
    f"""
    CREATE TRIGGER event_immutable BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION yishiting_event_immutable()
    """,
]
SQLITE = [
    f"""
    CREATE TRIGGER IF NOT EXISTS event_immutable_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
]
DROP = {
    "postgresql": [
        f"DROP TRIGGER IF EXISTS event_immutable ON {TABLE}",
        "DROP FUNCTION IF EXISTS yishiting_event_immutable()",
    ],
    "sqlite": ["DROP TRIGGER IF EXISTS event_immutable_update"],
}


def install(connection: BaseDatabaseWrapper) -> bool:
    """Create (or re-create) the triggers on this database; False for another vendor."""
    statements = {"postgresql": POSTGRES, "sqlite": SQLITE}.get(connection.vendor)
    if statements is None:
        return False
    if TABLE not in connection.introspection.table_names():
        return False
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    return True


def uninstall(connection: BaseDatabaseWrapper) -> None:
    """Drop the triggers (the migration's reverse)."""
    with connection.cursor() as cursor:
        for sql in DROP.get(connection.vendor, []):
            cursor.execute(sql)


def installed(connection: BaseDatabaseWrapper) -> bool:
    """Whether this database has the triggers."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT 1 FROM pg_trigger WHERE tgname = 'event_immutable' AND NOT tgisinternal"
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s",
                ["event_immutable_update"],
            )
        else:
            return False
        return cursor.fetchone() is not None


def after_migrate(using: str = "default", **kwargs: Any) -> None:
    """post_migrate: put the triggers back (a SQLite table rebuild drops them)."""
    from django.db import connections

    install(connections[using])
