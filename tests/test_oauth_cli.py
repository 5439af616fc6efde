"""`tuidesk mailbox authorize` from a terminal (as over SSH), OAuth2 settings on the command
line, and `tuidesk --poll-once` loading msal only for OAuth2 mailboxes."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from servers.oauth_server import OAuthServer, oauth_fixture, oauth_server_fixture  # noqa: F401

pytestmark = pytest.mark.servers


def tuidesk(args, env, db_path: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tuidesk", "--db", str(db_path), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(cli_env, oauth: OAuthServer) -> dict[str, str]:
    values = {k: v for k, v in cli_env.items() if k not in {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"}}
    return dict(values, TUIDESK_OAUTH_CA_FILE=oauth.ca_file, SUPPORT_SECRET="cli-secret-77aa")


def add_mailbox(env, db_path, *settings: str, protocol: str = "imap") -> None:
    args = ["mailbox", "add", "support", "--protocol", protocol, "--host", "127.0.0.1"]
    args += ["--port", "1", "--security", "plain", "--user", "support@example.com"]
    for setting in settings:
        args += ["--set", setting]
    done = tuidesk(args, env, db_path)
    assert done.returncode == 0, done.stderr


def test_a_device_code_authorization_prints_the_address_and_code(env, db_path, oauth) -> None:
    client = oauth.register_client()
    oauth.device_user = "support@example.com"
    add_mailbox(
        env,
        db_path,
        "auth_method=oauth2_microsoft",
        f"oauth_authority={oauth.authority}",
        f"oauth_client_id={client.client_id}",
        "oauth_flow=device_code",
    )
    done = tuidesk(["mailbox", "authorize", "support"], env, db_path)
    assert done.returncode == 0, done.stderr
    assert f"open the page {oauth.base_url}/devicelogin and enter the code" in done.stdout
    assert "mailbox 'support' is authorized as support@example.com" in done.stdout
    cache = Path(env["XDG_DATA_HOME"]) / "tuidesk" / "oauth-token-cache.json"
    assert oct(cache.stat().st_mode & 0o777) == "0o600"
    for token in oauth.issued:
        assert token not in done.stdout + done.stderr


def test_authorizing_client_credentials_checks_them(env, db_path, oauth) -> None:
    client = oauth.register_client(secret="cli-secret-77aa", app_mailbox="support@example.com")
    add_mailbox(
        env,
        db_path,
        "auth_method=oauth2_microsoft",
        f"oauth_authority={oauth.authority}",
        f"oauth_client_id={client.client_id}",
        "oauth_client_secret_env=SUPPORT_SECRET",
    )
    done = tuidesk(["mailbox", "authorize", "support"], env, db_path)
    assert done.returncode == 0, done.stderr
    assert "Microsoft 365 accepted the client credentials of mailbox 'support'" in done.stdout
    assert "cli-secret-77aa" not in done.stdout + done.stderr


def test_wrong_client_credentials_are_one_sentence(env, db_path, oauth) -> None:
    client = oauth.register_client(secret="the-real-secret-1", app_mailbox="support@example.com")
    add_mailbox(
        env,
        db_path,
        "auth_method=oauth2_microsoft",
        f"oauth_authority={oauth.authority}",
        f"oauth_client_id={client.client_id}",
        "oauth_client_secret_env=SUPPORT_SECRET",
    )
    done = tuidesk(["mailbox", "authorize", "support"], env, db_path)
    assert done.returncode == 1
    assert done.stderr.startswith(
        "tuidesk: error: Microsoft 365 refused the client credentials of mailbox 'support' "
        "(AADSTS7000215"
    )
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_pasted_redirect_address_gives_the_first_refresh_token(env, db_path, oauth) -> None:
    client = oauth.register_client(secret="cli-secret-77aa")
    add_mailbox(
        env,
        db_path,
        "auth_method=oauth2_other",
        f"oauth_authority={oauth.authorization_endpoint}",
        f"oauth_token_endpoint={oauth.generic_token_endpoint}",
        f"oauth_client_id={client.client_id}",
        "oauth_client_secret_env=SUPPORT_SECRET",
        "oauth_scope=mail",
        "oauth_redirect_url=http://localhost:8765/",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "tuidesk", "--db", str(db_path), "mailbox", "authorize", "support"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _read_url(process, oauth.authorization_endpoint)
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        code = oauth.grant_code(
            client.client_id, query["redirect_uri"], query["code_challenge"], "support@example.com"
        )
        out, err = process.communicate(
            f"http://localhost:8765/?code={code}&state={query['state']}\n", timeout=60
        )
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "mailbox 'support' is authorized with OAuth2" in out
    listed = tuidesk(["mailbox", "export", "support"], env, db_path)
    assert "not exported: oauth_refresh_token" in listed.stdout
    for token in oauth.issued:
        assert token not in out + err + listed.stdout


def _read_url(process: subprocess.Popen, prefix: str) -> str:
    """The first printed line starting with ``prefix`` (within 30 s)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        while line := process.stdout.readline():
            lines.put(line)
            if line.strip().startswith(prefix):
                return
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    seen = ""
    while True:
        line = lines.get(timeout=30)
        assert line, f"tuidesk ended before printing the address: {seen}"
        seen += line
        if line.strip().startswith(prefix):
            return line.strip()


