"""E-mail over SMTP: STARTTLS or implicit TLS, login, multipart text + HTML, Chinese headers.

Failures follow RFC 5321: 4xx replies and dropped connections can be retried, 5xx replies and
configuration problems (TLS not offered, certificate not trusted, login refused) are permanent.
Connections are kept and reused across messages, as a mail client would. A mail server whose
certificate comes from a private CA is trusted through DUBAN_SMTP_CA_FILE (a PEM bundle).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import queue
import smtplib
import ssl
import urllib.parse
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
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
    ca_file: Path | None = None  # PEM bundle trusted instead of the system's CAs

    @property
    def resolved_port(self) -> int:
        """The port, defaulting by TLS mode (25, 587 or 465)."""
        return self.port or DEFAULT_PORTS.get(self.tls, 25)


def tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """The client TLS context: the system's trusted CAs, or only those in `ca_file`.

    Certificates and host names are always verified. A missing, unreadable or non-PEM
    `ca_file` is a permanent configuration error naming DUBAN_SMTP_CA_FILE.
    """
    if ca_file is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except FileNotFoundError:
        problem = "不存在"
    except ssl.SSLError as exc:  # before OSError: SSLError is one
        problem = f"不是有效的 PEM 格式 CA 证书（{exc.reason or exc}）"
    except OSError as exc:
        problem = f"无法读取（{exc.strerror or exc}）"
    raise TransportError(f"DUBAN_SMTP_CA_FILE 指定的证书文件{problem}: {ca_file}", permanent=True)


def parse_mailbox(text: str, *, field: str = "DUBAN_MAIL_FROM") -> Mailbox:
    """'安委办 <a@b.cn>' → Mailbox; an address without '@' is a configuration error."""
    name, address = parseaddr(text)
    if "@" not in address:
        raise TransportError(f"{field} 不是有效的邮件地址: {text!r}", permanent=True)
    return Mailbox(address=address, name=name)


def _header_address(box: Mailbox) -> str:
    """`"名称" <addr>` with the name RFC 2047-encoded; refuses header injection."""
    if (
        "@" not in box.address
        or any(c in box.address + box.name for c in "\r\n")
        or " " in box.address
    ):
        raise TransportError(f"邮件地址无效: {box.address!r}", permanent=True)
    return formataddr((box.name, box.address), charset="utf-8")


def build_mime(msg: Message, *, mail_from: Mailbox, key: str) -> bytes:
    """The MIME message: UTF-8 text and HTML alternatives (and any files), RFC 2047 headers.

    The Message-ID is derived from the dedupe key, so a reclaimed resend carries the same id
    and mail clients can fold the rare duplicate. Written out directly (CRLF lines, base64
    parts): `email.message.EmailMessage` spends about 4 ms folding Chinese headers per message,
    more than the SMTP exchange itself.
    """
    if msg.target.to is None:
        raise TransportError("邮件缺少收件人", permanent=True)
    digest = hashlib.sha256(key.encode()).hexdigest()
    boundary = f"=_duban_{digest[:24]}"
    subject = Header(msg.content.subject, "utf-8", header_name="Subject").encode(linesep="\r\n")
    head = [
        f"Subject: {subject}",
        f"From: {_header_address(mail_from)}",
        f"To: {_header_address(msg.target.to)}",
        f"Date: {format_datetime(msg.at)}",
        f"Message-ID: {message_id(key, mail_from)}",
        f"X-Duban-Key: {digest}",
        "MIME-Version: 1.0",
    ]
    files = msg.content.attachments
    mixed = f"=_duban_m{digest[24:47]}"
    if files:  # multipart/mixed: the text and HTML alternatives, then each file
        head += [f'Content-Type: multipart/mixed; boundary="{mixed}"', "", f"--{mixed}"]
    head += [f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
    out = ["\r\n".join(head).encode("ascii")]
    for subtype, body in (("plain", msg.content.text), ("html", msg.content.html)):
        out.append(f"\r\n--{boundary}\r\n".encode("ascii"))
        out.append(f'Content-Type: text/{subtype}; charset="utf-8"\r\n'.encode("ascii"))
        out.append(b"Content-Transfer-Encoding: base64\r\n\r\n")
        out.append(base64.encodebytes(body.encode("utf-8")).replace(b"\n", b"\r\n"))
    out.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    for file in files:
        out.append(f"\r\n--{mixed}\r\n".encode("ascii"))
        out.append(_attachment_head(file.filename, file.mime))
        out.append(base64.encodebytes(file.data).replace(b"\n", b"\r\n"))
    if files:
        out.append(f"\r\n--{mixed}--\r\n".encode("ascii"))
    return b"".join(out)


def _attachment_head(filename: str, mime: str) -> bytes:
    """An attachment's part headers: the Chinese file name per RFC 2231 (read first), and
    RFC 2047-encoded in `name` for the mail clients that only read that."""
    if any(c in filename + mime for c in '\r\n"'):
        raise TransportError(f"附件名无效: {filename!r}", permanent=True)
    encoded = urllib.parse.quote(filename, safe="")
    legacy = Header(filename, "utf-8").encode(maxlinelen=10_000)
    return (
        f'Content-Type: {mime}; name="{legacy}"\r\n'
        f"Content-Disposition: attachment; filename*=utf-8''{encoded}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode("ascii")


def message_id(key: str, mail_from: Mailbox) -> str:
    """`<hash of the key@sender's domain>`."""
    domain = mail_from.address.rsplit("@", 1)[-1]
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


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
        hint = "若服务器使用内部 CA 签发的证书，请将 DUBAN_SMTP_CA_FILE 设为该 CA 的 PEM 文件"
        return TransportError(f"邮件服务器证书校验失败（{hint}）: {exc}", permanent=True)
    if isinstance(exc, ssl.SSLError) and exc.reason == "WRONG_VERSION_NUMBER":
        text = f"邮件服务器在此端口不说 TLS（请检查 DUBAN_SMTP_TLS 与 DUBAN_SMTP_PORT）: {exc}"
        return TransportError(text, permanent=True)
    return TransportError(f"无法连接邮件服务器: {type(exc).__name__}: {exc}")


class Email:
    """SMTP transport; keeps a small pool of logged-in connections."""

    kind: ClassVar[str] = "email"

    def __init__(self, config: SmtpConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        if not config.host:
            raise TransportError("未设置 DUBAN_SMTP_HOST", permanent=True)
        self.config = config
        self.mail_from = parse_mailbox(config.mail_from)
        # Built at the first TLS connection, so a CA file fixed later is picked up without a
        # restart, and a missing one fails the send (permanently, naming the setting).
        self.ssl_context = ssl_context
        self._pool: queue.LifoQueue[smtplib.SMTP] = queue.LifoQueue()

    def send(self, msg: Message, *, key: str) -> SendResult:
        """Send one message to `msg.target.to`."""
        data = build_mime(msg, mail_from=self.mail_from, key=key)
        assert msg.target.to is not None  # build_mime refuses a message without one
        envelope = (self.mail_from.address, [msg.target.to.address], data)
        try:
            conn: smtplib.SMTP | None = self._pool.get_nowait()
        except queue.Empty:
            conn = None
        sent = False
        if conn is not None:
            # A kept connection the server has closed since is not a failure: reconnect.
            with contextlib.suppress(smtplib.SMTPServerDisconnected):
                sent = self._send_on(conn, envelope, reused=True)
        if not sent:
            self._send_on(self._connect(), envelope, reused=False)
        return SendResult(ref=message_id(key, self.mail_from))

    def _send_on(
        self, conn: smtplib.SMTP, envelope: tuple[str, list[str], bytes], *, reused: bool
    ) -> bool:
        try:
            conn.sendmail(*envelope)
        except smtplib.SMTPServerDisconnected:
            _close(conn)
            if reused:
                raise
            raise classify_smtp_error(smtplib.SMTPServerDisconnected("连接被服务器关闭")) from None
        except (smtplib.SMTPException, OSError) as exc:
            _close(conn)
            raise classify_smtp_error(exc) from exc
        self._pool.put(conn)
        return True

    def _tls(self) -> ssl.SSLContext:
        if self.ssl_context is None:
            self.ssl_context = tls_context(self.config.ca_file)
        return self.ssl_context

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        context = self._tls() if cfg.tls in ("ssl", "starttls") else None
        conn: smtplib.SMTP | None = None
        try:
            if cfg.tls == "ssl":
                conn = smtplib.SMTP_SSL(
                    cfg.host, cfg.resolved_port, timeout=cfg.timeout, context=context
                )
            else:
                conn = smtplib.SMTP(cfg.host, cfg.resolved_port, timeout=cfg.timeout)
                if cfg.tls == "starttls":
                    conn.starttls(context=context)
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
