"""Agent actions from the screens, run off the UI thread.

A screen says what to do (a call into ``tuidesk.core.actions`` or ``tuidesk.core.review``) and
what it touches; the call runs in a thread worker, one at a time in the order asked, and the
worker posts :class:`ActionDone` or :class:`ActionFailed`. The app then toasts, tells the screens
to read again what changed, and asks the poll worker to send the outbox or poll a mailbox whose
mail now owes its server-side disposition.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from peewee import PeeweeException
from textual import work

from tuidesk.core.errors import TuideskError
from tuidesk.core.redact import redact
from tuidesk.core.store.models import InboundMail, database_proxy
from tuidesk.ui.messages import ActionDone, ActionFailed, Changes

if TYPE_CHECKING:
    from tuidesk.core.actions import Actor
    from tuidesk.ui.app import TuideskApp

Notice = str | Callable[[Any], str]


@dataclass(frozen=True)
class ActionRequest:
    description: str
    call: Callable[[], Any]
    notice: Notice = ""
    ticket_ids: tuple[int, ...] = ()
    record_ids: tuple[int, ...] = ()
    send_now: bool = False
    poll_records: bool = False
    queue: bool = True
    on_success: Callable[[Any], None] | None = None
    on_failure: Callable[[str], None] | None = None


def error_sentence(exc: BaseException) -> str:
    """What to tell the operator about a failed action."""
    if isinstance(exc, TuideskError):
        return redact(exc.sentence)
    if isinstance(exc, PeeweeException):
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return "the database is busy (a poll is writing): try again in a moment"
        return redact(f"the database failed: {exc}")
    if isinstance(exc, (ValueError, LookupError, OSError)):
        return redact(str(exc))
    return redact(f"unexpected {type(exc).__name__}: {exc}")


class ActionsMixin:
    """Mixed into :class:`TuideskApp`: ``run_action`` and what follows an action."""

    def init_actions(self) -> None:
        self._action_lock = threading.Lock()

    @property
    def _tuidesk(self) -> TuideskApp:
        return self  # type: ignore[return-value]

    @property
    def actor(self) -> Actor:
        from tuidesk.core.actions import Actor

        return Actor.from_settings(self._tuidesk.context.settings)

    def perform(
        self,
        description: str,
        call: Callable[[], Any],
        *,
        notice: Notice = "",
        ticket_ids: Sequence[int] = (),
        record_ids: Sequence[int] = (),
        send_now: bool = False,
        poll_records: bool = False,
        queue: bool = True,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        """Run ``call`` in a worker; ``description`` names it in errors ("close #123456").

        ``notice`` (a sentence, or a function of the result) is toasted on success; the views
        of ``ticket_ids`` (and the queue, unless ``queue`` is false) and of held mail, when
        ``record_ids`` are given, are read again. ``send_now`` sends the outbox at once;
        ``poll_records`` polls the mailboxes of ``record_ids`` at once. ``on_success`` and
        ``on_failure`` are called on the UI thread with the result or the error sentence."""
        self._action_worker(
            ActionRequest(
                description,
                call,
                notice,
                tuple(ticket_ids),
                tuple(record_ids),
                send_now,
                poll_records,
                queue,
                on_success,
                on_failure,
            )
        )

    @work(thread=True, exit_on_error=False, group="actions")
    def _action_worker(self, request: ActionRequest) -> None:
        app = self._tuidesk
        with self._action_lock:  # one at a time, in the order asked
            try:
                with database_proxy.connection_context():
                    result = request.call()
                    mailboxes = _mailboxes_of(request.record_ids) if request.poll_records else ()
            except Exception as exc:
                app.post_message(
                    ActionFailed(
                        request.description,
                        error_sentence(exc),
                        request.ticket_ids,
                        request.record_ids,
                        request.on_failure,
                    )
                )
                return
        notice = request.notice(result) if callable(request.notice) else request.notice
        app.post_message(
            ActionDone(
                request.description,
                notice,
                request.ticket_ids,
                request.record_ids,
                mailboxes,
                request.send_now,
                result,
                request.queue,
                request.on_success,
            )
        )

    def on_action_done(self, message: ActionDone) -> None:
        app = self._tuidesk
        if message.notice:
            app.notify(message.notice, timeout=4, markup=False)
        if message.on_success is not None:
            message.on_success(message.result)
        if message.ticket_ids or message.record_ids or message.queue:
            app.publish_changes(
                Changes(frozenset(message.ticket_ids), message.queue, bool(message.record_ids))
            )
        if message.send_now or message.poll_mailbox_ids:
            app.request_poll(message.poll_mailbox_ids)  # () when only the outbox is owed
        else:
            app.read_status()

    def on_action_failed(self, message: ActionFailed) -> None:
        app = self._tuidesk
        app.notify(
            f"{message.description}: {message.error}",
            title="Not done",
            severity="error",
            timeout=10,
            markup=False,
        )
        if message.on_failure is not None:
            message.on_failure(message.error)
        if message.ticket_ids or message.record_ids:
            app.publish_changes(
                Changes(frozenset(message.ticket_ids), queue=True, review=bool(message.record_ids))
            )


def _mailboxes_of(record_ids: Sequence[int]) -> tuple[int, ...]:
    if not record_ids:
        return ()
    query = InboundMail.select(InboundMail.mailbox).where(InboundMail.id.in_(list(record_ids)))
    return tuple(sorted({mailbox_id for (mailbox_id,) in query.tuples()}))
