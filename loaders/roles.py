"""Least-privilege roles: who may write which schemas of crm7's database.

- ``crm7_loader`` (``crm7 load``) owns ``raw`` and can write nothing else;
- ``crm7_transform`` (dbt) reads ``raw`` and owns ``staging``, ``intermediate``, ``crm``
  and ``audit``;
- ``crm7_reader`` (analysts, BI) reads ``crm`` only.

None of them is a superuser: none can read server files or run programs (``COPY ...
FROM PROGRAM``). ``crm7 db init`` runs this SQL on crm7's database (the embedded server
also runs it on first use); ``crm7 db grant`` prints it, for an administrator to run on
a server crm7 does not manage. The roles have no password: give them one
(``alter role crm7_loader password '...'``) to connect over TCP.
"""

from __future__ import annotations

import psycopg

from loaders.errors import DatabaseError

LOADER, TRANSFORM, READER = "crm7_loader", "crm7_transform", "crm7_reader"
ROLES = (LOADER, TRANSFORM, READER)
TRANSFORM_SCHEMAS = ("staging", "intermediate", "crm", "audit")


def grant_sql(database: str) -> str:
    """The statements, idempotent, that create the roles and their rights on ``database``."""
    quoted_db = '"' + database.replace('"', '""') + '"'
    creates = "\n".join(
        f"    if not exists (select from pg_roles where rolname = '{role}') then\n"
        f"        create role {role} login nosuperuser nocreatedb nocreaterole;\n"
        "    end if;"
        for role in ROLES
    )
    lines = [
        "-- crm7 least-privilege roles (crm7 db grant); safe to run again.",
        "do $$",
        "begin",
        creates,
        "end",
        "$$;",
        f"revoke create on database {quoted_db} from public;",
        f"grant connect, temporary on database {quoted_db} to {', '.join(ROLES)};",
        "-- create: for their own `create schema if not exists` (dbt runs one per schema)",
        f"grant create on database {quoted_db} to {LOADER}, {TRANSFORM};",
        "revoke create on schema public from public;",
        "-- the loader owns raw; dbt reads it",
        f"create schema if not exists raw authorization {LOADER};",
        f"alter schema raw owner to {LOADER};",
        f"grant usage on schema raw to {TRANSFORM};",
        f"grant select on all tables in schema raw to {TRANSFORM};",
        f"alter default privileges for role {LOADER} in schema raw grant select on tables "
        f"to {TRANSFORM};",
        "-- also for tables the superuser running this creates (the embedded server's loads)",
        f"alter default privileges in schema raw grant select on tables to {TRANSFORM};",
        "-- dbt owns what it builds; analysts read crm",
    ]
    for schema in TRANSFORM_SCHEMAS:
        lines += [
            f"create schema if not exists {schema} authorization {TRANSFORM};",
            f"alter schema {schema} owner to {TRANSFORM};",
        ]
    lines += [
        f"grant usage on schema crm to {READER};",
        f"grant select on all tables in schema crm to {READER};",
        f"alter default privileges for role {TRANSFORM} in schema crm grant select on tables "
        f"to {READER};",
        f"alter default privileges in schema crm grant select on tables to {READER};",
    ]
    return "\n".join(lines) + "\n"


def create_roles(conn: psycopg.Connection, raw_tables: bool = False) -> None:
    """Run grant_sql on the database ``conn`` is connected to (as a superuser); with
    ``raw_tables``, also create every contract's raw tables as ``crm7_loader`` (their
    owner), so that dbt can run as ``crm7_transform`` before every entity was loaded."""
    database = conn.execute("select current_database()").fetchone()[0]
    try:
        with conn.transaction():
            conn.execute(grant_sql(database))
        conn.commit()
        if raw_tables:
            from loaders.load.raw_schema import ensure_all_contract_tables

            conn.execute(f"set role {LOADER}")
            ensure_all_contract_tables(conn)
            conn.execute("reset role")
            conn.commit()
    except psycopg.Error as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DatabaseError(
            f"cannot create crm7's roles in database {database}: {reason}; have a superuser "
            "run the SQL that `crm7 db grant` prints"
        ) from None
