"""Render outgoing mail from templates in a jinja2 sandbox.

Templates are the shipped defaults unless the database holds an override. A template that
does not compile or render against sample data is refused when saved, with its line and the
reason; at send time a broken template raises, so the event stays queued and visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from tuidesk.core.clock import utcnow
from tuidesk.core.errors import TuideskError
from tuidesk.core.notify.defaults import DEFAULTS, TemplateText
from tuidesk.core.store.models import Template

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment


@cache
def _environment(html: bool) -> SandboxedEnvironment:
    """The sandbox templates render in (jinja2 is imported on first use: a poll that sends
    nothing never needs it)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    if html:
        return SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


class TemplateProblem(TuideskError):
    """A template that does not compile or render: which part, which line, why."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str = ""


def template_names() -> list[str]:
    return list(DEFAULTS)


def current(name: str) -> tuple[TemplateText, bool]:
    """The template in force and whether it is an override of the shipped one."""
    if name not in DEFAULTS:
        raise TemplateProblem(
            f"there is no template '{name}'", hint=f"the templates are {', '.join(DEFAULTS)}"
        )
    row = Template.get_or_none(Template.name == name)
    if row is None:
        return DEFAULTS[name], False
    shipped = DEFAULTS[name]
    return TemplateText(
        row.subject, row.body_text, row.body_html, shipped.audience, shipped.description
    ), True


def enabled(name: str) -> bool:
    row = Template.get_or_none(Template.name == name)
    return row is None or row.enabled


def _render_part(
    env: SandboxedEnvironment, source: str, context: dict[str, Any], part: str, name: str
) -> str:
    from jinja2 import TemplateError, TemplateSyntaxError

    try:
        return env.from_string(source).render(**context)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(
            f"template '{name}' {part}, line {exc.lineno}: {exc.message}"
        ) from None
    except TemplateError as exc:  # undefined variables, sandbox refusals
        raise TemplateProblem(f"template '{name}' {part}: {exc}") from None
    except Exception as exc:  # a filter or test raising on odd data
        raise TemplateProblem(f"template '{name}' {part}: {type(exc).__name__}: {exc}") from None


def render_text(name: str, template: TemplateText, context: dict[str, Any]) -> RenderedMail:
    plain = _environment(html=False)
    subject = _render_part(plain, template.subject, context, "subject", name)
    text = _render_part(plain, template.text, context, "text", name)
    html = ""
    if template.html:
        html = _render_part(_environment(html=True), template.html, context, "HTML", name)
    return RenderedMail(" ".join(subject.split()), text, html)


def render(name: str, context: dict[str, Any]) -> RenderedMail:
    template, _ = current(name)
    return render_text(name, template, context)


def sample_context() -> dict[str, Any]:
    """Data that every shipped variable resolves against, for validating an edit."""
    return {
        "ticket": {
            "number": "123456",
            "subject": "Printer on floor 3",
            "status": "open",
            "priority": "normal",
            "dept": "Support",
            "staff": "Dana Agent",
            "create_date": "2026-01-31 09:30",
            "createDate": "2026-01-31 09:30",
            "last_message": "The printer jams.",
            "lastMessage": "The printer jams.",
            "contact": "Alice Customer <alice@customer.example>",
            "client": "Customer Ltd",
            "url": "",
        },
        "recipient": {"name": "Alice Customer", "email": "alice@customer.example"},
        "agent": {"name": "Dana Agent", "email": "dana@example.com"},
        "helpdesk": {"name": "Helpdesk", "address": "support@example.com"},
        "mailbox": {"name": "support", "address": "support@example.com"},
        "url": "",
        "body": "We sent a technician.",
        "body_html": "<p>We sent a technician.</p>",
        "reason": "the sender is unknown",
        "record_id": 42,
        "changed_by": "Dana Agent",
    }


def validate(name: str, subject: str, text: str, html: str = "") -> None:
    """Raise TemplateProblem when the template does not compile or render on sample data."""
    shipped = DEFAULTS.get(name)
    if shipped is None:
        current(name)  # raises the 'no such template' problem
        return
    render_text(name, TemplateText(subject, text, html, shipped.audience), sample_context())


def save(name: str, subject: str, text: str, html: str = "", enabled: bool = True) -> None:
    validate(name, subject, text, html)
    row = Template.get_or_none(Template.name == name)
    if row is None:
        Template.create(name=name, subject=subject, body_text=text, body_html=html, enabled=enabled)
    else:
        Template.update(
            subject=subject, body_text=text, body_html=html, enabled=enabled, updated_at=utcnow()
        ).where(Template.id == row.id).execute()


def reset(name: str) -> bool:
    current(name)
    return Template.delete().where(Template.name == name).execute() > 0
