"""``tessera mail test``: send a mail now, to check the ``smtp_*`` settings (ADR 0048)."""

from typing import Annotated

import typer

from tessera.cli.commands import summary
from tessera.cli.output import CliFailure, Failure, JsonOption, emit, reports_errors
from tessera.cli.state import state
from tessera.core.errors import INVALID_EMAIL, FieldError, FieldErrors, InvalidInput
from tessera.core.magic_links import trial_message
from tessera.core.people import is_valid_email, normalize_email

app = typer.Typer(no_args_is_help=True, help=summary("mail"))


@app.command("test")
@reports_errors
def send_test_mail(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="The address to send the test mail to.")],
    as_json: JsonOption = False,
) -> None:
    """Send a short mail at once through the configured SMTP server, and say what happened."""
    from tessera.services.mail import describe_failure

    recipient = normalize_email(to)
    if not is_valid_email(recipient):
        raise InvalidInput.for_field("to", INVALID_EMAIL)
    cli = state(ctx)
    mailer = cli.services.mailer
    if mailer is None:
        problems = FieldErrors()
        problems.add(("smtp_host",), FieldError("required", "No SMTP server is configured."))
        raise CliFailure(
            Failure(
                exit_code=1,
                status=500,
                code="mail_not_configured",
                message="No SMTP server is configured: set TESSERA_SMTP_HOST and"
                " TESSERA_SMTP_FROM.",
                problems=problems,
            )
        )
    config = mailer.config
    mail = trial_message(
        sender=config.sender, recipient=recipient, helpdesk_name=cli.settings.helpdesk_name
    )
    try:
        mailer.send(mail)
    except OSError as error:  # smtplib's and ssl's errors are OSErrors too
        raise CliFailure(
            Failure(
                exit_code=1,
                status=502,
                code="mail_not_sent",
                message=f"The test mail was not sent: {describe_failure(error)}.",
            )
        ) from None
    server = f"{config.host}:{config.port} ({config.security})"
    emit(
        as_json,
        {"sent": True, "to": recipient, "server": server},
        f"Sent a test mail to {recipient} through {server}.",
    )
