"""Migration 0021: papers issued before it (one obligation each) get their one line and, for a
督办单, the unit's sheet of the day; they are found and attached as before."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.migrate import downgrade, upgrade
from models.repo.papers import paper_files, papers_of, sheet_papers
from tests.models.test_queue_sheet_migration import PARENTS


def test_it_keeps_existing_papers_readable_and_puts_each_on_its_sheet(engine: Engine) -> None:
    downgrade(engine, "0017")
    t = "2024-09-30 01:05:00+00:00"  # 09:05 Shanghai
    with engine.begin() as conn:
        for sql in PARENTS:
            conn.execute(text(sql), {"t": t})
        for i in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO obligation (id, plan_id, task_id, milestone_id, unit_id,"
                    " occurrence, role, due_on, due_at, status, escalation_level,"
                    " needs_confirmation, created_at, updated_at, version) VALUES (:i, 1, 1, 1,"
                    " 1, :d, 'lead', :d, :t, 'escalated', 2, false, :t, :t, 0)"
                ),
                {"i": i, "d": f"2024-09-2{i}", "t": t},
            )
        conn.execute(
            text(
                "INSERT INTO queue_sheet (id, unit_id, level, office_day, status, notes,"
                " created_at) VALUES (7, 1, 2, '2024-09-30', 'open', '[]', :t)"
            ),
            {"t": t},
        )
        for i, (kind, seq) in enumerate((("chase", "chase-2@2024-09-21"), ("office", "o@x")), 1):
            conn.execute(
                text(
                    "INSERT INTO paper (id, kind, year, number, obligation_id, seq, unit_id,"
                    " title, body, docx, pdf, created_at) VALUES (:i, :k, 2024, 1, :i, :s, 1,"
                    " :title, 'b', :docx, :pdf, :t)"
                ),
                {"i": i, "k": kind, "s": seq, "title": f"{kind}-{i}", "t": t}
                | {"docx": b"D%d" % i, "pdf": b"P%d" % i},
            )
    upgrade(engine)
    with Session(engine) as s:
        files = paper_files(s, [(1, "chase-2@2024-09-21"), (2, "o@x")])
        assert files[(2, "o@x")] == (2, "office-2", b"D2", b"P2", ((2, "o@x"),))
        assert files[(1, "chase-2@2024-09-21")][:4] == (1, "chase-1", b"D1", b"P1")
        assert [p["title"] for p in papers_of(s, [1, 2])[2]] == ["office-2"]
        assert [p["id"] for p in sheet_papers(s, [7])[7]] == [2]  # the 督办单 on its sheet
    downgrade(engine, "0017")
    upgrade(engine)
