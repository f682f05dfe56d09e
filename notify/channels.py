"""The channel registry (kind → transport class) and the transports an installation uses.

Kept apart from `transport.py` so the interface module imports no channel (no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from models.directory import CHANNEL_TYPES
from models.tokens import load_secret
from notify.config import SendConfig
from notify.dingtalk import DingTalk
from notify.email import Email, SmtpConfig
from notify.feishu import Feishu
from notify.http import JsonPoster
from notify.outbox import Outbox
from notify.render import OfficeInfo
from notify.transport import Transport
from notify.webhook import Webhook
from notify.wecom import WeCom
from schedules.clock import utc_now

TRANSPORTS: dict[str, type[Transport]] = {
    cls.kind: cls for cls in (Email, Webhook, DingTalk, WeCom, Feishu, Outbox)
}
CHANNEL_KINDS = CHANNEL_TYPES  # one list of channel kinds: the directory validates against it


def smtp_config(config: SendConfig) -> SmtpConfig:
    """The SMTP part of the installation's send config."""
    return SmtpConfig(
        host=config.smtp_host,
        port=config.smtp_port,
        user=config.smtp_user,
        password=config.smtp_password,
        tls=config.smtp_tls,
        timeout=config.smtp_timeout,
        mail_from=config.mail_from,
        ca_file=config.smtp_ca_file,
    )


def office_info(config: SendConfig) -> OfficeInfo:
    """The office as messages name it (DUBAN_OFFICE_NAME, _CONTACT, _EMAIL, DUBAN_PORTAL_URL)."""
    return OfficeInfo(
        name=config.office_name,
        contact=config.office_contact,
        email=config.office_email,
        portal_url=config.portal_url,
        portal_secret=load_secret(config.home, config.secret_key) if config.portal_url else b"",
        portal_link_days=config.portal_link_days,
    )


def build_transports(
    config: SendConfig, *, clock: Callable[[], datetime] = utc_now
) -> dict[str, Transport]:
    """One transport per channel kind.

    E-mail goes by SMTP when DUBAN_SMTP_HOST is set, else to the outbox. Robots and webhooks go
    to their URLs as given, unless DUBAN_DELIVERY=outbox sends every channel to the outbox.
    """
    outbox = Outbox(config.outbox_dir, mail_from=config.mail_from)
    if config.delivery == "outbox":
        return dict.fromkeys(CHANNEL_KINDS, outbox)
    poster = JsonPoster()
    email: Transport = Email(smtp_config(config)) if config.smtp_host else outbox
    return {
        "email": email,
        "webhook": Webhook(poster),
        "dingtalk": DingTalk(poster, clock=clock),
        "wecom": WeCom(poster),
        "feishu": Feishu(poster, clock=clock),
    }
