"""Passwords from an environment variable, a command (like mutt and isync) or the database.

Every secret is registered with ``redact`` as soon as it is read, so it can never reach a
trace, log line, exception message or screen.
"""

from __future__ import annotations

import os
import subprocess

from tuidesk.core.errors import MailError
from tuidesk.core.redact import register_secret
from tuidesk.core.store.models import Mailbox


def resolve_secret(*, name: str, stored: str, env: str, command: str, owner: str) -> str:
    """Return the secret from ``env``, else ``command``'s output, else the stored value."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise MailError(
                f"the {name} of mailbox '{owner}' comes from ${env}, which is not set",
                hint=f"export {env} before running tuidesk, or store the {name} instead",
            )
        return register_secret(value) or ""
    if command:
        try:
            done = subprocess.run(
                command, shell=True, capture_output=True, text=True, timeout=30, check=False
            )
        except subprocess.TimeoutExpired:
            raise MailError(
                f"the {name} command of mailbox '{owner}' did not finish within 30 s"
            ) from None
        if done.returncode != 0:
            raise MailError(
                f"the {name} command of mailbox '{owner}' failed with exit code {done.returncode}",
                hint="run it by hand to see why",
            )
        return register_secret(done.stdout.rstrip("\n")) or ""
    return register_secret(stored) or ""


def mailbox_password(mailbox: Mailbox) -> str:
    return resolve_secret(
        name="password",
        stored=mailbox.password,
        env=mailbox.password_env,
        command=mailbox.password_command,
        owner=mailbox.name,
    )


def register_mailbox_secrets(mailbox: Mailbox) -> None:
    """Register every stored secret of ``mailbox`` so it is masked wherever it might leak."""
    for value in (
        mailbox.password,
        mailbox.smtp_password,
        mailbox.oauth_client_secret,
        mailbox.oauth_refresh_token,
    ):
        register_secret(value)
