"""Secrets never leak: every password, client secret and token configured here is looked for,
as is and in base64 (alone and as an AUTH PLAIN string), in everything tuidesk wrote while
succeeding and failing: the stdout and stderr of every command (``mailbox add/list/export/
test``, ``--poll-once`` with ``--verbose``, ``--debug`` and ``--json``, ``outbox send/list``,
``records``), every row of the database but the columns that store the secrets (trace lines,
poll-run records, mailbox and outbox errors, ledger details, sent mail), every file under
tuidesk's own folders, and every screen snapshot under tests/__snapshots__.

The mailboxes cover the ways a secret is given (stored, ``*_env``, ``*_command``) and the ways
a login goes wrong: a wrong password, an untrusted TLS certificate, a refused connection, an
OAuth2 client secret or refresh token the server refuses, SMTP with a wrong password or down.
"""

from __future__ import annotations

import base64
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from mailgen import mail
from servers.dovecot import free_port
from servers.fixtures import SMTP_AGENT
from servers.oauth_server import OAuthServer, oauth_fixture, oauth_server_fixture  # noqa: F401

pytestmark = pytest.mark.servers

SNAPSHOTS = Path(__file__).parent / "__snapshots__"
FAILING = ("wrong", "odd", "tls", "refused", "oauth", "oauth-env", "refresh")
SECRET_COLUMNS = {
    ("mailbox", c)
    for c in ("password", "smtp_password", "oauth_client_secret", "oauth_refresh_token")
}
SECRETS = {
    "stored IMAP password": "Stored-pw-7Qx9Lm2Rv",
    "IMAP password from the environment": "Env-pw-K3j8Wq1Zt",
    "IMAP password from a command": "Cmd-pw-Hh5Tb0Nc4",
    "wrong IMAP password": "Wrong-pw-Ys6Pa2Ge8",
    "password with quotes and non-ASCII": 'Odd-pw-"Zq\\9Ωk7',
    "password sent nowhere (TLS refused)": "Tls-pw-Rm4Dq9Vx2",
    "password sent nowhere (connection refused)": "Refused-pw-Lp7Ke3Sw5",
    "wrong SMTP password from the environment": "Smtp-env-Bn8Cx3Fv1",
    "stored OAuth2 client secret": "Client-secret-Gt5Wz0Jq7",
    "OAuth2 client secret from the environment": "Client-env-Uy2Mr6Ho4",
    "stored OAuth2 refresh token": "Refresh-tok-Ai9Ek4Ob3",
}


def forms(secret: str, users: list[str]) -> set[str]:
    """The secret, its distinctive tail (a partial mask still leaks), and its encodings."""
    out = {secret, secret[-9:], quote(secret, safe="")}
    for text in (
        [secret] + [f"\0{u}\0{secret}" for u in users] + [f"{u}\0{u}\0{secret}" for u in users]
    ):
        out.add(base64.b64encode(text.encode()).decode())
        out.add(base64.urlsafe_b64encode(text.encode()).decode().rstrip("="))
    return out


class Run:
    """Runs tuidesk commands and keeps everything they printed."""

    def __init__(self, env: dict[str, str], db_path: Path) -> None:
        self.env = env
        self.db_path = db_path
        self.outputs: list[tuple[str, str]] = []

    def __call__(self, *args: str, stdin: str | None = None, ok: bool | None = True) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "tuidesk", "--db", str(self.db_path), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        label = "tuidesk " + " ".join(args)
        self.outputs += [(f"stdout of {label}", done.stdout), (f"stderr of {label}", done.stderr)]
        if ok is not None:
            assert (done.returncode == 0) == ok, f"{label}: {done.returncode}\n{done.stderr}"
        return done.stdout + done.stderr


