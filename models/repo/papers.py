"""督办单 / 催办单 rows: one per unit and pass, listing its lines, numbered per kind and year.

A paper lists the actions (obligation, seq) of one unit that called for it in one pass; each action
is on one paper only (`paper_item` is unique per action), so a retried or reclaimed message finds
the paper it had and attaches the same files. Every write here is one transaction of the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from models.documents import Paper, PaperItem
from models.repo.bulk import insert_rows, one_of
from models.tables import AuditEvent

# (number) -> (title, body text, docx, pdf, problem)
MakePaper = Callable[[int], tuple[str, str, bytes, bytes, str]]
Line = tuple[int, str]  # (obligation id, seq)


def papers_by_line(session: Session, lines: Iterable[Line]) -> dict[Line, int]:
    """(obligation, seq) → the id of the paper that lists it, for the lines that have one."""
    wanted = set(lines)
    out: dict[Line, int] = {}
    if not wanted:
        return out
    cols = (PaperItem.obligation_id, PaperItem.seq, PaperItem.paper_id)
    for cond in one_of(session, col(PaperItem.obligation_id), {o for o, _ in wanted}):
        for ob, seq, pid in session.exec(select(*cols).where(cond)):
            if (ob, seq) in wanted:
                out[(ob, seq)] = pid
    return out


def has_paper_for_due(session: Session, obligation_id: int, kind: str, due: str) -> bool:
    """Whether the obligation already has a paper of `kind` for the occurrence due on `due`."""
    seqs = session.exec(
        select(PaperItem.seq)
        .join(Paper, col(Paper.id) == col(PaperItem.paper_id))
        .where(PaperItem.obligation_id == obligation_id, Paper.kind == kind)
    ).all()
    return any(s.endswith(f"@{due}") for s in seqs)


def issue_paper(
    *,
    session: Session,
    kind: str,
    lines: Sequence[Line],
    unit_id: int | None,
    year: int,
    now: datetime,
    make: MakePaper,
    actor: str = "duban",
) -> tuple[Paper, bool]:
    """One paper listing `lines` (in order), with the next number of its kind and year; (paper,
    created). Lines already on a paper are left there: when all are, that paper is returned, its
    files unchanged (a retry); otherwise the new paper lists the others only."""
    have = papers_by_line(session, lines)
    new = [line for line in dict.fromkeys(lines) if line not in have]
    if not new:
        existing = session.get(Paper, have[lines[0]])
        assert existing is not None
        return existing, False
    last = session.exec(
        select(func.max(Paper.number)).where(Paper.kind == kind, Paper.year == year)
    ).one()
    number = int(last or 0) + 1
    title, body, docx, pdf, problem = make(number)
    paper = Paper(
        kind=kind,
        year=year,
        number=number,
        obligation_id=new[0][0],
        seq=new[0][1],
        unit_id=unit_id,
        title=title,
        body=body,
        docx=docx,
        pdf=pdf,
        created_at=now,
    )
    session.add(paper)
    session.flush()
    # The lines and their audit rows in one statement each: a 督办 pass can list thousands.
    reason = title + (f"（未生成 PDF：{problem}）" if problem else "")
    extra: dict[str, Any] = {"number": number, "paper_id": paper.id, "lines": len(new)}
    extra |= {"problem": problem} if problem else {}
    insert_rows(session, PaperItem.__table__, [  # type: ignore[attr-defined]
        {"paper_id": paper.id, "obligation_id": ob, "seq": seq, "position": i}
        for i, (ob, seq) in enumerate(new)
    ])  # fmt: skip
    insert_rows(session, AuditEvent.__table__, [  # type: ignore[attr-defined]
        {"at": now, "actor": actor, "entity": "obligation", "entity_id": ob,
         "action": "paper_issued", "from_status": None, "to_status": None, "reason": reason,
         "data": {"seq": seq, "kind": kind} | extra}
        for ob, seq in new
    ])  # fmt: skip
    session.flush()
    return paper, True


def paper_files(
    session: Session, lines: Iterable[Line]
) -> dict[Line, tuple[int, str, bytes, bytes, tuple[Line, ...]]]:
    """(obligation, seq) → (paper id, title, docx, pdf, all the paper's lines), for the lines
    that are on a paper (the files are read once per paper)."""
    by_line = papers_by_line(session, lines)
    ids = set(by_line.values())
    files: dict[int, tuple[str, bytes, bytes]] = {}
    listed: dict[int, list[Line]] = {}
    for cond in one_of(session, col(Paper.id), ids):
        for p in session.exec(select(Paper.id, Paper.title, Paper.docx, Paper.pdf).where(cond)):
            files[int(p[0] or 0)] = (p[1], p[2], p[3])
    for cond in one_of(session, col(PaperItem.paper_id), ids):
        stmt = select(PaperItem.paper_id, PaperItem.obligation_id, PaperItem.seq).where(cond)
        for pid, ob, seq in session.exec(stmt.order_by(col(PaperItem.position))):
            listed.setdefault(pid, []).append((ob, seq))
    return {
        line: (pid, *files[pid], tuple(listed.get(pid, [line])))
        for line, pid in by_line.items()
        if pid in files
    }


def link_sheets(session: Session, links: Iterable[tuple[int, str, int | None]]) -> None:
    """Put on its queue sheet each 督办单 whose line (obligation, seq) was queued on `sheet_id`
    (the first sheet wins: a paper is the sheet's of the day its lines were queued)."""
    wanted = {(ob, seq): sheet for ob, seq, sheet in links if sheet is not None}
    by_paper: dict[int, int] = {}
    for line, pid in papers_by_line(session, wanted).items():
        by_paper.setdefault(pid, wanted[line])
    by_sheet: dict[int, list[int]] = {}
    for pid, sheet_id in by_paper.items():
        by_sheet.setdefault(sheet_id, []).append(pid)
    for sheet_id, pids in by_sheet.items():  # without loading the papers' files
        session.exec(
            update(Paper)
            .where(col(Paper.id).in_(pids), col(Paper.kind) == "office")
            .where(col(Paper.sheet_id).is_(None))
            .values(sheet_id=sheet_id)
        )
    session.flush()


def _listing(session: Session, cond: Any) -> list[Any]:
    cols = (
        Paper.id,
        Paper.kind,
        Paper.title,
        Paper.created_at,
        func.length(Paper.pdf) > 0,
        Paper.sheet_id,
    )
    return list(session.exec(select(*cols).where(cond).order_by(col(Paper.id))))  # type: ignore[call-overload]


def _row(pid: int, kind: str, title: str, at: datetime, has_pdf: Any) -> dict[str, Any]:
    return {"id": pid, "kind": kind, "title": title, "at": at, "pdf": bool(has_pdf)}


def papers_of(session: Session, obligation_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """obligation → the papers that list it (id, kind, title, created_at), oldest first."""
    ids = set(obligation_ids)
    out: dict[int, list[dict[str, Any]]] = {}
    if not ids:
        return out
    owners: dict[int, set[int]] = {}
    for cond in one_of(session, col(PaperItem.obligation_id), ids):
        stmt = select(PaperItem.paper_id, PaperItem.obligation_id).where(cond)
        for pid, ob in session.exec(stmt):
            owners.setdefault(pid, set()).add(ob)
    for cond in one_of(session, col(Paper.id), set(owners)):
        for pid, kind, title, at, has_pdf, _ in _listing(session, cond):
            for ob in sorted(owners[pid]):
                out.setdefault(ob, []).append(_row(pid, kind, title, at, has_pdf))
    return out


def sheet_papers(session: Session, sheet_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """queue sheet → its 督办单 papers (id, kind, title, created_at), oldest first."""
    out: dict[int, list[dict[str, Any]]] = {}
    for cond in one_of(session, col(Paper.sheet_id), set(sheet_ids)):
        for pid, kind, title, at, has_pdf, sheet_id in _listing(session, cond):
            out.setdefault(sheet_id, []).append(_row(pid, kind, title, at, has_pdf))
    return out


def get_paper(session: Session, paper_id: int) -> Paper | None:
    """One paper with its files."""
    return session.get(Paper, paper_id)
