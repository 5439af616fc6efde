"""The tuidesk command: version, help with paths, clear errors, poll-once without mailboxes,
and the import hygiene that keeps --poll-once free of Textual."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tuidesk import __version__


def run(
    args: list[str], env: dict[str, str], stdin: bytes | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tuidesk", *args],
        env=env,
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_version_prints_the_version(cli_env: dict[str, str]) -> None:
    done = run(["--version"], cli_env)
    assert done.returncode == 0
    assert done.stdout.decode().strip() == f"tuidesk {__version__}"


def test_help_describes_every_option_and_the_resolved_paths(
    cli_env: dict[str, str], isolated_dirs: Path
) -> None:
    done = run(["--help"], cli_env)
    text = done.stdout.decode()
    assert done.returncode == 0
    for option in (
        "--db",
        "--config",
        "--debug",
        "--demo",
        "--poll-once",
        "--poll",
        "--mailbox",
        "--verbose",
        "--json",
        "--version",
    ):
        assert option in text
    assert str(isolated_dirs / "config" / "tuidesk" / "config.toml") in text
    assert str(isolated_dirs / "data" / "tuidesk" / "tuidesk.sqlite3") in text


def test_the_console_script_is_installed(cli_env: dict[str, str]) -> None:
    script = Path(sys.executable).with_name("tuidesk")
    done = subprocess.run([str(script), "--version"], env=cli_env, capture_output=True, check=False)
    assert done.returncode == 0


def test_a_bad_config_file_is_one_sentence_naming_the_key(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[ui]\ncolour = 'red'\n")
    done = run(["--config", str(config), "--poll-once"], cli_env)
    err = done.stderr.decode()
    assert done.returncode == 2
    assert "'colour'" in err and str(config) in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_debug_adds_the_traceback(cli_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[ui]\ncolour = 'red'\n")
    done = run(["--debug", "--config", str(config), "--poll-once"], cli_env)
    assert "Traceback" in done.stderr.decode()


def test_a_missing_config_file_given_explicitly_is_an_error(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    done = run(["--config", str(tmp_path / "nope.toml"), "--poll-once"], cli_env)
    assert done.returncode == 2
    assert "does not exist" in done.stderr.decode()


def test_poll_once_without_mailboxes_says_so_and_succeeds(cli_env: dict[str, str]) -> None:
    done = run(["--poll-once"], cli_env)
    assert done.returncode == 0
    assert "no mailbox is configured" in done.stderr.decode()


def test_poll_once_never_imports_textual(cli_env: dict[str, str], tmp_path: Path) -> None:
    probe = (
        "import sys, json, runpy\n"
        "sys.argv = ['tuidesk', '--poll-once']\n"
        "try:\n"
        "    runpy.run_module('tuidesk', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "mods = [m for m in sys.modules if m.split('.')[0] in ('textual', 'msal', 'rich')]\n"
        "print(json.dumps(mods))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=cli_env, capture_output=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout.decode().strip().splitlines()[-1]) == []


def test_the_core_never_imports_the_ui() -> None:
    core = Path(__file__).parents[1] / "tuidesk" / "core"
    offenders = [
        str(path)
        for path in core.rglob("*.py")
        if any(
            line.lstrip().startswith(
                ("import textual", "from textual", "from tuidesk.ui", "import tuidesk.ui")
            )
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == []


def test_the_database_option_wins_over_the_environment(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(cli_env, TUIDESK_DB=str(tmp_path / "env.sqlite3"))
    done = run(["--db", str(tmp_path / "flag.sqlite3"), "--poll-once"], env)
    assert done.returncode == 0
    assert (tmp_path / "flag.sqlite3").exists()
    assert not (tmp_path / "env.sqlite3").exists()


def test_an_unreadable_database_is_one_sentence(cli_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    done = run(["--db", str(tmp_path / "file" / "db.sqlite3"), "--poll-once"], cli_env)
    err = done.stderr.decode()
    assert done.returncode == 1
    assert err.startswith("tuidesk: error: the database")
    assert "Traceback" not in err


def test_mailbox_and_poll_options_cannot_be_mixed_with_commands(cli_env: dict[str, str]) -> None:
    done = run(["--poll-once", "records"], cli_env)
    assert done.returncode == 2


def test_the_demo_database_is_created_with_tickets(
    cli_env: dict[str, str], isolated_dirs: Path
) -> None:
    from tuidesk.core.demo import ensure_demo_database

    path = isolated_dirs / "demo.sqlite3"
    ensure_demo_database(path)
    done = run(["--db", str(path), "records"], cli_env)
    assert done.returncode == 0
    assert os.path.getsize(path) > 0
