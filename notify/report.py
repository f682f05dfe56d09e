"""What a delivery pass did: per message, per channel, per obligation, and who was not reached."""

from __future__ import annotations

from dataclasses import dataclass, field

# Per item: sent (delivered now or before), retry (a transient failure or a send in flight),
# failed (permanent). An obligation is "sent" if any route reached someone.
_RANK = {"sent": 2, "retry": 1, "failed": 0}


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

    def by_channel(self) -> dict[str, dict[str, int]]:
        """Message counts per channel kind and status."""
        out: dict[str, dict[str, int]] = {}
        for r in self.results:
            counts = out.setdefault(r.channel, {"sent": 0, "duplicate": 0, "failed": 0})
            counts[r.status] = counts.get(r.status, 0) + 1
        return out

    def by_obligation(self) -> dict[int, str]:
        """Per obligation: "sent", "retry" (nothing delivered yet, try later) or "failed"."""
        out: dict[int, str] = {}
        for r in self.results:
            for ob, status in r.item_status:
                if ob not in out or _RANK[status] > _RANK[out[ob]]:
                    out[ob] = status
        for u in self.unreached:
            for ob in u.obligations:
                out.setdefault(ob, "failed")
        return out

    def flagged(self) -> list[int]:
        """Channels flagged in this pass for repeated permanent failures."""
        return [r.channel_id for r in self.results if r.flag == "flagged" and r.channel_id]

    def summary(self) -> str:
        """One line for logs and the CLI, in Chinese."""
        text = f"发送 {self.sent} 条，重复跳过 {self.duplicate} 条，失败 {self.failed} 条"
        if self.count("in_flight"):
            text += f"，他处发送中 {self.count('in_flight')} 条"
        if self.unreached:
            text += f"，无法送达的通知 {len(self.unreached)} 条"
        if self.reclaimed:
            text += f"，收回中断的发送 {self.reclaimed} 条"
        return text
