"""The mailer against real SMTP servers (aiosmtpd) on loopback: STARTTLS, TLS, a login, and
the failures an operator meets (a certificate not trusted, a wrong password)."""

import secrets
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

import pytest

from tessera.bootstrap import Wiring
from tessera.core.magic_links import trial_message
from tessera.services.mail import Mailer, SmtpConfig, SmtpSecurity, describe_failure
from tessera.settings import Settings
from tests.mail_server import self_signed_tls, smtp_server
from tests.secrets_seen import remember


def a_mail() -> EmailMessage:
    return trial_message(
        sender="helpdesk@example.test", recipient="ops@example.test", helpdesk_name="Tessera"
    )


def a_password() -> str:
    password = "smtp-" + secrets.token_urlsafe(16)
    remember(password)
    return password


def config(port: int, security: SmtpSecurity, **more: str | None) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1",
        port=port,
        security=security,
        sender="helpdesk@example.test",
        timeout_seconds=5,
        **more,
    )


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_encrypted_after_a_login(tmp_path: Path, security: SmtpSecurity) -> None:
    context, ca_file = self_signed_tls(tmp_path)
    password = a_password()
    tls = {"starttls": context} if security == "starttls" else {"implicit_tls": context}

    with smtp_server(login=("helpdesk", password), **tls) as (inbox, port):
        Mailer(
            config(port, security, user="helpdesk", password=password, ca_file=str(ca_file))
        ).send(a_mail())

        [mail] = inbox.wait_for(1)
    assert mail["Subject"] == "Test mail from Tessera"
    assert inbox.sessions() == [(True, True)]


def test_a_certificate_nobody_vouches_for_is_refused(tmp_path: Path) -> None:
    context, _ = self_signed_tls(tmp_path)

    with smtp_server(starttls=context) as (inbox, port):
        with pytest.raises(ssl.SSLCertVerificationError) as refused:
            Mailer(config(port, "starttls")).send(a_mail())

        assert inbox.mails == []
    assert describe_failure(refused.value).startswith("SSLCertVerificationError")


def test_a_wrong_password_is_reported_by_its_reply_code_only(tmp_path: Path) -> None:
    context, ca_file = self_signed_tls(tmp_path)

    with smtp_server(starttls=context, login=("helpdesk", a_password())) as (inbox, port):
        wrong = a_password()
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            Mailer(
                config(port, "starttls", user="helpdesk", password=wrong, ca_file=str(ca_file))
            ).send(a_mail())

        assert inbox.mails == []
    assert describe_failure(refused.value) == "SMTPAuthenticationError 535"


def test_the_password_file_is_read_and_never_shown(tmp_path: Path) -> None:
    context, ca_file = self_signed_tls(tmp_path)
    password = a_password()
    password_file = tmp_path / "smtp_password"
    password_file.write_text(password + "\n")
    settings = Settings.model_validate(
        {
            "smtp_host": "127.0.0.1",
            "smtp_security": "starttls",
            "smtp_from": "helpdesk@example.test",
            "smtp_user": "helpdesk",
            "smtp_password_file": str(password_file),
            "smtp_ca_file": str(ca_file),
        }
    )

    with smtp_server(starttls=context, login=("helpdesk", password)) as (inbox, port):
        mailer = Wiring(settings.model_copy(update={"smtp_port": port})).mailer
        assert mailer is not None
        mailer.send(a_mail())

        inbox.wait_for(1)
    assert password not in repr(mailer.config)
