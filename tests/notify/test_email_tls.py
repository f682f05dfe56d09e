"""E-mail over real TLS on 127.0.0.1: STARTTLS and implicit TLS, a private CA, login, failures.

A throwaway CA and a server certificate for 127.0.0.1 are made at test time; aiosmtpd serves
with them, requiring login (and, for STARTTLS, requiring STARTTLS before anything else).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from duban.settings import load_settings
from notify.channels import build_transports
from notify.email import Email, SmtpConfig
from notify.retry import RetrySettings, send_with_retry
from notify.transport import Mailbox, Message, Rendered, Target, TransportError
from tests.notify.conftest import T0, free_port

# The implicit-TLS server is built with auth_require_tls=False (see `serve`); aiosmtpd warns.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

USER, PASSWORD = "office@example.gov.cn", "s3cret-Pass"
CONTENT = Rendered(
    subject="【督办】区应急局：3 项逾期工作已列入区安委办督办",
    text="区应急局：\n任务 5 已逾期 6 个工作日。\n",
    html="<p>区应急局：</p><p>任务 5 已逾期 <b>6</b> 个工作日。</p>",
    markdown="",
)


@dataclass(frozen=True)
class Pki:
    """A CA's PEM file and a server certificate it signed for 127.0.0.1."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Made afresh for each run: nothing secret or expiring is kept in the repository."""
    out = tmp_path_factory.mktemp("pki")
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "区政务内网测试 CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(out / "ca.pem", out / "server.pem", out / "server.key")
    pki.ca_file.write_bytes(_pem(ca))
    pki.cert_file.write_bytes(_pem(cert))
    pki.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


@dataclass
class TlsSink:
    """Keeps each message with whether it came over TLS and who had logged in."""

    received: list[tuple[list[str], EmailMessage, bool, str | None]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        # Login is accepted only over TLS, whichever way TLS was set up.
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        ok = encrypted and data == LoginPassword(USER.encode(), PASSWORD.encode())
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False, auth_data=data)  # unhandled: 535 reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        login = session.auth_data.login.decode() if session.authenticated else None
        self.received.append((list(envelope.rcpt_tos), msg, encrypted, login))
        return "250 Message accepted for delivery"


@dataclass
class TlsServer:
    port: int
    sink: TlsSink


def serve(pki: Pki, mode: str) -> tuple[TlsServer, Controller]:
    """STARTTLS required before anything else, or TLS from the first byte; login required."""
    server = TlsServer(free_port(), TlsSink())
    common: dict[str, Any] = dict(
        hostname="127.0.0.1",
        port=server.port,
        server_hostname="mail.example.gov.cn",
        auth_required=True,
        authenticator=server.sink.authenticate,
    )
    if mode == "starttls":
        ctl = Controller(
            server.sink, tls_context=pki.server_context(), require_starttls=True, **common
        )
    else:
        # aiosmtpd only counts STARTTLS as TLS, so it is told not to insist; the authenticator
        # above still refuses a login that did not come over TLS.
        ctl = Controller(
            server.sink, ssl_context=pki.server_context(), auth_require_tls=False, **common
        )
    ctl.start()
    return server, ctl


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(request: pytest.FixtureRequest, pki: Pki) -> Iterator[tuple[str, TlsServer]]:
    """A running TLS mail server, once for each TLS mode."""
    server, ctl = serve(pki, request.param)
    yield request.param, server
    ctl.stop()


def mailer(port: int, tls: str, ca_file: Path | None, **kw: Any) -> Email:
    config = dict(user=USER, password=PASSWORD, mail_from="区安委办 <office@example.gov.cn>")
    config.update(kw)
    return Email(
        SmtpConfig(host="127.0.0.1", port=port, tls=tls, timeout=5, ca_file=ca_file, **config)
    )


def to_mail() -> Message:
    box = Mailbox("u001.liaison@example.gov.cn", "区应急局 胡国庆")
    return Message(CONTENT, Target(kind="email", to=box), at=T0)


def test_it_sends_over_tls_trusting_the_office_ca_and_logs_in(
    tls_server: tuple[str, TlsServer], pki: Pki
) -> None:
    mode, server = tls_server
    transport = mailer(server.port, mode, pki.ca_file)
    transport.send(to_mail(), key="o7:office:s1:email#1:u001")
    transport.send(to_mail(), key="o8:office:s1:email#1:u001")  # on the kept connection
    transport.close()
    assert len(server.sink.received) == 2
    rcpts, msg, encrypted, login = server.sink.received[0]
    assert rcpts == ["u001.liaison@example.gov.cn"]
    assert encrypted and login == USER and server.sink.logins == [USER]  # one login, kept
    assert msg["Subject"] == CONTENT.subject
    assert msg["To"].addresses[0].display_name == "区应急局 胡国庆"
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "已逾期 6 个工作日" in text.get_content()
    assert "<b>6</b>" in html.get_content()


