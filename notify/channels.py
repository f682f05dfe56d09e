"""The channel registry (kind → transport class) and the transports an installation uses.

Kept apart from `transport.py` so the interface module imports no channel (no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from duban.settings import Settings
from models.directory import CHANNEL_TYPES
from models.tokens import load_secret
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


def smtp_config(settings: Settings) -> SmtpConfig:
    """The SMTP part of the settings."""
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        user=settings.smtp_user,
        password=settings.smtp_password,
        tls=settings.smtp_tls,
        timeout=settings.smtp_timeout,
        mail_from=settings.mail_from,
        ca_file=settings.smtp_ca_file,
    )


def office_info(settings: Settings) -> OfficeInfo:
    """The office as messages name it (DUBAN_OFFICE_NAME, _CONTACT, _EMAIL, DUBAN_PORTAL_URL)."""
    return OfficeInfo(
        name=settings.office_name,
        contact=settings.office_contact,
        email=settings.office_email,
        portal_url=settings.portal_url,
        portal_secret=load_secret(settings.home, settings.secret_key)
        if settings.portal_url
        else b"",
        portal_link_days=settings.portal_link_days,
    )


def build_transports(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now
) -> dict[str, Transport]:
    """One transport per channel kind.

    E-mail goes by SMTP when DUBAN_SMTP_HOST is set, else to the outbox. Robots and webhooks go
    to their URLs as given, unless DUBAN_DELIVERY=outbox sends every channel to the outbox.
    """
    outbox = Outbox(settings.resolved_outbox_dir, mail_from=settings.mail_from)
    if settings.delivery == "outbox":
        return dict.fromkeys(CHANNEL_KINDS, outbox)
    poster = JsonPoster()
    email: Transport = Email(smtp_config(settings)) if settings.smtp_host else outbox
    return {
        "email": email,
        "webhook": Webhook(poster),
        "dingtalk": DingTalk(poster, clock=clock),
        "wecom": WeCom(poster),
        "feishu": Feishu(poster, clock=clock),
    }
