"""Errors that reach a person: one clear sentence saying what went wrong, where, and the fix."""

from __future__ import annotations


class TuideskError(Exception):
    """An error the user can act on. ``str()`` is the sentence shown on stderr and in the UI."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.sentence)

    @property
    def sentence(self) -> str:
        if self.hint:
            return f"{self.message}: {self.hint}"
        return self.message


class ConfigError(TuideskError):
    """The settings file or a command-line option is wrong (exit code 2)."""

    exit_code = 2


class StoreError(TuideskError):
    """The database cannot be opened, is locked, is full or has a schema we cannot use."""


class MailError(TuideskError):
    """A mail server could not be reached, refused the login, or broke off."""
