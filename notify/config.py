"""What sending needs from an installation's settings, as a plain value (no import of the edge).

`duban.settings.Settings.send_config()` builds it; the transports, the renderer's office block and
the pipeline read only this, so notify never imports duban (tests/test_layers.py holds the line).
Standard library only: the settings module imports it at CLI start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DELIVERY_MODES = ("auto", "outbox")


@dataclass(frozen=True)
class SendConfig:
    """The settings of one installation that decide how and as whom messages go out.

    Field names are those of the settings they come from (DUBAN_SMTP_HOST → `smtp_host` …).
    """

    home: Path = Path("var")  # where the portal secret file lives when no secret_key is set
    outbox_dir: Path = Path("var/outbox")
    delivery: str = "auto"  # auto: SMTP if smtp_host else outbox, robots to their URLs; outbox: all
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: str = "none"
    smtp_ca_file: Path | None = None
    smtp_timeout: float = 20.0
    mail_from: str = "安委办 <anweiban@example.gov.cn>"
    office_name: str = "安委办"
    office_contact: str = "安委办值班电话 021-00000000"
    office_email: str = ""
    templates_dir: Path | None = None
    portal_url: str = ""
    secret_key: str = ""
    portal_link_days: int = 45
