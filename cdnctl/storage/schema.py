"""The database schema: SQLAlchemy Core tables on one :data:`metadata`.

Times are timezone-aware UTC everywhere (:class:`UTCDateTime`): ``timestamptz`` on
PostgreSQL, a fixed-width ISO-8601 string on SQLite (so text order is time order and
microseconds survive the round trip). Enum-like columns hold the enum's value.

Indexes follow the queries in :mod:`cdnctl.storage.repository` and ``_queue``:

* tasks are listed newest first per account with optional filters
  (``ix_tasks_account_id_id`` plus one ``(account_id, <filter>, id)`` index for each
  selective filter), looked up by exact target (hash indexes on PostgreSQL, whose btree
  cannot hold a 4 KiB URL), and swept by deadline (a partial index over unfinished
  tasks only);
* jobs are listed per account and creation time (``list_jobs``), their tasks
  aggregated through ``(job_id, id)``;
* deliveries are claimed in ``(state, next_attempt_at)`` order and read per task;
* attempts are read per delivery;
* upload tasks are listed per account, site and creation time, and pruned by
  creation time; their file is a separate row, read only while expanding.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, LiteralString

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Sequence,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "UNFINISHED_TASKS",
    "UTCDateTime",
    "accounts",
    "attempts",
    "block_rules",
    "deliveries",
    "jobs",
    "metadata",
    "nodes",
    "quota_usage",
    "schema_version",
    "sites",
    "task_id_seq",
    "tasks",
    "upload_files",
    "upload_tasks",
]


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime with microsecond precision on every dialect.

    Naive datetimes are refused: every time inside cdnctl is aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: cdnctl stores aware UTC times only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # Fixed width ("2024-01-01 08:23:22.000000+00:00"): text order is time order.
            return value.isoformat(sep=" ", timespec="microseconds")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).astimezone(UTC)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)


#: 64-bit ids on PostgreSQL; SQLite needs exactly INTEGER for a rowid alias.
_ID = BigInteger().with_variant(Integer(), "sqlite")
_NAME = String(128)
#: Unfinished tasks, as literal SQL: a partial index is only usable by a query whose
#: WHERE clause repeats its predicate with the same literals (never bound parameters).
UNFINISHED_TASKS: LiteralString = "state IN ('queued', 'running')"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", _NAME, nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", _NAME, primary_key=True),
    Column("name", String(255), nullable=False),
)

sites = Table(
    "sites",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("account_id", _NAME, nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("zone_id", _NAME, nullable=False),
    Column("domains", JSON, nullable=False),  # list of host names (wildcards allowed)
    Column("pool", _NAME, nullable=False),
)

nodes = Table(
    "nodes",
    metadata,
    Column("name", _NAME, primary_key=True),
    Column("pool", _NAME, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("url", Text, nullable=False),  # without credentials
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", _NAME, primary_key=True),
    Column("account_id", _NAME, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("source", String(32), nullable=False),
    Column("request_id", _NAME, nullable=False),
    Column("idempotency_key", String(255)),
    Column("fingerprint", _NAME, nullable=False),
    Column("task_count", Integer, nullable=False),
    Column("meta", JSON(none_as_null=True)),
    UniqueConstraint("account_id", "idempotency_key"),
    # list_jobs: an account's jobs in a window, walked in (created_at, id) order so that
    # grouping their tasks per job needs no sort
    Index(None, "account_id", "created_at", "id"),
)

#: Task ids are allocated in bulk (``nextval`` over ``generate_series``) on PostgreSQL;
#: on SQLite ``AUTOINCREMENT`` keeps the high-water mark so pruned ids are never reused.
task_id_seq = Sequence("tasks_id_seq", metadata=metadata)

tasks = Table(
    "tasks",
    metadata,
    Column("id", _ID, task_id_seq, primary_key=True),
    Column("job_id", ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", _NAME, nullable=False),
    Column("action", String(16), nullable=False),
    Column("type", String(24), nullable=False),
    Column("target", Text, nullable=False),
    Column("raw_target", Text),  # NULL when the client sent the canonical target
    Column("domain", String(255)),
    Column("method", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deadline", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("deliveries_total", Integer, nullable=False),
    Column("deliveries_succeeded", Integer, nullable=False, server_default=text("0")),
    Column("deliveries_failed", Integer, nullable=False, server_default=text("0")),
    Column("error_code", String(64)),
    Column("description", Text),
    Column("headers", JSON(none_as_null=True)),
    Column("block_ttl_seconds", Integer),
    Column("block_expires_at", UTCDateTime),
    Column("source", String(32), nullable=False),
    # The site the task acts in (see core Target.site_id). Last: added by migration 3.
    Column("site_id", BigInteger),
    Index(None, "account_id", "id"),
    Index(None, "account_id", "state", "id"),
    Index(None, "account_id", "action", "type", "id"),
    Index(None, "account_id", "domain", "id"),
    Index(None, "account_id", "site_id", "id"),
    Index(None, "account_id", "created_at", postgresql_include=["id"]),
    Index(None, "job_id", "id"),
    Index(None, "target", postgresql_using="hash"),
    Index(
        None,
        "raw_target",
        postgresql_using="hash",
        postgresql_where=text("raw_target IS NOT NULL"),
        sqlite_where=text("raw_target IS NOT NULL"),
    ),
    Index(
        "ix_tasks_active_deadline",
        "deadline",
        postgresql_where=text(UNFINISHED_TASKS),
        sqlite_where=text(UNFINISHED_TASKS),
    ),
    sqlite_autoincrement=True,
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("task_id", ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("node", _NAME, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_owner", _NAME),
    Column("lease_expires_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("http_status", Integer),
    Column("error_code", String(64)),
    Column("description", Text),
    Index(None, "state", "next_attempt_at"),
    sqlite_autoincrement=True,
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", _ID, primary_key=True),
    Column(
        "delivery_id",
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("number", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("http_status", Integer),
    Column("detail", String(512), nullable=False),
)

quota_usage = Table(
    "quota_usage",
    metadata,
    Column("scope", _NAME, nullable=False),
    Column("day", String(10), nullable=False),  # YYYY-MM-DD (UTC)
    Column("kind", String(32), nullable=False),
    Column("used", Integer, nullable=False),
    PrimaryKeyConstraint("scope", "day", "kind"),
)

block_rules = Table(
    "block_rules",
    metadata,
    Column("account_id", _NAME, nullable=False),
    Column("url", Text, nullable=False),
    Column("domain", String(255)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("task_id", BigInteger, nullable=False),  # no FK: a rule outlives a pruned task
    PrimaryKeyConstraint("account_id", "url"),
    Index(None, "account_id", "created_at"),
    Index(None, "created_at"),
)

#: Upload tasks (see ``cdnctl.core.uploads``): a URL-list file being expanded into jobs.
upload_tasks = Table(
    "upload_tasks",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("account_id", _NAME, nullable=False),
    Column("site_id", BigInteger, nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("force", Boolean, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("lines", BigInteger, nullable=False),
    Column("cursor", BigInteger, nullable=False),  # bytes of the file already expanded
    Column("line_no", BigInteger, nullable=False),
    Column("chunk", Integer, nullable=False),
    Column("submitted", BigInteger, nullable=False),
    Column("failed_children", BigInteger, nullable=False),
    Column("errors", JSON, nullable=False),  # error code -> lines
    Column("samples", JSON, nullable=False),  # error code -> first line numbers
    Column("lease_owner", _NAME),
    Column("lease_until", UTCDateTime),
    Index(None, "account_id", "site_id", "created_at"),
    sqlite_autoincrement=True,
)

upload_files = Table(
    "upload_files",
    metadata,
    Column("upload_id", ForeignKey("upload_tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)
