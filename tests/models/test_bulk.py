"""models/repo/bulk.py: the same results from the PostgreSQL JSON-document form and the generic
executemany form (each test runs on both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.repo.bulk import insert_rows, is_postgres, one_of, update_rows
from models.tables import AuditEvent, Delivery

T0 = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)
AWKWARD = 'quote " apostrophe \' backslash \\ newline \n tab \t 督办 {"json": [1]} NULL'
TABLE = Delivery.__table__  # type: ignore[attr-defined]


def _row(key: str, batch: str, recipient: str = "") -> dict[str, object]:
    return {"key": key, "batch": batch, "stage": "remind", "seq": "", "channel_type": "webhook",
            "recipient": recipient}  # fmt: skip


def _claim(session: Session, rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    constants = {"status": "sending", "attempts": 0, "permanent": False, "reclaims": 0,
                 "created_at": T0, "lease_until": T0 + timedelta(minutes=15)}  # fmt: skip
    return insert_rows(
        session,
        TABLE,
        rows,
        constants=constants,
        skip_conflicts_on="key",
        returning=("id", "key", "batch"),
    )


def test_insert_keeps_order_skips_taken_and_repeated_keys_and_round_trips_values(
    engine: Engine,
) -> None:
    with Session(engine) as s:
        first = _claim(s, [_row("k1", "b1", recipient=AWKWARD), _row("k2", "b1")])
        s.commit()
        again = _claim(s, [_row("k2", "b2"), _row("k3", "b2", recipient="第二"), _row("k3", "b3")])
        s.commit()
        assert [(k, b) for _, k, b in first] == [("k1", "b1"), ("k2", "b1")]
        assert [(k, b) for _, k, b in again] == [("k3", "b2")]  # k2 taken; k3's repeat skipped
        rows = s.exec(select(Delivery).order_by(col(Delivery.id))).all()
        assert [r.key for r in rows] == ["k1", "k2", "k3"]
        assert rows[0].recipient == AWKWARD
        assert rows[0].lease_until == T0 + timedelta(minutes=15)
        assert (rows[0].status, rows[0].permanent, rows[0].created_at) == ("sending", False, T0)


def test_update_matches_on_every_key_adds_increments_and_sets_constants(engine: Engine) -> None:
    with Session(engine) as s:
        ids = {k: i for i, k, _ in _claim(s, [_row("a", "b1"), _row("b", "b1")])}
        s.commit()
        sent = T0 + timedelta(seconds=3)
        update_rows(
            s,
            TABLE,
            [
                {
                    "id": ids["a"],
                    "batch": "b1",
                    "status": "sent",
                    "attempts": 2,
                    "last_error": None,
                    "sent_at": sent,
                },
                # another sender holds "b" now (batch changed): this row must match nothing
                {
                    "id": ids["b"],
                    "batch": "stale",
                    "status": "sent",
                    "attempts": 5,
                    "last_error": AWKWARD,
                    "sent_at": sent,
                },
            ],
            match=("id", "batch"),
            increments=("attempts",),
            constants={"lease_until": None},
        )
        update_rows(s, TABLE, [{"id": ids["a"], "attempts": 1}], increments=("attempts",))
        s.commit()
        a = s.get(Delivery, ids["a"])
        b = s.get(Delivery, ids["b"])
        assert a is not None and b is not None
        assert (a.status, a.attempts, a.sent_at, a.lease_until) == ("sent", 3, sent, None)
        assert (b.status, b.attempts, b.last_error) == ("sending", 0, None)
        assert b.lease_until == T0 + timedelta(minutes=15)


def test_json_columns_keep_their_structure(engine: Engine) -> None:
    data = {"stage": "chase", "seq": "chase-1@2024-03-29", "nested": [1, {"单位": AWKWARD}]}
    with Session(engine) as s:
        row = {"at": T0, "actor": "duban", "entity": "obligation", "entity_id": 7,
               "action": "chased", "from_status": "open", "to_status": "open",
               "reason": AWKWARD, "data": data}  # fmt: skip
        insert_rows(s, AuditEvent.__table__, [row])  # type: ignore[arg-type]
        s.commit()
        event = s.exec(select(AuditEvent)).one()
        assert (event.data, event.reason, event.at) == (data, AWKWARD, T0)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with Session(engine) as s, pytest.raises(Exception, match="naive datetime refused"):
        _claim(s, [_row("n", "b") | {"sent_at": datetime(2024, 3, 4, 9, 0)}])


def test_one_of_finds_exactly_the_listed_values_across_sqlites_chunks(engine: Engine) -> None:
    keys = [f"k{n}" for n in range(1203)]  # more than two SQLite IN lists
    with Session(engine) as s:
        row_ids = [i for i, _, _ in _claim(s, [_row(k, "b") for k in keys])]
        s.commit()
        wanted = [*keys[::2], "absent", AWKWARD]
        conds = list(one_of(s, col(Delivery.key), wanted))
        found = [r.key for c in conds for r in s.exec(select(Delivery).where(c))]
        assert sorted(found) == sorted(keys[::2])
        assert len(conds) == (1 if is_postgres(s) else 2)  # one ANY(array) on PostgreSQL
        assert list(one_of(s, col(Delivery.key), [])) == []  # nothing to look for: no query
        some = row_ids[5:8]
        ids = [i for c in one_of(s, col(Delivery.id), some) for i in s.exec(
            select(Delivery.id).where(c))]  # fmt: skip
        assert sorted(ids) == sorted(some)  # integer columns take an integer array
