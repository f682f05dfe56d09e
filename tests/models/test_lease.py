"""The one-sender lease on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.repo.lease import acquire_lease, lease_holder, release_lease

T0 = datetime(2024, 9, 19, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TTL = timedelta(seconds=90)


def test_it_gives_the_lease_to_one_holder_until_it_expires(engine: Engine) -> None:
    with Session(engine) as a, Session(engine) as b:
        assert acquire_lease(session=a, name="sender", holder="A", now=T0, ttl=TTL)
        assert not acquire_lease(
            session=b, name="sender", holder="B", now=T0 + timedelta(seconds=30), ttl=TTL
        )
        assert acquire_lease(
            session=a, name="sender", holder="A", now=T0 + timedelta(seconds=60), ttl=TTL
        )
        # A renewed at +60 s, so at +120 s B still waits; A died, so at +151 s B takes over.
        assert not acquire_lease(
            session=b, name="sender", holder="B", now=T0 + timedelta(seconds=120), ttl=TTL
        )
        assert acquire_lease(
            session=b, name="sender", holder="B", now=T0 + timedelta(seconds=151), ttl=TTL
        )
        assert lease_holder(session=a, name="sender", now=T0 + timedelta(seconds=152)) == "B"
        assert not acquire_lease(
            session=a, name="sender", holder="A", now=T0 + timedelta(seconds=153), ttl=TTL
        )


def test_it_frees_the_lease_at_once_on_release(engine: Engine) -> None:
    with Session(engine) as a, Session(engine) as b:
        assert acquire_lease(session=a, name="sender", holder="A", now=T0, ttl=TTL)
        release_lease(session=a, name="sender", holder="A", now=T0 + timedelta(seconds=1))
        assert lease_holder(session=b, name="sender", now=T0 + timedelta(seconds=1)) is None
        assert acquire_lease(
            session=b, name="sender", holder="B", now=T0 + timedelta(seconds=1), ttl=TTL
        )


def test_it_ignores_a_release_by_a_non_holder(engine: Engine) -> None:
    with Session(engine) as a, Session(engine) as b:
        assert acquire_lease(session=a, name="sender", holder="A", now=T0, ttl=TTL)
        release_lease(session=b, name="sender", holder="B", now=T0)
        assert lease_holder(session=b, name="sender", now=T0) == "A"
