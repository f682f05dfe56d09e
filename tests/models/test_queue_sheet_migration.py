"""Migration 0014 puts the queue items that exist on 督办单: per unit, level and Shanghai day."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from models.migrate import downgrade, upgrade

PARENTS = [
    "INSERT INTO plan (id, title, issuer, doc_no, status, source_name, source_sha256, policy,"
    " created_at) VALUES (1, 'p', '', '', 'active', '', '', '{}', :t)",
    "INSERT INTO unit (id, name, kind, status, note, created_at, updated_at) VALUES"
    " (1, 'a', 'department', 'active', '', :t, :t), (2, 'b', 'department', 'active', '', :t, :t)",
    "INSERT INTO task (id, plan_id, ref, position, section, title, text, policy)"
    " VALUES (1, 1, '1', 1, '[]', 't', '', '{}')",
    "INSERT INTO milestone (id, task_id, key, label, source_text, due_is_default, is_report,"
    " policy, due, lead_units, support_units) VALUES (1, 1, 'm', '', '', false, false, '{}',"
    " '2024-09-26', '[]', '[]')",
]


def test_it_puts_existing_queue_items_on_sheets(engine: Engine) -> None:
    downgrade(engine, "0013")
    t = "2024-09-30 01:05:00+00:00"  # 09:05 Shanghai
    late = "2024-09-30 17:00:00+00:00"  # 01:00 Shanghai the next day
    with engine.begin() as conn:
        for sql in PARENTS:
            conn.execute(text(sql), {"t": t})
        for i, unit in enumerate((1, 1, 1, 2), start=1):
            conn.execute(
                text(
                    "INSERT INTO obligation (id, plan_id, task_id, milestone_id, unit_id,"
                    " occurrence, role, due_on, due_at, status, escalation_level,"
                    " needs_confirmation, created_at, updated_at, version) VALUES (:i, 1, 1, 1,"
                    " :u, :d, 'lead', :d, :t, 'escalated', 2, false, :t, :t, 0)"
                ),
                {"i": i, "u": unit, "d": f"2024-09-{20 + i}", "t": t},
            )
        for i, (status, at) in enumerate(
            (("open", t), ("resolved", t), ("acked", late), ("resolved", t)), start=1
        ):
            conn.execute(
                text(
                    "INSERT INTO queue_item (id, obligation_id, level, status, notes, created_at)"
                    " VALUES (:i, :i, 2, :s, '[]', :at)"
                ),
                {"i": i, "s": status, "at": at},
            )
    upgrade(engine)
    with engine.connect() as conn:
        sheets = conn.execute(
            text(
                "SELECT id, unit_id, office_day, status FROM queue_sheet ORDER BY unit_id, office_day"
            )
        ).all()
        lines = dict(conn.execute(text("SELECT id, sheet_id FROM queue_item")).all())
    days = [(u, str(d), s) for _, u, d, s in sheets]
    # Unit 1: two items of 09-30 (one still open) on one sheet, the 01:00 one on 10-01's;
    # unit 2: its resolved item on a resolved sheet.
    assert days == [
        (1, "2024-09-30", "open"),
        (1, "2024-10-01", "open"),
        (2, "2024-09-30", "resolved"),
    ]
    assert lines[1] == lines[2] == sheets[0][0] and lines[3] == sheets[1][0]
    assert lines[4] == sheets[2][0]
