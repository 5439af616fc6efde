"""Local sources: a Maildir where the MTA delivers, and pipe mode for an MTA alias."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mailgen import mail

from tuidesk.core.poller import Poller
from tuidesk.core.store.models import InboundMail, Mailbox, Ticket


def make_maildir(root: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True)
    return root


def deliver(maildir: Path, name: str, raw: bytes, sub: str = "new") -> Path:
    path = maildir / sub / name
    path.write_bytes(raw)
    return path


def maildir_mailbox(path: Path, **settings) -> Mailbox:
    values = dict(
        name="local",
        address="support@example.com",
        status="active",
        protocol="maildir",
        maildir_path=str(path),
        unknown_sender="create",
        after_fetch="move",
        after_fetch_folder="Processed",
    )
    values.update(settings)
    return Mailbox.create(**values)


def test_maildir_mail_becomes_a_ticket_and_moves_to_a_subfolder(db, tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "Maildir")
    deliver(maildir, "1700000000.1.host", mail(subject="from maildir"))
    result = Poller(db).poll(maildir_mailbox(maildir))
    assert result.ok and result.created == 1
    assert list((maildir / "new").iterdir()) == []
    assert len(list((maildir / ".Processed" / "cur").iterdir())) == 1


def test_maildir_keep_does_not_refetch_even_when_another_client_reads_it(db, tmp_path) -> None:
    maildir = make_maildir(tmp_path / "Maildir")
    path = deliver(maildir, "1700000000.2.host", mail())
    mailbox = maildir_mailbox(maildir, after_fetch="keep")
    Poller(db).poll(mailbox)
    path.rename(maildir / "cur" / (path.name + ":2,S"))  # a mail client read it
    Mailbox.update(next_poll_at=None).execute()
    again = Poller(db).poll(Mailbox.get_by_id(mailbox.id))
    assert (again.fetched, InboundMail.select().count()) == (0, 1)


def test_maildir_held_mail_gets_the_flagged_flag(db, tmp_path: Path) -> None:
    maildir = make_maildir(tmp_path / "Maildir")
    deliver(maildir, "1700000000.3.host", mail(sender="who@nowhere.example"))
    Poller(db).poll(maildir_mailbox(maildir, unknown_sender="hold"))
    [held] = list((maildir / "cur").iterdir())
    assert held.name.endswith(":2,F")


def test_a_missing_maildir_is_a_clear_error(db, tmp_path: Path) -> None:
    result = Poller(db).poll(maildir_mailbox(tmp_path / "nope"))
    assert not result.ok and "is not a Maildir" in result.error


def pipe(args: list[str], env: dict[str, str], raw: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tuidesk", *args],
        input=raw,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_pipe_mode_stores_and_processes_and_exits_0(db, db_target, cli_env) -> None:
    Mailbox.create(
        name="alias",
        address="support@example.com",
        protocol="pipe",
        status="active",
        unknown_sender="create",
    )
    db.close()
    done = pipe(["--db", db_target, "ingest", "--mailbox", "alias"], cli_env, mail(subject="piped"))
    assert done.returncode == 0, done.stderr
    db.connect(reuse_if_open=True)
    assert Ticket.get().subject == "piped"
    assert InboundMail.get().source_key.startswith("pipe:")


def test_pipe_mode_stores_the_same_message_once(db, db_target, cli_env) -> None:
    Mailbox.create(
        name="alias", address="support@example.com", protocol="pipe", unknown_sender="create"
    )
    db.close()
    raw = mail(subject="twice")
    first = pipe(["--db", db_target, "ingest", "--mailbox", "alias"], cli_env, raw)
    second = pipe(["--db", db_target, "ingest", "--mailbox", "alias"], cli_env, raw)
    assert (first.returncode, second.returncode) == (0, 0)
    assert b"already stored" in second.stdout
    db.connect(reuse_if_open=True)
    assert Ticket.select().count() == 1


def test_pipe_mode_exits_75_when_the_store_is_unavailable(cli_env, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    done = pipe(
        ["--db", str(tmp_path / "file" / "db.sqlite3"), "ingest", "--mailbox", "a"], cli_env, mail()
    )
    assert done.returncode == 75
    assert b"the MTA will retry" in done.stderr


def test_pipe_mode_exits_75_for_an_unknown_mailbox(db, db_target, cli_env) -> None:
    db.close()
    done = pipe(["--db", db_target, "ingest", "--mailbox", "nope"], cli_env, mail())
    assert done.returncode == 75


def test_pipe_mode_refuses_empty_input_without_claiming_success(db, db_target, cli_env) -> None:
    db.close()
    done = pipe(["--db", db_target, "ingest", "--mailbox", "x"], cli_env, b"")
    assert done.returncode == 65