def test_authorizing_a_password_mailbox_is_a_usage_error(env, db_path) -> None:
    add_mailbox(env, db_path)
    done = tuidesk(["mailbox", "authorize", "support"], env, db_path)
    assert done.returncode == 2
    assert "signs in with a password, not OAuth2" in done.stderr


def test_oauth_settings_are_validated(env, db_path) -> None:
    add_mailbox(env, db_path)
    for setting, reason in [
        ("oauth_flow=magic", "is not one of client_credentials, device_code, refresh"),
        ("oauth_token_endpoint=http://idp.example.com/token", "would carry secrets unencrypted"),
        ("oauth_tenant_id=not a tenant", "is not a tenant ID"),
        ("oauth_client_secret_env=NOT-A-NAME", "is not an environment variable name"),
    ]:
        done = tuidesk(["mailbox", "edit", "support", "--set", setting], env, db_path)
        assert done.returncode == 2 and reason in done.stderr, done.stderr


def test_an_expired_sign_in_fails_poll_once_with_the_sentence(env, db_path, oauth) -> None:
    oauth.expires_in = 120
    client = oauth.register_client()
    oauth.device_user = "support@example.com"
    add_mailbox(
        env,
        db_path,
        "auth_method=oauth2_microsoft",
        f"oauth_authority={oauth.authority}",
        f"oauth_client_id={client.client_id}",
        "status=active",
    )
    assert tuidesk(["mailbox", "authorize", "support"], env, db_path).returncode == 0
    oauth.expire_refresh_tokens("support@example.com")
    done = tuidesk(["--poll-once"], env, db_path)
    assert done.returncode == 1
    assert (
        "support: FAILED: the Microsoft 365 refresh token for support@example.com expired: "
        "run `tuidesk mailbox authorize support`"
    ) in done.stderr


PROBE = (
    "import sys, json, runpy\n"
    "sys.argv = ['tuidesk', '--db', sys.argv[1], '--poll-once']\n"
    "try:\n"
    "    runpy.run_module('tuidesk', run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('msal', 'requests'))))\n"
)


def test_poll_once_with_password_mailboxes_never_imports_msal(
    cli_env, db_path, dovecot, mail_user
) -> None:
    env = dict(cli_env, SUPPORT_PW=mail_user.password)
    args = ["mailbox", "add", "support", "--protocol", "imap", "--host", dovecot.host]
    args += ["--port", str(dovecot.imap_port), "--security", "plain", "--user", mail_user.address]
    args += ["--password-env", "SUPPORT_PW", "--set", "status=active"]
    assert tuidesk(args, env, db_path).returncode == 0
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(db_path)], env=env, capture_output=True, text=True
    )
    assert "support: 0 fetched" in done.stdout, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_poll_once_with_an_oauth_mailbox_does_load_msal(env, db_path, oauth) -> None:
    client = oauth.register_client(secret="cli-secret-77aa", app_mailbox="support@example.com")
    add_mailbox(
        env,
        db_path,
        "auth_method=oauth2_microsoft",
        f"oauth_authority={oauth.authority}",
        f"oauth_client_id={client.client_id}",
        "oauth_client_secret_env=SUPPORT_SECRET",
        "status=active",
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(db_path)], env=env, capture_output=True, text=True
    )
    assert "support: 0 fetched" not in done.stdout  # port 1: the poll fails, after the token
    assert "msal" in json.loads(done.stdout.strip().splitlines()[-1]), done.stderr
