"""Every message of the shared corpus (mail nobody here wrote: broken, exotic, bounces) goes
through the real pipeline into a SQLite store: none raises, each ends in exactly one final
state, none is dropped. The counts per state are printed (``pytest -rA`` shows them).

The reply-parser bodies are not whole messages; test_rules_reply_text.py covers them.
"""

from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest

from tuidesk.core.ingest.ledger import store_fetched
from tuidesk.core.ingest.pipeline import process_batch
from tuidesk.core.ingest.policy import MailboxPolicy
from tuidesk.core.mail.source import FetchedMail, RemoteMail
from tuidesk.core.store.models import FINAL_INBOUND_STATES, InboundMail, Mailbox
from tuidesk.core.trace import Tracer

CORPUS = Path(__file__).parents[2] / "shared" / "corpus"
NOT_MAIL = {"LICENSE", "README.md", "expected.json"}


def corpus_files() -> list[Path]:
    if not CORPUS.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the corpus is missing at {CORPUS} (required when CI=true)")
        pytest.skip(f"no corpus at {CORPUS}")
    return [
        path
        for path in sorted(CORPUS.rglob("*"))
        if path.is_file()
        and path.name not in NOT_MAIL
        and not path.name.startswith(".")
        and "reply-parser" not in path.relative_to(CORPUS).parts
    ]


@pytest.mark.parametrize("unknown_sender", ["hold", "create"])
def test_every_corpus_message_ends_in_exactly_one_final_state(db, unknown_sender: str) -> None:
    files = corpus_files()
    assert len(files) > 200
    mailbox = Mailbox.create(
        name="corpus",
        address="support@example.com",
        status="active",
        unknown_sender=unknown_sender,
        attach_original=True,
    )
    fetched = [
        FetchedMail(
            RemoteMail(key=str(p.relative_to(CORPUS)), size=p.stat().st_size), p.read_bytes()
        )
        for p in files
    ]
    with db.atomic():
        stored = store_fetched(mailbox, fetched)
    trace = Tracer(mailbox.id, mailbox.name)
    outcomes = []
    for start in range(0, len(stored), 50):
        batch = stored[start : start + 50]
        outcomes += process_batch(db, batch, mailbox, MailboxPolicy.from_mailbox(mailbox), trace)

    states = collections.Counter(o.state for o in outcomes)
    reasons = collections.Counter(f"{o.state}/{o.reason}" for o in outcomes)
    summary = (
        f"{len(files)} files, by state {dict(states)}, by reason {dict(sorted(reasons.items()))}"
    )
    print(f"\ncorpus (unknown_sender={unknown_sender}): {summary}")
    crashed = [f"{o.record_id}: {o.detail}" for o in outcomes if o.reason == "processing_failed"]
    assert crashed == [], summary
    assert len(stored) == len(outcomes) == len(files), summary
    records = list(InboundMail.select().where(InboundMail.mailbox == mailbox))
    assert len(records) == len(files), summary
    assert all(r.state in FINAL_INBOUND_STATES for r in records), summary
    assert all(r.attempts == 1 for r in records), summary