def test_it_refuses_a_certificate_from_an_unknown_ca_without_retrying(
    tls_server: tuple[str, TlsServer],
) -> None:
    mode, server = tls_server
    waits: list[float] = []
    attempt = send_with_retry(
        mailer(server.port, mode, None),  # the system's CAs: the test CA is not among them
        to_mail(),
        key="k",
        retry=RetrySettings(attempts=5, first_delay=1),
        sleep=waits.append,
    )
    assert not attempt.ok and attempt.permanent
    assert attempt.attempts == 1 and waits == []
    assert attempt.error and "证书校验失败" in attempt.error
    assert "DUBAN_SMTP_CA_FILE" in attempt.error
    assert server.sink.received == [] and server.sink.logins == []


def test_it_refuses_a_wrong_password_permanently(
    tls_server: tuple[str, TlsServer], pki: Pki
) -> None:
    mode, server = tls_server
    with pytest.raises(TransportError) as err:
        mailer(server.port, mode, pki.ca_file, password="wrong").send(to_mail(), key="k")
    assert err.value.permanent and "535" in str(err.value)


def test_it_fails_permanently_when_sending_in_clear_to_a_starttls_only_server(pki: Pki) -> None:
    server, ctl = serve(pki, "starttls")
    try:
        with pytest.raises(TransportError) as err:
            mailer(server.port, "none", None, user="").send(to_mail(), key="k")
    finally:
        ctl.stop()
    assert err.value.permanent and "530" in str(err.value)
    assert server.sink.received == []


def test_it_fails_permanently_when_implicit_tls_meets_a_plain_port(pki: Pki) -> None:
    server, ctl = serve(pki, "starttls")  # speaks plain SMTP first
    try:
        with pytest.raises(TransportError) as err:
            mailer(server.port, "ssl", pki.ca_file).send(to_mail(), key="k")
    finally:
        ctl.stop()
    assert err.value.permanent and "DUBAN_SMTP_TLS" in str(err.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "不存在"), (b"not a certificate\n", "不是有效的 PEM"), ("dir", "无法读取")],
    ids=["missing", "not-pem", "directory"],
)
def test_it_names_the_setting_when_the_ca_file_is_unusable_and_recovers_once_fixed(
    pki: Pki, tmp_path: Path, content: bytes | str | None, problem: str
) -> None:
    server, ctl = serve(pki, "starttls")
    ca_file = tmp_path / "office-ca.pem"
    if content == "dir":
        ca_file.mkdir()
    elif isinstance(content, bytes):
        ca_file.write_bytes(content)
    transport = mailer(server.port, "starttls", ca_file)
    try:
        with pytest.raises(TransportError) as err:
            transport.send(to_mail(), key="k")
        assert err.value.permanent
        assert str(err.value).startswith(f"DUBAN_SMTP_CA_FILE 指定的证书文件{problem}")
        assert str(err.value).endswith(f": {ca_file}")
        if ca_file.is_dir():
            ca_file.rmdir()
        ca_file.write_bytes(pki.ca_file.read_bytes())  # the office fixes the file
        transport.send(to_mail(), key="k")  # the same transport: no restart needed
        transport.close()
    finally:
        ctl.stop()
    assert len(server.sink.received) == 1


def test_it_reads_the_ca_file_from_duban_toml_and_the_environment(tmp_path: Path) -> None:
    toml = tmp_path / "duban.toml"
    toml.write_text(
        'smtp_host = "mail.example.gov.cn"\nsmtp_tls = "starttls"\n'
        'smtp_ca_file = "/etc/duban/office-ca.pem"\n',
        encoding="utf-8",
    )
    settings = load_settings({"DUBAN_CONFIG": str(toml), "DUBAN_HOME": str(tmp_path)})
    assert settings.smtp_ca_file == Path("/etc/duban/office-ca.pem")
    email = build_transports(settings.send_config())["email"]
    assert isinstance(email, Email) and email.config.ca_file == settings.smtp_ca_file
    env = {"DUBAN_CONFIG": str(toml), "DUBAN_SMTP_CA_FILE": ""}
    assert load_settings(env).smtp_ca_file is None  # empty: the system's trust


def test_doctor_reports_an_unusable_ca_file_and_accepts_a_good_one(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, pki: Pki
) -> None:
    def mail_check() -> dict[str, Any]:
        runtime.reset()
        result = CliRunner().invoke(app, ["doctor", "--json"])
        checks: list[dict[str, Any]] = json.loads(result.stdout)
        [check] = [c for c in checks if c["name"] == "邮件服务器证书"]
        if not check["ok"]:
            assert result.exit_code == 1
        return check

    monkeypatch.setenv("DUBAN_SMTP_TLS", "starttls")
    missing = cli_env / "missing-ca.pem"
    monkeypatch.setenv("DUBAN_SMTP_CA_FILE", str(missing))
    check = mail_check()
    assert not check["ok"]
    assert check["detail"] == f"DUBAN_SMTP_CA_FILE 指定的证书文件不存在: {missing}"
    monkeypatch.setenv("DUBAN_SMTP_CA_FILE", str(pki.ca_file))
    check = mail_check()
    assert check["ok"] and "载入 1 个证书" in check["detail"]
