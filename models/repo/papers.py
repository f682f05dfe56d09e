"""督办单 / 催办单 rows: issued once per obligation and action, numbered in order per kind and year.

Every write here is one transaction of the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.documents import Paper
from models.repo.audit import record_event
from models.repo.bulk import one_of

# (number) -> (title, body text, docx, pdf, problem)
MakePaper = Callable[[int], tuple[str, str, bytes, bytes, str]]


def find_paper(session: Session, obligation_id: int, seq: str) -> Paper | None:
    """The paper issued for one obligation's action, if any."""
    return session.exec(
        select(Paper).where(Paper.obligation_id == obligation_id, Paper.seq == seq)
    ).first()


def has_paper_for_due(session: Session, obligation_id: int, kind: str, due: str) -> bool:
    """Whether the obligation already has a paper of `kind` for the occurrence due on `due`."""
    seqs = session.exec(
        select(Paper.seq).where(Paper.obligation_id == obligation_id, Paper.kind == kind)
    ).all()
    return any(s.endswith(f"@{due}") for s in seqs)


def issue_paper(
    *,
    session: Session,
    obligation_id: int,
    kind: str,
    seq: str,
    unit_id: int | None,
    year: int,
    now: datetime,
    make: MakePaper,
    actor: str = "duban",
) -> tuple[Paper, bool]:
    """The paper for (obligation, seq), issued with the next number of its kind and year when
    new; (paper, created). A second call returns the stored paper, its files unchanged."""
    existing = find_paper(session, obligation_id, seq)
    if existing is not None:
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
        obligation_id=obligation_id,
        seq=seq,
        unit_id=unit_id,
        title=title,
        body=body,
        docx=docx,
        pdf=pdf,
        created_at=now,
    )
    session.add(paper)
    session.flush()
    data: dict[str, Any] = {"seq": seq, "kind": kind, "number": number}
    if problem:
        data["problem"] = problem
    record_event(
        session=session,
        at=now,
        actor=actor,
        entity="obligation",
        entity_id=obligation_id,
        action="paper_issued",
        reason=title + (f"（未生成 PDF：{problem}）" if problem else ""),
        data=data,
    )
    return paper, True


def paper_files(
    session: Session, pairs: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], tuple[str, bytes, bytes]]:
    """(obligation, seq) → (title, docx, pdf) for the pairs that have a paper."""
    wanted = set(pairs)
    out: dict[tuple[int, str], tuple[str, bytes, bytes]] = {}
    if not wanted:
        return out
    cols = (Paper.obligation_id, Paper.seq, Paper.title, Paper.docx, Paper.pdf)
    for cond in one_of(session, col(Paper.obligation_id), {o for o, _ in wanted}):
        for ob, seq, title, docx, pdf in session.exec(select(*cols).where(cond)):  # type: ignore[call-overload]
            if (ob, seq) in wanted:
                out[(ob, seq)] = (title, docx, pdf)
    return out


def papers_of(session: Session, obligation_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """obligation → its papers (id, kind, title, created_at), oldest first, without the files."""
    ids = set(obligation_ids)
    out: dict[int, list[dict[str, Any]]] = {}
    if not ids:
        return out
    cols = (
        Paper.id,
        Paper.obligation_id,
        Paper.kind,
        Paper.title,
        Paper.created_at,
        func.length(Paper.pdf) > 0,
    )
    for cond in one_of(session, col(Paper.obligation_id), ids):
        rows = session.exec(select(*cols).where(cond).order_by(col(Paper.id)))  # type: ignore[call-overload]
        for pid, ob, kind, title, at, has_pdf in rows:
            out.setdefault(ob, []).append(
                {"id": pid, "kind": kind, "title": title, "at": at, "pdf": bool(has_pdf)}
            )
    return out


def get_paper(session: Session, paper_id: int) -> Paper | None:
    """One paper with its files."""
    return session.get(Paper, paper_id)
