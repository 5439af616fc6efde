"""The shipped templates (004's triggers, 000's closed-ticket answer, 003's error forward).

Each is (subject, plain text, HTML or ""). Variables: ``ticket.number``, ``ticket.subject``,
``ticket.status``, ``ticket.priority``, ``ticket.dept``, ``ticket.staff``,
``ticket.create_date``, ``ticket.last_message``, ``recipient.name``, ``url``; some templates
add ``body``, ``agent``, ``reason``, ``changed_by``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TemplateText:
    subject: str
    text: str
    html: str = ""
    audience: str = "customer"  # customer or staff
    description: str = ""


_GREETING = "Hello {{ recipient.name or 'there' }},\n\n"
_FOOTER = "\n\n-- \n{{ helpdesk.name }}{% if url %}\n{{ url }}{% endif %}\n"

DEFAULTS: dict[str, TemplateText] = {
    "new_ticket_autoresponse": TemplateText(
        "{{ ticket.subject }}",
        _GREETING + "we have received your request and opened ticket #{{ ticket.number }}.\n"
        "We will answer as soon as we can. To add anything, reply to this mail and keep the\n"
        "ticket number in the subject." + _FOOTER,
        "<p>Hello {{ recipient.name or 'there' }},</p><p>we have received your request and "
        "opened ticket <b>#{{ ticket.number }}</b>.</p><p>We will answer as soon as we can. To "
        "add anything, reply to this mail and keep the ticket number in the subject.</p>"
        '<p>-- <br>{{ helpdesk.name }}{% if url %}<br><a href="{{ url }}">{{ url }}</a>'
        "{% endif %}</p>",
        description="to the customer when mail opens a ticket",
    ),
    "new_ticket_alert": TemplateText(
        "New ticket: {{ ticket.subject }}",
        "A new ticket #{{ ticket.number }} arrived from {{ ticket.contact }}"
        "{% if ticket.dept %} for {{ ticket.dept }}{% endif %} "
        "(priority {{ ticket.priority }}).\n\n{{ ticket.last_message }}\n",
        audience="staff",
        description="to the alert recipients when a ticket is opened",
    ),
    "new_message_alert": TemplateText(
        "New message on: {{ ticket.subject }}",
        "{{ ticket.contact }} wrote on ticket #{{ ticket.number }}:\n\n{{ ticket.last_message }}\n",
        audience="staff",
        description="to the assignee (or the alert recipients) when a customer replies",
    ),
    "reply": TemplateText(
        "{{ ticket.subject }}",
        "{{ body }}\n\n-- \n{{ agent.name }}, {{ helpdesk.name }}\n"
        "Ticket #{{ ticket.number }}{% if url %}: {{ url }}{% endif %}\n",
        "{{ body_html }}<p>-- <br>{{ agent.name }}, {{ helpdesk.name }}<br>Ticket "
        '#{{ ticket.number }}{% if url %}: <a href="{{ url }}">{{ url }}</a>{% endif %}</p>',
        description="wraps an agent's reply",
    ),
    "assignment_alert": TemplateText(
        "Assigned to you: {{ ticket.subject }}",
        "{{ changed_by }} assigned ticket #{{ ticket.number }} to you.\n\n"
        "{{ ticket.last_message }}\n",
        audience="staff",
        description="to an agent a ticket is assigned to",
    ),
    "transfer_alert": TemplateText(
        "Transferred to {{ ticket.dept }}: {{ ticket.subject }}",
        "{{ changed_by }} transferred ticket #{{ ticket.number }} to {{ ticket.dept }}.\n",
        audience="staff",
        description="to the alert recipients when a ticket changes department",
    ),
    "overdue_alert": TemplateText(
        "Overdue: {{ ticket.subject }}",
        "Ticket #{{ ticket.number }} ({{ ticket.priority }}) is overdue.\n",
        audience="staff",
        description="to the assignee when a ticket is overdue",
    ),
    "ticket_closed": TemplateText(
        "{{ ticket.subject }}",
        _GREETING
        + "ticket #{{ ticket.number }} is now closed. If something is still not right, reply\n"
        "to this mail and we will look at it again." + _FOOTER,
        description="to the customer when an agent closes the ticket",
    ),
    "closed_ticket_autoresponse": TemplateText(
        "{{ ticket.subject }}",
        _GREETING
        + "ticket #{{ ticket.number }} is closed, so your message was not added to it. An\n"
        "agent will look at your message; to raise something new, write without the ticket\n"
        "number in the subject." + _FOOTER,
        description="to the sender of a reply to a closed ticket, when such replies are held",
    ),
    "error_forward": TemplateText(
        "tuidesk could not process a mail to {{ mailbox.name }}",
        "The attached mail to mailbox '{{ mailbox.name }}' could not be processed.\n\n"
        "Reason: {{ reason }}\n\nIt is kept as record {{ record_id }}; retry it with\n"
        "`tuidesk retry {{ record_id }}` once the cause is fixed.\n",
        audience="staff",
        description="to the mailbox's error address, with the original mail attached",
    ),
}
