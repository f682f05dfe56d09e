"""E-mail over SMTP: STARTTLS or implicit TLS, login, multipart text + HTML, Chinese headers.

Failures follow RFC 5321: 4xx replies and dropped connections can be retried, 5xx replies and
configuration problems (TLS not offered, login refused) are permanent. Connections are kept and
reused across messages, as a mail client would.
"""

from __future__ import annotations

import hashlib
import queue
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import ClassVar

from notify.transport import Mailbox, Message, SendResult, TransportError

DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the mail server (from DUBAN_SMTP_*)."""

    host: str
    port: int = 0
    user: str = ""
    password: str = ""
    tls: str = "none"  # none | starttls | ssl
    timeout: float = 20.0
    mail_from: str = "安委办 <anweiban@example.gov.cn>"

    @property
    def resolved_port(self) -> int:
        """The port, defaulting by TLS mode (25, 587 or 465)."""
        return self.port or DEFAULT_PORTS.get(self.tls, 25)


def parse_mailbox(text: str, *, field: str = "DUBAN_MAIL_FROM") -> Mailbox:
    """'安委办 <a@b.cn>' → Mailbox; an address without '@' is a configuration error."""
    name, address = parseaddr(text)
    if "@" not in address:
        raise TransportError(f"{field} 不是有效的邮件地址: {text!r}", permanent=True)
    return Mailbox(address=address, name=name)


def _address(box: Mailbox) -> Address:
    try:
        return Address(display_name=box.name, addr_spec=box.address)
    except (ValueError, IndexError) as exc:
        raise TransportError(f"邮件地址无效: {box.address!r}", permanent=True) from exc


def build_mime(msg: Message, *, mail_from: Mailbox, key: str) -> EmailMessage:
    """The MIME message: UTF-8 text and HTML alternatives, RFC 2047-encoded Chinese headers.

    The Message-ID is derived from the dedupe key, so a reclaimed resend carries the same id
    and mail clients can fold the rare duplicate.
    """
    if msg.target.to is None:
        raise TransportError("邮件缺少收件人", permanent=True)
    mime = EmailMessage()
    mime["Subject"] = msg.content.subject
    mime["From"] = _address(mail_from)
    mime["To"] = _address(msg.target.to)
    mime["Date"] = format_datetime(msg.at)
    domain = mail_from.address.rsplit("@", 1)[-1]
    mime["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
    mime["X-Duban-Key"] = hashlib.sha256(key.encode()).hexdigest()
    mime.set_content(msg.content.text, subtype="plain", charset="utf-8")
    mime.add_alternative(msg.content.html, subtype="html", charset="utf-8")
    return mime


def classify_smtp_error(exc: Exception) -> TransportError:
    """4xx and lost connections are retryable; 5xx and TLS/login problems are permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{r}: {c} {m!r}" for r, (c, m) in exc.recipients.items())
        return TransportError(f"收件人被拒绝: {detail}", permanent=all(c >= 500 for c in codes))
    if isinstance(exc, smtplib.SMTPResponseException):
        raw = exc.smtp_error
        reply = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        permanent = exc.smtp_code >= 500 or exc.smtp_code < 400
        kind = "永久性错误" if permanent else "临时错误"
        return TransportError(
            f"邮件服务器答复 {exc.smtp_code} {reply}（{kind}）", permanent=permanent
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        text = f"邮件服务器不支持所需功能（请检查 DUBAN_SMTP_TLS）: {exc}"
        return TransportError(text, permanent=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransportError(f"邮件服务器证书校验失败: {exc}", permanent=True)
    return TransportError(f"无法连接邮件服务器: {type(exc).__name__}: {exc}")


class Email:
    """SMTP transport; keeps a small pool of logged-in connections."""

    kind: ClassVar[str] = "email"

    def __init__(self, config: SmtpConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        if not config.host:
            raise TransportError("未设置 DUBAN_SMTP_HOST", permanent=True)
        self.config = config
        self.mail_from = parse_mailbox(config.mail_from)
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._pool: queue.LifoQueue[smtplib.SMTP] = queue.LifoQueue()

    def send(self, msg: Message, *, key: str) -> SendResult:
        """Send one message to `msg.target.to`."""
        mime = build_mime(msg, mail_from=self.mail_from, key=key)
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = None
        if conn is not None:
            try:
                return self._send_on(conn, mime, reused=True)
            except smtplib.SMTPServerDisconnected:
                pass  # a kept connection the server has closed since: not a failure, reconnect
        return self._send_on(self._connect(), mime, reused=False)

    def _send_on(self, conn: smtplib.SMTP, mime: EmailMessage, *, reused: bool) -> SendResult:
        try:
            conn.send_message(mime)
        except smtplib.SMTPServerDisconnected:
            _close(conn)
            if reused:
                raise
            raise classify_smtp_error(smtplib.SMTPServerDisconnected("连接被服务器关闭")) from None
        except (smtplib.SMTPException, OSError) as exc:
            _close(conn)
            raise classify_smtp_error(exc) from exc
        self._pool.put(conn)
        return SendResult(ref=str(mime["Message-ID"]))

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        conn: smtplib.SMTP | None = None
        try:
            if cfg.tls == "ssl":
                conn = smtplib.SMTP_SSL(
                    cfg.host, cfg.resolved_port, timeout=cfg.timeout, context=self.ssl_context
                )
            else:
                conn = smtplib.SMTP(cfg.host, cfg.resolved_port, timeout=cfg.timeout)
                if cfg.tls == "starttls":
                    conn.starttls(context=self.ssl_context)
            if cfg.user:
                conn.login(cfg.user, cfg.password)
        except (smtplib.SMTPException, OSError) as exc:
            if conn is not None:
                _close(conn)
            raise classify_smtp_error(exc) from exc
        return conn

    def close(self) -> None:
        """Quit every kept connection."""
        while True:
            try:
                _close(self._pool.get_nowait())
            except queue.Empty:
                return


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()
