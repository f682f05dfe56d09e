"""The Chinese names of escalation levels, queue items and roles, shared by the CLI and the pages.

Light on purpose (no ORM): `duban queue list` imports it at start.
"""

from __future__ import annotations

LEVEL_LABEL = {0: "", 1: "催办", 2: "督办", 3: "通报"}  # an obligation's escalation level
# A queue item's level: 督办 / 通报, or 0 for an obligation no channel could reach (models/repo/queue.py).
QUEUE_LEVEL_LABEL = {0: "无法送达", 2: "督办", 3: "通报"}
QUEUE_STATUS_LABEL = {"open": "待处理", "acked": "已认领", "resolved": "已办结"}
ROLE_LABEL = {"lead": "牵头", "support": "配合"}
