"""Alembic environment: uses the engine handed in by models.migrate (or the URL in the config)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import models.directory
import models.documents
import models.people
import models.tables  # noqa: F401
from models.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("未指定数据库：没有传入 engine，也没有配置 sqlalchemy.url")
    return url


def run_migrations_online() -> None:
    """Run migrations in one transaction on the configured engine."""
    engine = config.attributes.get("engine") or make_engine(_url())
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
