"""考核: a unit's record over a period becomes a score with the breakdown that explains it (pure).

The score starts from `base` (100) and loses points per 项次: done late, overdue (not done), missed
(逾期未报), extended, escalated (督办), and per 交办 not confirmed (未签收) or confirmed late (签收超过
`receipt_days` 天). It never goes below 0. The weights come from the policy file's `assessment:`
section (every field optional; see schedules/default_policy.yaml). Ranking: highest score first,
then the higher on-time rate, then the name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from schedules.report import UnitCounts


class AssessmentError(ValueError):
    """A weight in the policy file that is not one (message in Chinese, naming the field)."""


@dataclass(frozen=True)
class Weights:
    """Points per 项次 (deducted), the starting score, and the 签收 grace in days."""

    base: float = 100.0
    late: float = 1.0
    overdue: float = 3.0
    lapsed: float = 3.0
    extended: float = 0.5
    escalated: float = 2.0
    unconfirmed: float = 1.0
    receipt_late: float = 0.5
    receipt_days: int = 2
    # How receipt_days count (days: calendar days, workdays: working days), and whether a 交办 or
    # 督办 still not 签收 after them is re-sent once (schedules/receipt.py).
    receipt_unit: str = "days"
    receipt_resend: bool = True


LABELS = {
    "late": "逾期完成",
    "overdue": "逾期未完成",
    "lapsed": "逾期未报",
    "extended": "延期",
    "escalated": "督办",
    "unconfirmed": "未签收",
    "receipt_late": "签收超时",
}


def parse_weights(raw: Mapping[str, object] | None, where: str = "assessment") -> Weights:
    """The policy file's `assessment:` section as Weights; unknown fields and bad values refused."""
    if not raw:
        return Weights()
    known = {f.name for f in fields(Weights)}
    changes: dict[str, float | int | str | bool] = {}
    for key, value in raw.items():
        if key not in known:
            raise AssessmentError(
                f"{where}：未知考核字段 {key!r}（可用字段：{'、'.join(sorted(known))}）"
            )
        if key == "receipt_unit":
            if value not in ("days", "workdays"):
                raise AssessmentError(f"{where}.{key}：应为 days 或 workdays，收到 {value!r}")
            changes[key] = str(value)
            continue
        if key == "receipt_resend":
            if not isinstance(value, bool):
                raise AssessmentError(f"{where}.{key}：应为 true 或 false，收到 {value!r}")
            changes[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise AssessmentError(f"{where}.{key}：应为不小于 0 的数，收到 {value!r}")
        changes[key] = int(value) if key == "receipt_days" else float(value)
    return replace(Weights(), **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Score:
    """One unit's score, its deductions (label, 项次, points) and its rank (1 = best)."""

    unit: str
    score: float
    deductions: tuple[tuple[str, int, float], ...]
    counts: UnitCounts
    unconfirmed: int
    receipt_late: int
    rank: int = 0

    def as_dict(self) -> dict[str, object]:
        """For JSON and exports."""
        return {
            "rank": self.rank,
            "unit": self.unit,
            "score": self.score,
            "due": self.counts.due,
            "on_time": self.counts.on_time,
            "on_time_rate": None
            if self.counts.on_time_rate is None
            else round(self.counts.on_time_rate, 4),
            "deductions": [{"item": k, "count": n, "points": p} for k, n, p in self.deductions],
        }

    @property
    def explanation(self) -> str:
        """'基础分 100；逾期完成 2 项次 −2；…' (the breakdown in one line)."""
        parts = [f"{LABELS[k]} {n} 项次 −{p:g}" for k, n, p in self.deductions if n]
        return "；".join(parts) if parts else "无扣分"


def score_unit(
    counts: UnitCounts, weights: Weights, *, unconfirmed: int = 0, receipt_late: int = 0
) -> Score:
    """The unit's score over the period from its counts."""
    items = {
        "late": counts.late,
        "overdue": counts.overdue,
        "lapsed": counts.lapsed,
        "extended": counts.extended,
        "escalated": counts.escalated,
        "unconfirmed": unconfirmed,
        "receipt_late": receipt_late,
    }
    deductions = tuple(
        (key, n, round(n * float(getattr(weights, key)), 2)) for key, n in items.items()
    )
    total = max(0.0, round(weights.base - sum(p for _, _, p in deductions), 2))
    return Score(counts.unit, total, deductions, counts, unconfirmed, receipt_late)


def rank(scores: list[Score]) -> list[Score]:
    """Best first; equal scores share a rank (1, 2, 2, 4)."""

    def key(s: Score) -> tuple[float, float, str]:
        rate = s.counts.on_time_rate
        return (-s.score, -(rate if rate is not None else -1.0), s.unit)

    ordered = sorted(scores, key=key)
    out: list[Score] = []
    for i, s in enumerate(ordered):
        same = out and out[-1].score == s.score and key(out[-1])[1] == key(s)[1]
        out.append(replace(s, rank=out[-1].rank if same else i + 1))
    return out
