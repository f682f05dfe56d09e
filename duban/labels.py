"""Chinese names of the directory's kinds, channels and statuses, and the Chinese a file may use.

Light on purpose (no ORM): the lists and the help use these names. The stored values stay English;
tests/duban/test_labels.py checks that the keys are exactly models/directory.py's values.
"""

from __future__ import annotations

UNIT_KIND_LABEL = {
    "department": "部门",
    "street_town": "街镇",
    "enterprise": "企业",
    "office": "办公室",
    "leader": "领导",
    "other": "其他",
}
CHANNEL_LABEL = {
    "email": "邮件",
    "webhook": "网络钩子",
    "dingtalk": "钉钉",
    "wecom": "企业微信",
    "feishu": "飞书",
}
UNIT_STATUS_LABEL = {"active": "正常", "pending": "待补充"}

# What a directory file may write for a kind or a channel type, besides the stored value.
UNIT_KIND_ALIASES = {
    **{label: kind for kind, label in UNIT_KIND_LABEL.items()},
    "委办局": "department",
    "单位": "department",
    "街道": "street_town",
    "镇": "street_town",
    "区领导": "leader",
    "安委办": "office",
}
CHANNEL_ALIASES = {
    **{label: kind for kind, label in CHANNEL_LABEL.items()},
    "电子邮件": "email",
    "钉钉机器人": "dingtalk",
    "企业微信机器人": "wecom",
    "企微": "wecom",
    "飞书机器人": "feishu",
}


def unit_kind(value: str) -> str:
    """A kind as stored: the English value, or its Chinese name (unknown values pass through)."""
    text = value.strip()
    return UNIT_KIND_ALIASES.get(text, text.lower())


def channel_type(value: str) -> str:
    """A channel type as stored: the English value, or its Chinese name."""
    text = value.strip()
    return CHANNEL_ALIASES.get(text, text.lower())


def describe_choices(labels: dict[str, str]) -> str:
    """邮件（email）、钉钉（dingtalk）…: for the errors that list what is allowed."""
    return "、".join(f"{label}（{value}）" for value, label in labels.items())
