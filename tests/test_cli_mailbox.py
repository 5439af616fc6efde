"""Headless mailbox management and polling from the command line, against a real Dovecot."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from mailgen import mail

pytestmark = pytest.mark.servers


def tuidesk(args: list[str], env: dict[str, str], db_target: str, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "tuidesk", "--db", str(db_target), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def added(dovecot, mail_user, cli_env, db_target) -> dict[str, str]:
    """A mailbox 'support' pointing at the Dovecot user, password from an environment variable."""
    env = dict(cli_env, SUPPORT_PW=mail_user.password)
    done = tuidesk(
        [
            "mailbox",
            "add",
            "support",
            "--protocol",
            "imap",
            "--host",
            dovecot.host,
            "--port",
            str(dovecot.imap_port),
            "--security",
            "plain",
            "--user",
            mail_user.address,
            "--password-env",
            "SUPPORT_PW",
            "--set",
            "unknown_sender=create",
            "--set",
            "after_fetch_folder=Done",
        ],
        env,
        db_target,
    )
    assert done.returncode == 0, done.stderr
    return env


def test_a_new_mailbox_is_a_draft_and_says_how_to_test_and_activate_it(added, db_target):
    done = tuidesk(["mailbox", "list"], added, db_target)
    assert "support" in done.stdout and "draft" in done.stdout


def test_mailbox_test_reports_each_step(added, db_target, mail_user, dovecot):
    dovecot.append(mail_user, mail())
    done = tuidesk(["mailbox", "test", "support"], added, db_target)
    assert done.returncode == 0, done.stderr
    for step in ("resolve", "connect", "login", "select", "capabilities", "folders"):
        assert f"{step}:" in done.stdout
    assert "'INBOX': 1 messages" in done.stdout
    assert "IMAP4REV1" in done.stdout.upper()


def test_mailbox_test_names_the_failed_step(added, db_target):
    env = dict(added, SUPPORT_PW="wrong")
    done = tuidesk(["mailbox", "test", "support"], env, db_target)
    assert done.returncode == 1
    assert "login failed: IMAP login to" in done.stderr


def test_mailbox_test_over_tls_reports_the_certificate(added, db_target, dovecot):
    tuidesk(
        [
            "mailbox",
            "edit",
            "support",
            "--set",
            "security=ssl",
            "--set",
            f"port={dovecot.imaps_port}",
            "--set",
            f"tls_ca_file={dovecot.cert_path}",
        ],
        added,
        db_target,
    )
    done = tuidesk(["mailbox", "test", "support"], added, db_target)
    assert done.returncode == 0, done.stderr
    assert "tls: protocol TLSv1.3" in done.stdout and "subject commonName=localhost" in done.stdout


def test_a_draft_is_not_polled_until_activated(added, db_target, mail_user, dovecot):
    dovecot.append(mail_user, mail())
    assert "0 fetched" not in tuidesk(["--poll-once"], added, db_target).stdout
    tuidesk(["mailbox", "edit", "support", "--set", "status=active"], added, db_target)
    done = tuidesk(["--poll-once"], added, db_target)
    assert done.returncode == 0, done.stderr
    assert "support: 1 fetched, 1 new tickets" in done.stdout


def test_poll_once_json_prints_the_poll_run_record(added, db_target, mail_user, dovecot):
    dovecot.append(mail_user, mail())
    done = tuidesk(["--poll-once", "--json", "--mailbox", "support"], added, db_target)
    record = json.loads(done.stdout.splitlines()[0])
    assert (record["mailbox"], record["ok"], record["created"]) == ("support", True, 1)


def test_verbose_streams_the_trace_to_stderr(added, db_target, mail_user, dovecot):
    dovecot.append(mail_user, mail())
    done = tuidesk(["--poll-once", "--verbose", "--mailbox", "support"], added, db_target)
    assert "[support] info: 1 new message(s) on the server" in done.stderr
    assert mail_user.password not in done.stderr + done.stdout


def test_a_failing_mailbox_makes_poll_once_exit_1_with_one_line(added, db_target):
    env = dict(added, SUPPORT_PW="wrong")
    done = tuidesk(["--poll-once", "--mailbox", "support"], env, db_target)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("support: FAILED: IMAP login to")


def test_an_unknown_mailbox_name_is_a_usage_error(added, db_target):
    done = tuidesk(["--poll-once", "--mailbox", "nope"], added, db_target)
    assert done.returncode == 2 and "the mailboxes are support" in done.stderr


def test_invalid_settings_are_refused_with_the_reason(added, db_target):
    for setting, reason in (
        ("port=70000", "out of range"),
        ("subject_pattern=[#(", "not a valid regular expression"),
        ("skip_times=25:00-03:00", "out of range"),
        ("reply_to=not-an-address", "not an e-mail address"),
        ("after_fetch=archive", "not one of"),
        ("colour=red", "no mailbox setting 'colour'"),
    ):
        done = tuidesk(["mailbox", "edit", "support", "--set", setting], added, db_target)
        assert done.returncode == 2, setting
        assert reason in done.stderr, (setting, done.stderr)


def test_export_writes_no_secret_and_import_recreates_the_mailbox(
    added, db_target, tmp_path, cli_env
):
    tuidesk(
        ["mailbox", "edit", "support", "--password-stdin"],
        added,
        db_target,
        stdin="stored-Secret-99\n",
    )
    exported = tuidesk(["mailbox", "export"], added, db_target).stdout
    assert "stored-Secret-99" not in exported
    assert 'password_env = "SUPPORT_PW"' in exported
    assert "# not exported: password" in exported
    other = tmp_path / "other.sqlite3"
    (tmp_path / "m.toml").write_text(exported)
    done = tuidesk(["mailbox", "import", str(tmp_path / "m.toml")], cli_env, other)
    assert done.returncode == 0 and "mailbox 'support' created" in done.stdout
    again = tuidesk(["mailbox", "export"], cli_env, other).stdout
    assert again.replace(
        "# not exported: password (stored secrets; use password_env or "
        "password_command to keep them out of the database)\n",
        "",
    ) == (
        exported.replace(
            "# not exported: password (stored secrets; use password_env or "
            "password_command to keep them out of the database)\n",
            "",
        )
    )


def test_import_refuses_a_password_in_clear(cli_env, db_target, tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[[mailbox]]\nname = "x"\naddress = "x@example.com"\npassword = "pw"\n')
    done = tuidesk(["mailbox", "import", str(path)], cli_env, db_target)
    assert done.returncode == 2 and "password in clear" in done.stderr


def test_mailbox_content_shows_the_ledger_state_of_each_message(
    added, db_target, mail_user, dovecot
):
    tuidesk(
        ["mailbox", "edit", "support", "--set", "after_fetch=keep", "--set", "unknown_sender=hold"],
        added,
        db_target,
    )
    dovecot.append(mail_user, mail(subject="from a stranger"))
    tuidesk(["--poll-once", "--mailbox", "support"], added, db_target)
    dovecot.append(mail_user, mail(subject="not fetched yet"))
    done = tuidesk(["mailbox", "content", "support"], added, db_target)
    lines = done.stdout.splitlines()
    assert any("held" in line and "from a stranger" in line for line in lines)
    assert any(line.split()[4] == "new" for line in lines[1:] if line.startswith("imap:"))


def test_records_retry_and_reset_from_the_command_line(added, db_target, mail_user, dovecot):
    tuidesk(["mailbox", "edit", "support", "--set", "behaviour=update_only"], added, db_target)
    dovecot.append(mail_user, mail(subject="nothing to update"))
    tuidesk(["--poll-once", "--mailbox", "support"], added, db_target)
    listing = tuidesk(["records", "--state", "error"], added, db_target).stdout
    record_id = listing.splitlines()[1].split()[0]
    tuidesk(["mailbox", "edit", "support", "--set", "behaviour=create_or_update"], added, db_target)
    done = tuidesk(["retry", record_id], added, db_target)
    assert done.returncode == 0 and "ticket_created" in done.stdout
    reset = tuidesk(["reset", record_id], added, db_target)
    assert "is new again" in reset.stdout
    again = tuidesk(["--poll-once", "--json", "--mailbox", "support"], added, db_target)
    assert json.loads(again.stdout.splitlines()[0])["created"] == 1
    tickets = tuidesk(["records"], added, db_target).stdout
    assert tickets.count("ticket_created") == 1


def test_fetching_can_be_switched_off_for_the_whole_helpdesk(added, db_target, mail_user, dovecot):
    tuidesk(["mailbox", "edit", "support", "--set", "status=active"], added, db_target)
    tuidesk(["setting", "set", "fetching_enabled", "false"], added, db_target)
    dovecot.append(mail_user, mail())
    done = tuidesk(["--poll-once"], added, db_target)
    assert "fetching is switched off" in done.stderr


def test_poll_loops_until_sigterm_and_exits_cleanly(added, db_target, mail_user, dovecot):
    tuidesk(
        [
            "mailbox",
            "edit",
            "support",
            "--set",
            "status=active",
            "--set",
            "fetch_frequency_minutes=0",
        ],
        added,
        db_target,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuidesk", "--db", str(db_target), "--poll"],
        env=added,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)
        dovecot.append(mail_user, mail(subject="while looping"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
            "Done" in dovecot.folders(mail_user) and dovecot.messages(mail_user, "Done")
        ):
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert len(dovecot.messages(mail_user, "Done")) == 1
    assert "1 new tickets" in out


def test_remove_needs_confirmation_and_then_removes(added, db_target):
    refused = tuidesk(["mailbox", "remove", "support"], added, db_target)
    assert refused.returncode == 2 and "add --yes" in refused.stderr
    done = tuidesk(["mailbox", "remove", "support", "--yes"], added, db_target)
    assert done.returncode == 0
    assert "support" not in tuidesk(["mailbox", "list"], added, db_target).stdout