def database_texts(db_path: Path) -> list[tuple[str, str]]:
    """Every value of every row, as text, but the columns meant to hold the secrets."""
    found = []
    with sqlite3.connect(db_path) as connection:
        tables = [
            t for (t,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    if (table, column) in SECRET_COLUMNS or value is None:
                        continue
                    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    found.append((f"{table}.{column}", text))
    return found


def folder_texts(*folders: Path) -> list[tuple[str, str]]:
    return [
        (str(path), path.read_bytes().decode("latin-1"))
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]


def leaks(texts: list[tuple[str, str]], secrets: dict[str, str], users: list[str]) -> list[str]:
    found = []
    for name, secret in secrets.items():
        for form in forms(secret, users):
            found += [f"the {name} ({form!r}) in {where}" for where, text in texts if form in text]
    return found


@pytest.fixture
def setup(dovecot, smtp_server, oauth, cli_env, db_path, tmp_path):
    """Ten mailboxes, three with mail waiting, and the means to run tuidesk on them."""
    files = tmp_path / "secret-files"  # what the *_command settings read: not tuidesk's
    files.mkdir()
    (files / "imap").write_text(SECRETS["IMAP password from a command"] + "\n")
    smtp_password = smtp_server.users[SMTP_AGENT]
    (files / "smtp").write_text(smtp_password + "\n")
    client = oauth.register_client(secret="the-right-secret-0000")
    env = dict(
        cli_env,
        IMAP_PW=SECRETS["IMAP password from the environment"],
        ODD_PW=SECRETS["password with quotes and non-ASCII"],
        SMTP_PW=SECRETS["wrong SMTP password from the environment"],
        CLIENT_SECRET=SECRETS["OAuth2 client secret from the environment"],
        TUIDESK_OAUTH_CA_FILE=oauth.ca_file,
    )
    env.pop("REQUESTS_CA_BUNDLE", None)
    env.pop("CURL_CA_BUNDLE", None)
    run = Run(env, db_path)
    users = {
        "stored": dovecot.add_user(password=SECRETS["stored IMAP password"]),
        "env": dovecot.add_user(password=SECRETS["IMAP password from the environment"]),
        "command": dovecot.add_user(password=SECRETS["IMAP password from a command"]),
    }
    closed = free_port()
    smtp = dict(
        smtp_enabled="true",
        smtp_host=smtp_server.host,
        smtp_port=str(smtp_server.port),
        smtp_security="plain",
        smtp_auth="basic",
        smtp_username=SMTP_AGENT,
    )
    oauth2 = dict(
        auth_method="oauth2_microsoft",
        oauth_authority=oauth.authority,
        oauth_client_id=client.client_id,
    )

    def add(name: str, user: str, *args: str, port: int = dovecot.imap_port, **settings) -> None:
        """``mailbox add`` an active IMAP mailbox; a ``stdin`` setting is the password."""
        stdin = settings.pop("stdin", None)
        values = dict(
            status="active",
            unknown_sender="create",
            after_fetch="move",
            after_fetch_folder="Done",
            max_tries="1",
            debug_trace="true",
            **settings,
        )
        sets = [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]
        where = ["--host", dovecot.host, "--port", str(port), "--security", "plain"]
        run(
            "mailbox",
            "add",
            name,
            "--protocol",
            "imap",
            *where,
            "--user",
            user,
            *args,
            *sets,
            *(["--password-stdin"] if stdin is not None else []),
            stdin=stdin,
        )

    stored, env_user, command = (users[k].address for k in ("stored", "env", "command"))
    add(
        "stored", stored, stdin=SECRETS["stored IMAP password"], **smtp, smtp_password=smtp_password
    )
    add("env", env_user, "--password-env", "IMAP_PW", **smtp, smtp_password_env="SMTP_PW")
    add(
        "command",
        command,
        "--password-command",
        f"cat {files / 'imap'}",
        **dict(smtp, smtp_port=str(closed)),
        smtp_password_command=f"cat {files / 'smtp'}",
    )
    add("wrong", stored, stdin=SECRETS["wrong IMAP password"])
    add("odd", stored, "--password-env", "ODD_PW")
    add(
        "tls",
        stored,
        port=dovecot.imaps_port,
        security="ssl",
        stdin=SECRETS["password sent nowhere (TLS refused)"],
    )
    add("refused", stored, port=closed, stdin=SECRETS["password sent nowhere (connection refused)"])
    add(
        "oauth",
        stored,
        **oauth2,
        oauth_flow="client_credentials",
        oauth_client_secret=SECRETS["stored OAuth2 client secret"],
    )
    add(
        "oauth-env",
        stored,
        **oauth2,
        oauth_flow="client_credentials",
        oauth_client_secret_env="CLIENT_SECRET",
    )
    add(
        "refresh",
        stored,
        **oauth2,
        oauth_flow="refresh",
        oauth_refresh_token=SECRETS["stored OAuth2 refresh token"],
    )
    for key, user in users.items():
        dovecot.append(user, mail(sender=f"{key}@customer.example", subject=f"help {key}"))
    secrets = dict(SECRETS, **{"SMTP password (stored and from a command)": smtp_password})
    logins = [u.address for u in users.values()] + [SMTP_AGENT]
    return run, secrets, logins


def test_no_secret_is_ever_written_or_printed(setup, db_path, isolated_dirs, tmp_path) -> None:
    run, secrets, logins = setup
    run("mailbox", "list")
    run("mailbox", "export")
    run("mailbox", "export", "--output", str(tmp_path / "exported.toml"))
    for name in ("stored", "env", "command"):
        run("mailbox", "test", name)
    for name in FAILING:
        run("mailbox", "test", name, ok=False)
        run("--debug", "mailbox", "test", name, ok=False)
    run("--poll-once", "--verbose", ok=False)  # three succeed, seven fail: exit status 1
    for name in FAILING:
        run("--debug", "--poll-once", "--verbose", "--json", "--mailbox", name, ok=False)
    run("--debug", "outbox", "send", ok=None)
    run("outbox", "list")
    run("records")
    run("mailbox", "list")

    # the failures did happen, with their reasons: the test is not vacuous
    with sqlite3.connect(db_path) as connection:
        errors = dict(connection.execute('SELECT "name", "last_error" FROM "mailbox"'))
        outbox = dict(
            connection.execute(
                'SELECT m."name", o."state" || \': \' || o."last_error" FROM "outbox" o '
                'JOIN "mailbox" m ON m."id" = o."mailbox_id"'
            )
        )
    assert [n for n in ("stored", "env", "command") if errors[n]] == [], errors
    assert all(errors[n] for n in FAILING)
    assert outbox["stored"].startswith("sent"), outbox
    assert "auth" in outbox["env"].lower() and "refused" in outbox["command"].lower(), outbox

    texts = (
        run.outputs
        + database_texts(db_path)
        + folder_texts(
            isolated_dirs / "config",
            isolated_dirs / "data",
            isolated_dirs / "cache",
            isolated_dirs / "state",
        )
    )
    texts.append(("the exported TOML", (tmp_path / "exported.toml").read_text()))
    assert sum(len(text) for _, text in texts) > 10_000
    assert leaks(texts, secrets, logins) == []
    print(
        f"{len(secrets)} secrets looked for in the output of {len(run.outputs) // 2} commands "
        f"and {len(texts) - len(run.outputs)} rows and files: none found"
    )


def ui_test_passwords() -> dict[str, str]:
    """Passwords the UI tests type into screens (those long enough to mean something)."""
    found = {}
    for source in Path(__file__).parent.glob("test_ui_*.py"):
        for value in re.findall(r'password="([^"]{8,})"', source.read_text()):
            found[f"password {value!r} of {source.name}"] = value
    return found


def test_no_screen_snapshot_shows_a_secret() -> None:
    svgs = [(str(p), p.read_text(errors="replace")) for p in sorted(SNAPSHOTS.rglob("*.svg"))]
    assert svgs, f"no snapshots under {SNAPSHOTS}"
    secrets = dict(SECRETS, **ui_test_passwords())
    assert leaks(svgs, secrets, []) == []


def test_the_grep_finds_a_secret_in_any_of_its_forms() -> None:
    secret = SECRETS["stored IMAP password"]
    plain = base64.b64encode(f"\0someone@example.com\0{secret}".encode()).decode()
    texts = [
        ("a trace line", f"login with {secret} failed"),
        ("a log line", f"AUTH LOGIN {base64.b64encode(secret.encode()).decode()}"),
        ("an SMTP exchange", f"AUTH PLAIN {plain}"),
        ("a half-masked line", f"password ••••{secret[-9:]}"),
        ("a clean line", "password ••••••"),
    ]
    found = leaks(texts, {"it": secret}, ["someone@example.com"])
    assert {line.rpartition(" in ")[2] for line in found} == {w for w, _ in texts[:4]}
