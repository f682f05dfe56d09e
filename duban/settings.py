"""Settings from environment variables, with an optional duban.toml underneath them.

Precedence: environment > duban.toml (path in $DUBAN_CONFIG, else ./duban.toml) > defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from intake import limits
from notify.config import DELIVERY_MODES, SendConfig
from notify.mask import mask_password, remember, remember_url

SMTP_TLS_MODES = ("none", "starttls", "ssl")
# DELIVERY_MODES (notify/config.py): auto: e-mail by SMTP when DUBAN_SMTP_HOST is set (else the
# outbox), robots to their URLs; outbox: every channel writes to the outbox (demos, drills, a
# directory with example URLs).


class SettingsError(ValueError):
    """A setting has a value duban cannot use; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one duban installation."""

    home: Path = Path("var")
    database_url: str = ""
    outbox_dir: Path | None = None
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: str = "none"
    smtp_ca_file: Path | None = None  # PEM bundle of a private CA (else the system's trust)
    smtp_timeout: float = 20.0
    mail_from: str = "安委办 <anweiban@example.gov.cn>"
    office_name: str = "安委办"
    office_contact: str = "安委办值班电话 021-00000000"
    office_email: str = ""
    templates_dir: Path | None = None
    policy_file: Path | None = None
    calendar_file: Path | None = None
    portal_url: str = ""  # the pages' public address: messages link each unit to its portal
    secret_key: str = ""  # signs portal links (else <home>/secret.key, created once)
    portal_link_days: int = 45  # how long a link in a message opens the unit's portal
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    evidence_dir: Path | None = None  # 佐证 files (default <home>/evidence; never served as-is)
    evidence_max_mb: float = 20.0  # one file
    evidence_quota_mb: float = 500.0  # all of one unit's files
    login_max_failures: int = 5  # consecutive wrong passwords before the account is locked
    login_lock_minutes: int = 15
    session_hours: float = 12.0
    page_cache_mb: float = 32.0  # console pages kept per web worker until the next commit (0: off)
    delivery: str = "auto"
    lease_ttl: float = 90.0  # seconds a service's sender lease lasts without renewal
    lease_renew: float = 20.0  # seconds between renewals (a standby takes over within ttl + renew)
    tick_seconds: float = 60.0
    # A message still undelivered this long after it was first tried becomes a permanent failure.
    pending_give_up_hours: float = 24.0
    # On SIGTERM: seconds the service waits for the in-flight tick (renewing its lease) before exiting.
    stop_grace: float = 45.0
    # Input limits (intake/limits.py): checked before the work, named in the error.
    max_text_mb: float = 10.0  # .txt/.md/.csv/.html plans, YAML/CSV directories
    max_office_mb: float = 50.0  # .docx/.xlsx/.pdf files as stored
    max_unzipped_mb: float = 300.0  # one .docx/.xlsx, all parts uncompressed (zip bombs)
    max_zip_entries: int = 5000
    max_zip_ratio: int = 200  # uncompressed ÷ compressed, one part
    max_rows: int = 20000  # one sheet or table
    max_tasks: int = 5000  # one plan
    max_yaml_nodes: int = 200_000  # one YAML file, aliases expanded

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under `home`."""
        return self.database_url or f"sqlite:///{self.home / 'duban.db'}"

    @property
    def resolved_evidence_dir(self) -> Path:
        """Where 佐证 files are kept."""
        return self.evidence_dir or self.home / "evidence"

    @property
    def resolved_outbox_dir(self) -> Path:
        """Where the outbox channel writes messages."""
        return self.outbox_dir or self.home / "outbox"

    def send_config(self) -> SendConfig:
        """What notify/ needs to send (notify never reads the settings itself)."""
        same = {f.name: getattr(self, f.name) for f in fields(SendConfig) if f.name != "outbox_dir"}
        return SendConfig(outbox_dir=self.resolved_outbox_dir, **same)

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict, with secrets masked (for `duban doctor`)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for secret in ("smtp_password", "secret_key"):
            if out[secret]:
                out[secret] = "***"
        out["database_url"] = mask_password(self.resolved_database_url)
        return {k: str(v) if isinstance(v, Path) else v for k, v in out.items()}


def _coerce(name: str, raw: Any, kind: type | str) -> Any:
    text = str(raw).strip()
    if "int" in str(kind):
        try:
            return int(text)
        except ValueError:
            raise SettingsError(f"设置 {name} 应为整数，实际为 {text!r}") from None
    if "float" in str(kind):
        try:
            return float(text)
        except ValueError:
            raise SettingsError(f"设置 {name} 应为数字，实际为 {text!r}") from None
    if "Path" in str(kind):
        return Path(text) if text else None
    return text


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from `environ` (default os.environ) and the optional TOML file."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    toml_path = Path(env.get("DUBAN_CONFIG", "duban.toml"))
    if toml_path.is_file():
        try:
            values.update(tomllib.loads(toml_path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{toml_path}: 配置文件无法解析: {exc}") from exc
    for f in fields(Settings):
        key = f"DUBAN_{f.name.upper()}"
        if key in env:
            values[f.name] = env[key]
    known = {f.name: f.type for f in fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise SettingsError(f"{toml_path}: 未知的设置项 {', '.join(unknown)}")
    coerced = {k: _coerce(k, v, known[k]) for k, v in values.items()}
    settings = Settings(**coerced)
    if settings.smtp_tls not in SMTP_TLS_MODES:
        raise SettingsError(
            f"DUBAN_SMTP_TLS 应为 {' | '.join(SMTP_TLS_MODES)}，实际为 {settings.smtp_tls!r}"
        )
    if settings.delivery not in DELIVERY_MODES:
        raise SettingsError(
            f"DUBAN_DELIVERY 应为 {' | '.join(DELIVERY_MODES)}，实际为 {settings.delivery!r}"
        )
    limits.configure(
        limits.Limits(
            text_mb=settings.max_text_mb,
            office_mb=settings.max_office_mb,
            unzipped_mb=settings.max_unzipped_mb,
            zip_entries=settings.max_zip_entries,
            zip_ratio=settings.max_zip_ratio,
            rows=settings.max_rows,
            tasks=settings.max_tasks,
            yaml_nodes=settings.max_yaml_nodes,
        )
    )
    remember(settings.smtp_password, settings.secret_key)  # never printed, logged or stored in full
    remember_url(settings.resolved_database_url.split("?", 1)[0])  # its password
    return settings
