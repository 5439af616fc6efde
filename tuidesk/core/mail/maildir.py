"""Maildir source: a local path where the MTA delivers (Postfix, Dovecot LDA).

The ledger key is the message's unique name (the file name without its ``:2,`` info), so it
stays the same when another client moves the file from ``new/`` to ``cur/``. Dispositions follow
Maildir++: "move" goes to the sub-folder ``.NAME``; "flag" sets the F flag.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from tuidesk.core.errors import MailError
from tuidesk.core.mail.source import FetchedMail, RemoteMail, SourceFacts, Trace


class MaildirSource:
    def __init__(self, *, path: str, mailbox: str, trace: Trace) -> None:
        self.root = Path(path).expanduser()
        self.mailbox = mailbox
        self.trace = trace
        self._files: dict[str, Path] = {}
        self.facts = SourceFacts()

    def connect(self) -> None:
        missing = [d for d in ("new", "cur", "tmp") if not (self.root / d).is_dir()]
        if missing:
            raise MailError(
                f"{self.root} is not a Maildir (no {', '.join(missing)} folder)",
                hint=f"check `tuidesk mailbox edit {self.mailbox} --set maildir_path=…`",
            )
        self._scan()
        self.facts.add("open", f"{self.root}: {len(self._files)} messages")

    def close(self) -> None:
        self._files = {}

    @staticmethod
    def unique_name(filename: str) -> str:
        return filename.split(":2,", 1)[0]

    def _scan(self) -> None:
        files: dict[str, Path] = {}
        for sub in ("new", "cur"):
            try:
                entries = list(os.scandir(self.root / sub))
            except OSError as exc:
                raise MailError(
                    f"the Maildir {self.root} cannot be read ({exc.strerror})"
                ) from None
            for entry in entries:
                if entry.is_file() and not entry.name.startswith("."):
                    files[self.unique_name(entry.name)] = Path(entry.path)
        self._files = files

    def _remote(self, unique: str, path: Path) -> RemoteMail:
        stat = path.stat()
        flags = frozenset(path.name.split(":2,", 1)[1]) if ":2," in path.name else frozenset()
        return RemoteMail(
            key=f"maildir:{unique}",
            size=stat.st_size,
            uidl=unique,
            internal_date=datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None),
            flags=flags,
        )

    def list_all(self) -> list[RemoteMail]:
        remotes = []
        for unique, path in self._files.items():
            try:
                remotes.append(self._remote(unique, path))
            except FileNotFoundError:  # taken by another client meanwhile
                continue
        return sorted(remotes, key=lambda r: (r.internal_date or datetime.min, r.uidl))

    def pending(self, is_known: Callable[[Sequence[str]], set[str]]) -> list[RemoteMail]:
        remotes = self.list_all()
        known = is_known([r.key for r in remotes])
        return [r for r in remotes if r.key not in known]

    def fetch(
        self, batch: Sequence[RemoteMail], max_size: int, keep_big: bool
    ) -> list[FetchedMail]:
        out = []
        for remote in batch:
            path = self._files.get(remote.uidl)
            if path is None:
                continue
            try:
                if max_size and remote.size > max_size:
                    with path.open("rb") as handle:
                        header = _read_header(handle)
                    full = path.read_bytes() if keep_big else None
                    out.append(FetchedMail(remote, header, True, full=full))
                else:
                    out.append(FetchedMail(remote, path.read_bytes()))
            except FileNotFoundError:
                continue
        return out

    def fetch_one(self, remote: RemoteMail) -> bytes:
        return self._files[remote.uidl].read_bytes()

    def apply(self, action: str, mails: Sequence[RemoteMail], argument: str = "") -> None:
        for mail in mails:
            path = self._files.get(mail.uidl)
            if path is None or not path.exists():
                continue
            if action == "delete":
                path.unlink()
                self._files.pop(mail.uidl, None)
            elif action == "move":
                target = self.root / f".{argument.replace('/', '.')}"
                for sub in ("new", "cur", "tmp"):
                    (target / sub).mkdir(parents=True, exist_ok=True)
                os.replace(path, target / "cur" / _with_flags(path.name, add="S"))
                self._files.pop(mail.uidl, None)
            elif action in {"mark_seen", "flag", "unflag"}:
                flag = "S" if action == "mark_seen" else "F"
                name = (
                    _with_flags(path.name, remove=flag)
                    if action == "unflag"
                    else _with_flags(path.name, add=flag)
                )
                new_path = self.root / "cur" / name
                os.replace(path, new_path)
                self._files[mail.uidl] = new_path


def _with_flags(name: str, add: str = "", remove: str = "") -> str:
    base, _, flags = name.partition(":2,")
    letters = (set(flags) | set(add)) - set(remove)
    return f"{base}:2,{''.join(sorted(letters))}"


def _read_header(handle) -> bytes:
    lines = []
    for line in handle:
        lines.append(line)
        if line in (b"\n", b"\r\n"):
            break
    return b"".join(lines)
