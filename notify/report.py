"""What a delivery pass did: per message, per channel, per obligation, and who was not reached."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from notify.notice import Notice

# Per item and route: sent (delivered now or before), retry (a transient failure, a send in
# flight, or deferred), failed (permanent). An obligation's stage counts as delivered only when
# every route it was sent through is settled: delivered or failed for good. One route still
# pending keeps the obligation waiting (the others are not sent again: their keys are done).


@dataclass(frozen=True)
class JobResult:
    """One message: a notice through one channel to one recipient."""

    unit_id: int | None
    channel: str
    channel_id: int | None
    recipient: str
    status: str  # sent | duplicate | in_flight | failed
    item_status: tuple[tuple[int, str], ...]  # (obligation id, sent | retry | failed)
    attempts: int = 0
    error: str | None = None
    permanent: bool = False
    flag: str | None = None  # flagged | recovered
    host: str = ""
    deferred: str | None = None  # "host" (paused host) or "stop" (service stopping)
    repeat: bool = False  # delivered again after a crash: the receiver may have it twice

    @property
    def pending(self) -> bool:
        """Failed transiently (or deferred): a later pass tries it again."""
        return self.status == "failed" and not self.permanent


@dataclass(frozen=True)
class Unreached:
    """A notice nobody could be sent: no channel, no address, or its template failed."""

    unit_id: int | None
    unit_name: str
    reason: str
    obligations: tuple[int, ...]


@dataclass
class DeliveryReport:
    """The outcome of `Pipeline.deliver`."""

    results: list[JobResult] = field(default_factory=list)
    unreached: list[Unreached] = field(default_factory=list)
    reclaimed: int = 0
    abandoned: list[int] = field(default_factory=list)  # obligations not tried (stopping)
    template_fallbacks: list[str] = field(default_factory=list)  # override errors: shipped used

    def count(self, status: str) -> int:
        """Messages with `status`."""
        return sum(1 for r in self.results if r.status == status)

    @property
    def sent(self) -> int:
        """Messages delivered in this pass."""
        return self.count("sent")

    @property
    def duplicate(self) -> int:
        """Messages skipped because every item was already handled (sent or given up)."""
        return self.count("duplicate")

    @property
    def failed(self) -> int:
        """Messages that failed, after retries if the failure was transient."""
        return self.count("failed")

    @property
    def failed_permanently(self) -> int:
        """Messages that failed for good (a wrong address, a refused robot): the office must act."""
        return sum(1 for r in self.results if r.status == "failed" and r.permanent)

    @property
    def pending(self) -> int:
        """Messages that failed transiently or were deferred: kept and tried again later."""
        return sum(1 for r in self.results if r.pending)

    @property
    def repeats(self) -> int:
        """Messages delivered again after a crash (their first copy may have arrived)."""
        return sum(1 for r in self.results if r.repeat)

    def deferred_by_host(self) -> dict[str, int]:
        """Host → messages not tried because the host was paused (notify/breaker)."""
        return dict(Counter(r.host for r in self.results if r.deferred == "host"))

    def pending_by_host(self) -> dict[str, int]:
        """Host → messages left pending (transient failures and deferrals)."""
        return dict(Counter(r.host for r in self.results if r.pending))

    def abandon(self, notices: Iterable[Notice]) -> None:
        """Notices left unclaimed because the pass was stopped: their obligations wait."""
        self.abandoned += [i.obligation_id for n in notices for i in n.items]

    def by_channel(self) -> dict[str, dict[str, int]]:
        """Message counts per channel kind and status."""
        out: dict[str, dict[str, int]] = {}
        for r in self.results:
            counts = out.setdefault(r.channel, {"sent": 0, "duplicate": 0, "failed": 0})
            counts[r.status] = counts.get(r.status, 0) + 1
        return out

    def by_obligation(self) -> dict[int, str]:
        """Per obligation: "sent" (every route settled and one reached someone), "retry" (a
        route is still pending: try again later) or "failed" (every route failed for good)."""
        routes: dict[int, set[str]] = {}
        for r in self.results:
            for ob, status in r.item_status:
                routes.setdefault(ob, set()).add(status)
        out = {ob: _settle(statuses) for ob, statuses in routes.items()}
        for u in self.unreached:
            for ob in u.obligations:
                out.setdefault(ob, "failed")
        for ob in self.abandoned:
            out[ob] = "retry"
        return out

    def flagged(self) -> list[int]:
        """Channels flagged in this pass for repeated permanent failures."""
        return [r.channel_id for r in self.results if r.flag == "flagged" and r.channel_id]

    def counts(self) -> dict[str, object]:
        """The figures a tick reports: messages sent, failed for good, pending, deferred."""
        return {
            "sent": self.sent,
            "failed": self.failed_permanently,
            "pending": self.pending,
            "deferred_by_host": self.deferred_by_host(),
            "pending_by_host": self.pending_by_host(),
            "repeats": self.repeats,
            "reclaimed": self.reclaimed,
            "unreached": len(self.unreached),
            "template_fallbacks": list(self.template_fallbacks),
        }

    def summary(self) -> str:
        """One line for logs and the CLI, in Chinese."""
        text = (
            f"发送 {self.sent} 条，重复跳过 {self.duplicate} 条，"
            f"永久失败 {self.failed_permanently} 条，待重试 {self.pending} 条"
        )
        hosts = self.deferred_by_host()
        if hosts:
            text += "（主机暂停：" + "、".join(f"{h} {n} 条" for h, n in hosts.items()) + "）"
        if self.count("in_flight"):
            text += f"，他处发送中 {self.count('in_flight')} 条"
        if self.unreached:
            text += f"，无法送达的通知 {len(self.unreached)} 条"
        if self.reclaimed:
            text += f"，收回中断的发送 {self.reclaimed} 条"
        if self.repeats:
            text += f"，崩溃后重发（可能重复）{self.repeats} 条"
        if self.template_fallbacks:
            text += f"，覆盖模板出错改用默认模板 {len(self.template_fallbacks)} 处"
        return text


def _settle(statuses: Sequence[str] | set[str]) -> str:
    if "retry" in statuses:
        return "retry"
    return "sent" if "sent" in statuses else "failed"
