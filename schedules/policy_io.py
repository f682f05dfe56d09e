"""Reading policy files from disk (the I/O edge of :mod:`schedules.policy`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from schedules.policy import PolicyError, PolicySet, parse_policy

DEFAULT_POLICY_NAME = "default_policy.yaml"


def read_default_policy() -> PolicySet:
    """Return the policy shipped as ``schedules/default_policy.yaml``."""
    text = resources.files("schedules").joinpath(DEFAULT_POLICY_NAME).read_text(encoding="utf-8")
    return parse_policy(text, source=DEFAULT_POLICY_NAME)


def read_policy_file(path: Path) -> PolicySet:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) policy file; errors name the file."""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise PolicyError(f"策略文件 {path}：只支持 .yaml、.yml 或 .toml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"无法读取策略文件 {path}：{exc}") from exc
    return parse_policy(text, fmt="toml" if suffix == ".toml" else "yaml", source=str(path))
