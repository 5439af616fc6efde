"""OAuth2 tokens for mailboxes, from msal (and tuidesk's own refresh-token exchange) against a
real local HTTPS token endpoint with a self-signed certificate."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from servers.oauth_server import (  # noqa: F401
    OAuthServer,
    microsoft_settings,
    oauth_fixture,
    oauth_server_fixture,
)

from tuidesk.core.errors import ConfigError, MailError
from tuidesk.core.mail import oauth as oauth_mod
from tuidesk.core.mail.oauth import (
    begin_authorization,
    finish_authorization,
    start_device_sign_in,
    tokens_for,
)
from tuidesk.core.mail.xoauth2 import (
    choose_mechanism,
    oauthbearer_payload,
    server_error,
    xoauth2_payload,
)
from tuidesk.core.paths import Paths
from tuidesk.core.redact import redact
from tuidesk.core.store.models import Mailbox

ADDRESS = "support@example.com"


def mailbox(**settings) -> Mailbox:
    values = dict(name="support", address=ADDRESS, protocol="imap", timeout_ms=10_000)
    values.update(settings)
    return Mailbox(**values)


def app_mailbox(server: OAuthServer, **overrides) -> Mailbox:
    client = server.register_client(secret="s3cret-" + os.urandom(6).hex(), app_mailbox=ADDRESS)
    return mailbox(**microsoft_settings(server, client, **overrides))


def signed_in(server: OAuthServer, user: str = ADDRESS, **overrides) -> Mailbox:
    """A delegated mailbox after a device code sign-in by ``user``."""
    client = server.register_client()
    box = mailbox(**microsoft_settings(server, client, **overrides))
    server.device_user = user
    start_device_sign_in(box).wait()
    return box


def token_requests(server: OAuthServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/token"))


# --- client credentials ------------------------------------------------------------------------


def test_client_credentials_give_an_app_token_for_the_mailbox(oauth) -> None:
    token = tokens_for(app_mailbox(oauth), "imap").access_token()
    assert oauth.email_of(token, "outlook.office365.com/.default") == ADDRESS


def test_a_second_token_comes_from_the_cache_without_a_request(oauth) -> None:
    tokens = tokens_for(app_mailbox(oauth), "imap")
    first = tokens.access_token()
    before = token_requests(oauth)
    assert tokens.access_token() == first
    assert token_requests(oauth) == before


def test_the_cache_file_is_private_and_written_only_when_it_changed(oauth) -> None:
    tokens = tokens_for(app_mailbox(oauth), "imap")
    tokens.access_token()
    path = Paths.resolve().token_cache
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    tokens.access_token()  # from the cache: nothing changed
    again = path.stat()
    assert (again.st_ino, again.st_mtime_ns) == (info.st_ino, info.st_mtime_ns)


def test_graph_and_imap_tokens_are_asked_for_their_own_resource(oauth) -> None:
    box = app_mailbox(oauth)
    tokens_for(box, "graph").access_token()
    scopes = [r.form.get("scope") for r in oauth.requests if r.path.endswith("/token")]
    assert scopes[-1] == "https://graph.microsoft.com/.default"


def test_a_wrong_client_secret_is_one_sentence_without_the_secret(oauth) -> None:
    box = app_mailbox(oauth, oauth_client_secret="not-the-secret-1234")
    with pytest.raises(MailError) as caught:
        tokens_for(box, "imap").access_token()
    sentence = caught.value.sentence
    assert sentence.startswith("Microsoft 365 refused the client credentials of mailbox 'support'")
    assert "AADSTS7000215" in sentence
    assert "not-the-secret-1234" not in sentence


def test_client_credentials_without_a_secret_are_a_configuration_error(oauth) -> None:
    box = app_mailbox(oauth, oauth_client_secret="")
    with pytest.raises(ConfigError, match="has no client secret"):
        tokens_for(box, "imap")


def test_the_secret_may_come_from_the_environment(oauth, monkeypatch) -> None:
    box = app_mailbox(oauth)
    monkeypatch.setenv("SUPPORT_OAUTH_SECRET", box.oauth_client_secret)
    box.oauth_client_secret, box.oauth_client_secret_env = "", "SUPPORT_OAUTH_SECRET"
    assert tokens_for(box, "imap").access_token()


def test_an_untrusted_token_endpoint_certificate_is_refused(oauth, monkeypatch) -> None:
    monkeypatch.delenv("TUIDESK_OAUTH_CA_FILE")
    box = app_mailbox(oauth)
    with pytest.raises(MailError) as caught:
        tokens_for(box, "imap").access_token()
    assert "is not trusted" in caught.value.sentence
    assert "TUIDESK_OAUTH_CA_FILE" in caught.value.sentence


def test_the_oauth_ca_wins_over_requests_ca_bundle(oauth, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "some-other-bundle.pem"))
    assert tokens_for(app_mailbox(oauth), "imap").access_token()


def test_the_tenant_gives_the_microsoft_authority() -> None:
    box = mailbox(auth_method="oauth2_microsoft", oauth_client_id="c", oauth_tenant_id="t-1")
    assert tokens_for(box, "imap").settings.authority == "https://login.microsoftonline.com/t-1"
    box.oauth_tenant_id = ""
    box.oauth_token_endpoint = "https://login.microsoftonline.com/t-2/oauth2/v2.0/token"
    assert tokens_for(box, "imap").settings.authority == "https://login.microsoftonline.com/t-2"


def test_no_msal_import_and_no_request_until_a_token_is_asked_for() -> None:
    probe = (
        "import sys\n"
        "from tuidesk.core.mail.oauth import tokens_for\n"
        "from tuidesk.core.store.models import Mailbox\n"
        "box = Mailbox(name='m', address='m@example.com', auth_method='oauth2_microsoft',\n"
        "              oauth_client_id='c', oauth_tenant_id='t', oauth_client_secret='s')\n"
        "tokens_for(box, 'imap')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('msal', 'requests')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- device code, silent refresh, expiry --------------------------------------------------------


def test_a_device_code_sign_in_shows_the_address_and_the_code(oauth) -> None:
    client = oauth.register_client()
    oauth.device_user = ADDRESS
    sign_in = start_device_sign_in(mailbox(**microsoft_settings(oauth, client)))
    assert sign_in.verification_uri.endswith("/devicelogin")
    assert sign_in.verification_uri in sign_in.message
    assert sign_in.user_code in sign_in.message
    assert sign_in.wait() == ADDRESS


def test_the_device_code_is_polled_until_someone_signs_in(oauth) -> None:
    oauth.pending_polls = 2
    box = signed_in(oauth)
    polls = [
        r
        for r in oauth.requests
        if r.form.get("client_id") == box.oauth_client_id
        and r.form.get("grant_type", "").endswith("device_code")
    ]
    assert len(polls) == 3
    token = tokens_for(box, "imap").access_token()
    assert oauth.email_of(token, "IMAP.AccessAsUser.All") == ADDRESS


def test_a_declined_sign_in_is_one_sentence(oauth) -> None:
    client = oauth.register_client()
    oauth.device_outcome = "decline"
    sign_in = start_device_sign_in(mailbox(**microsoft_settings(oauth, client)))
    with pytest.raises(MailError, match="the sign-in for mailbox 'support' was declined"):
        sign_in.wait()


def test_a_sign_in_can_be_cancelled_while_it_waits(oauth) -> None:
    client = oauth.register_client()
    oauth.pending_polls = 1000
    sign_in = start_device_sign_in(mailbox(**microsoft_settings(oauth, client)))
    stop = threading.Event()
    stop.set()
    with pytest.raises(MailError, match="the sign-in for mailbox 'support' was cancelled"):
        sign_in.wait(stop)


def test_a_microsoft_sign_in_may_paste_a_code_instead(oauth) -> None:
    client = oauth.register_client()
    box = mailbox(**microsoft_settings(oauth, client, oauth_redirect_url="http://localhost/"))
    request = begin_authorization(box)
    assert request.url.startswith(f"{oauth.authority}/oauth2/v2.0/authorize?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    assert "offline_access" in query["scope"].split()
    code = oauth.grant_code(
        client.client_id, query["redirect_uri"], query["code_challenge"], ADDRESS
    )
    box.oauth_refresh_token = finish_authorization(box, request, code)
    box.oauth_flow = "refresh"
    assert oauth.email_of(tokens_for(box, "imap").access_token()) == ADDRESS


def test_after_a_sign_in_tokens_come_silently_from_the_cache(oauth) -> None:
    box = signed_in(oauth)
    before = len(oauth.grant_types())
    tokens_for(box, "imap").access_token()
    assert len(oauth.grant_types()) == before  # the sign-in's own access token


def test_an_expiring_access_token_is_refreshed_silently(oauth) -> None:
    oauth.expires_in = 120  # msal treats tokens with less than five minutes left as expired
    box = signed_in(oauth)
    tokens = tokens_for(box, "imap")
    first = tokens.access_token()
    second = tokens.access_token()
    assert first != second
    assert oauth.grant_types()[-1] == "refresh_token"
    assert oauth.email_of(second) == ADDRESS


def test_the_cache_survives_the_process(oauth) -> None:
    box = signed_in(oauth)
    before = token_requests(oauth)
    probe = (
        "from tuidesk.core.mail.oauth import tokens_for\n"
        "from tuidesk.core.store.models import Mailbox\n"
        f"box = Mailbox(**{json.dumps(dict(name=box.name, address=box.address, protocol='imap', auth_method=box.auth_method, oauth_authority=box.oauth_authority, oauth_client_id=box.oauth_client_id, oauth_flow=box.oauth_flow))})\n"  # noqa: E501
        "print(len(tokens_for(box, 'imap').access_token()) > 10)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.stdout.strip() == "True", done.stderr
    assert token_requests(oauth) == before


def test_an_expired_refresh_token_is_one_clear_sentence(oauth) -> None:
    oauth.expires_in = 120
    box = signed_in(oauth)
    oauth.expire_refresh_tokens(ADDRESS)
    with pytest.raises(MailError) as caught:
        tokens_for(box, "imap").access_token()
    assert caught.value.sentence == (
        "the Microsoft 365 refresh token for support@example.com expired: "
        "run `tuidesk mailbox authorize support`"
    )


def test_a_mailbox_never_signed_in_says_how_to_sign_in(oauth) -> None:
    client = oauth.register_client()
    box = mailbox(**microsoft_settings(oauth, client))
    with pytest.raises(MailError) as caught:
        tokens_for(box, "imap").access_token()
    assert caught.value.sentence == (
        "mailbox 'support' has not been authorized with Microsoft 365 yet: "
        "run `tuidesk mailbox authorize support`"
    )


def test_a_stored_refresh_token_seeds_the_cache(oauth) -> None:
    client = oauth.register_client(secret="abcd-1234-efgh")
    refresh = oauth.issue_refresh_token(ADDRESS, client.client_id)
    box = mailbox(
        **microsoft_settings(oauth, client, oauth_flow="refresh", oauth_refresh_token=refresh)
    )
    assert oauth.email_of(tokens_for(box, "imap").access_token()) == ADDRESS
    before = token_requests(oauth)
    tokens_for(box, "imap").access_token()
    assert token_requests(oauth) == before


def test_a_refused_token_is_forgotten(oauth) -> None:
    tokens = tokens_for(app_mailbox(oauth), "imap")
    first = tokens.access_token()
    tokens.forget(first)
    assert tokens.access_token() != first


# --- Google and other providers -----------------------------------------------------------------


def other_mailbox(server: OAuthServer, refresh: str = "", **overrides) -> Mailbox:
    client = server.register_client(secret="other-secret-5678")
    values = dict(
        auth_method="oauth2_other",
        oauth_client_id=client.client_id,
        oauth_client_secret=client.secret,
        oauth_token_endpoint=server.generic_token_endpoint,
        oauth_authority=server.authorization_endpoint,
        oauth_scope="mail",
        oauth_refresh_token=refresh,
    )
    values.update(overrides)
    return mailbox(**values)


def test_a_refresh_token_is_exchanged_at_the_token_endpoint(oauth) -> None:
    box = other_mailbox(oauth)
    box.oauth_refresh_token = oauth.issue_refresh_token(ADDRESS, box.oauth_client_id)
    tokens = tokens_for(box, "imap")
    token = tokens.access_token()
    assert oauth.email_of(token) == ADDRESS
    before = token_requests(oauth)
    assert tokens.access_token() == token
    assert token_requests(oauth) == before
    mode = stat.S_IMODE(tokens.store.sidecar.stat().st_mode)
    assert mode == 0o600


def test_a_rotated_refresh_token_is_kept(oauth) -> None:
    oauth.rotate_refresh_tokens = True
    oauth.expires_in = 60  # below the five-minute margin: every call refreshes
    box = other_mailbox(oauth)
    box.oauth_refresh_token = oauth.issue_refresh_token(ADDRESS, box.oauth_client_id)
    tokens = tokens_for(box, "imap")
    for _ in range(3):
        assert oauth.email_of(tokens.access_token()) == ADDRESS


def test_an_expired_google_refresh_token_is_one_clear_sentence(oauth) -> None:
    box = other_mailbox(oauth, auth_method="oauth2_google")
    box.oauth_refresh_token = oauth.issue_refresh_token(ADDRESS, box.oauth_client_id)
    oauth.expire_refresh_tokens(ADDRESS)
    with pytest.raises(MailError) as caught:
        tokens_for(box, "imap").access_token()
    assert caught.value.sentence == (
        "the Google refresh token for support@example.com expired: "
        "run `tuidesk mailbox authorize support`"
    )


def test_the_authorization_code_flow_gives_the_first_refresh_token(oauth) -> None:
    box = other_mailbox(oauth, oauth_redirect_url="http://localhost:8765/done")
    request = begin_authorization(box)
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == "http://localhost:8765/done"
    code = oauth.grant_code(
        box.oauth_client_id, query["redirect_uri"], query["code_challenge"], ADDRESS
    )
    pasted = f"http://localhost:8765/done?code={code}&state={query['state']}"
    refresh = finish_authorization(box, request, pasted)
    box.oauth_refresh_token = refresh
    before = token_requests(oauth)
    assert oauth.email_of(tokens_for(box, "imap").access_token()) == ADDRESS
    assert token_requests(oauth) == before  # the sign-in's access token was kept


def test_a_pasted_address_from_another_sign_in_is_refused(oauth) -> None:
    box = other_mailbox(oauth)
    request = begin_authorization(box)
    with pytest.raises(MailError, match="belongs to another sign-in"):
        finish_authorization(box, request, "http://localhost/?code=abc&state=forged")


def test_a_provider_without_a_token_endpoint_is_a_configuration_error() -> None:
    box = mailbox(auth_method="oauth2_other", oauth_client_id="c")
    with pytest.raises(ConfigError, match="names no token endpoint"):
        tokens_for(box, "imap")


def test_tokens_and_secrets_are_masked_once_seen(oauth) -> None:
    box = app_mailbox(oauth)
    token = tokens_for(box, "imap").access_token()
    text = f"token {token} secret {box.oauth_client_secret}"
    assert token not in redact(text) and box.oauth_client_secret not in redact(text)


@pytest.fixture(autouse=True)
def fresh_registries():
    """Each test its own msal apps (as a new process would have)."""
    oauth_mod._apps.clear()
    oauth_mod._stores.clear()
    yield
    oauth_mod._apps.clear()
    oauth_mod._stores.clear()


def test_paths_are_isolated(tmp_path: Path) -> None:
    assert str(Paths.resolve().token_cache).startswith(str(tmp_path))


def test_threads_asking_at_once_share_one_token(oauth) -> None:
    tokens = tokens_for(app_mailbox(oauth), "imap")
    before = token_requests(oauth)
    with ThreadPoolExecutor(8) as pool:
        got = set(pool.map(lambda _: tokens.access_token(), range(8)))
    assert len(got) == 1
    assert token_requests(oauth) == before + 1


# --- SASL ----------------------------------------------------------------------------------------


def test_xoauth2_is_preferred_and_oauthbearer_used_when_it_is_the_only_one() -> None:
    assert choose_mechanism(["PLAIN", "XOAUTH2", "OAUTHBEARER"]) == "XOAUTH2"
    assert choose_mechanism(["PLAIN", "OAUTHBEARER"]) == "OAUTHBEARER"
    assert choose_mechanism(["PLAIN", "XOAUTH2", "OAUTHBEARER"], "OAUTHBEARER") == "OAUTHBEARER"
    assert choose_mechanism(["PLAIN", "LOGIN"]) is None
    assert choose_mechanism([]) == "XOAUTH2"  # nothing advertised: try it anyway


def test_the_sasl_strings_have_the_documented_shape() -> None:
    assert xoauth2_payload("u@x.example", "T0k") == b"user=u@x.example\x01auth=Bearer T0k\x01\x01"
    assert oauthbearer_payload("a,b=c@x", "T0k", "imap.x", 993) == (
        b"n,a=a=2Cb=3Dc@x,\x01host=imap.x\x01port=993\x01auth=Bearer T0k\x01\x01"
    )
    challenge = b'{"status":"401","schemes":"bearer","scope":"mail"}'
    assert server_error(challenge) == "status 401, scope mail"
    assert server_error(base64.b64encode(challenge)) == "status 401, scope mail"
