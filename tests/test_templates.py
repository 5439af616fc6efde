"""Templates: shipped defaults render, edits are validated with line and reason, the sandbox
refuses escapes, HTML is escaped, overrides reset to the shipped text."""

from __future__ import annotations

import pytest

from tuidesk.core.notify import templates
from tuidesk.core.notify.defaults import DEFAULTS
from tuidesk.core.notify.templates import TemplateProblem, sample_context


@pytest.mark.parametrize("name", list(DEFAULTS))
def test_every_shipped_template_renders_with_the_documented_variables(name: str) -> None:
    rendered = templates.render_text(name, DEFAULTS[name], sample_context())
    assert rendered.subject and rendered.text.strip()


def test_the_shipped_set_covers_every_trigger() -> None:
    assert set(DEFAULTS) == {
        "new_ticket_autoresponse",
        "new_ticket_alert",
        "new_message_alert",
        "reply",
        "assignment_alert",
        "transfer_alert",
        "overdue_alert",
        "ticket_closed",
        "closed_ticket_autoresponse",
        "error_forward",
    }


def test_osticket_style_variable_names_work_too(db) -> None:
    templates.save(
        "reply",
        "{{ ticket.subject }}",
        "{{ ticket.createDate }} {{ ticket.lastMessage }} {{ body }}",
    )
    rendered = templates.render("reply", sample_context())
    assert rendered.text == "2026-01-31 09:30 The printer jams. We sent a technician."


def test_a_syntax_error_is_refused_with_its_line(db) -> None:
    with pytest.raises(TemplateProblem, match=r"template 'reply' text, line 2: .*"):
        templates.save("reply", "Re", "Hello\n{% if %}\n")
    assert templates.current("reply")[1] is False


def test_an_unknown_variable_is_refused_when_saved(db) -> None:
    with pytest.raises(TemplateProblem, match="tikcet"):
        templates.save("reply", "Re", "{{ tikcet.number }}")


@pytest.mark.parametrize(
    "escape",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ body.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    ],
)
def test_sandbox_escapes_are_refused(db, escape: str) -> None:
    with pytest.raises(TemplateProblem):
        templates.save("reply", "Re", escape)


def test_html_parts_escape_mail_content() -> None:
    context = sample_context()
    context["ticket"]["subject"] = "<script>alert(1)</script>"
    rendered = templates.render_text(
        "x", templates.TemplateText("s", "t", "<p>{{ ticket.subject }}</p>"), context
    )
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html


def test_an_override_is_used_until_it_is_reset(db) -> None:
    templates.save("ticket_closed", "Closed: {{ ticket.subject }}", "Bye {{ recipient.name }}")
    assert templates.render("ticket_closed", sample_context()).subject == (
        "Closed: Printer on floor 3"
    )
    assert templates.reset("ticket_closed")
    assert templates.current("ticket_closed") == (DEFAULTS["ticket_closed"], False)


def test_a_template_can_be_switched_off(db) -> None:
    template = DEFAULTS["new_ticket_alert"]
    templates.save("new_ticket_alert", template.subject, template.text, enabled=False)
    assert not templates.enabled("new_ticket_alert")


def test_an_unknown_template_name_lists_the_real_ones(db) -> None:
    with pytest.raises(TemplateProblem, match="new_ticket_autoresponse"):
        templates.current("welcome")
