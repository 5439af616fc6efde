"""HTML mail reads as text the way a mail client's plain-text view shows it (003's 2.6.12:
links kept), and a quoted HTML reply is cut like a quoted text one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuidesk.core.ingest.body import body_text, preferred_text
from tuidesk.core.ingest.html_text import html_to_text
from tuidesk.core.ingest.parse import ParsedMail

CASES = [
    ("paragraphs", "<p>Hello,</p><p>the printer jams.</p>", "Hello,\n\nthe printer jams."),
    ("line breaks", "one<br>two<br/>three", "one\ntwo\nthree"),
    ("collapsed whitespace", "<p>a \n\t  b</p>", "a b"),
    (
        "a link with a label",
        '<a href="https://x.example/kb/1">the article</a>',
        "the article (https://x.example/kb/1)",
    ),
    (
        "a link that is its label",
        '<a href="https://x.example/">https://x.example</a>',
        "https://x.example",
    ),
    ("a link without a label", '<a href="https://x.example/a"></a>', "https://x.example/a"),
    (
        "a mailto link",
        '<a href="mailto:help@example.com">write us</a>',
        "write us (help@example.com)",
    ),
    ("an anchor link", '<a href="#top">top</a>', "top"),
    ("a bulleted list", "<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
    ("a numbered list", "<ol><li>one</li><li>two</li></ol>", "1. one\n2. two"),
    ("a nested list", "<ul><li>a<ul><li>b</li></ul></li></ul>", "- a\n  - b"),
    (
        "a quote",
        "<p>Yes.</p><blockquote><p>Is it fixed?</p></blockquote>",
        "Yes.\n\n> Is it fixed?",
    ),
    ("a quote in a quote", "<blockquote>a<blockquote>b</blockquote></blockquote>", "> a\n>\n> > b"),
    ("preformatted text", "<pre>a  b\n  c</pre>", "a  b\n  c"),
    (
        "a table",
        "<table><tr><td>x</td><td>y</td></tr><tr><td>1</td><td>2</td></tr></table>",
        "x | y\n1 | 2",
    ),
    ("an image with alt text", '<img src="cid:logo" alt="ACME logo">', "[image: ACME logo]"),
    ("an image without alt text", '<p>hi<img src="https://t.example/p.gif"></p>', "hi"),
    ("entities", "<p>caf&eacute; &amp; &lt;tea&gt;&nbsp;!</p>", "café & <tea> !"),
    (
        "scripts, styles and comments",
        "<style>p{}</style><script>x()</script><!--[if mso]>no<![endif]--><p>ok</p>",
        "ok",
    ),
    ("broken markup", "<p>broken <b>markup<p>next", "broken markup\n\nnext"),
    ("a backslash", "<p>C:\\Users\\alice</p>", "C:\\Users\\alice"),
]


@pytest.mark.parametrize(("name", "markup", "text"), CASES, ids=[c[0] for c in CASES])
def test_html_is_rendered_as_readable_text(name: str, markup: str, text: str) -> None:
    assert html_to_text(markup) == text


def test_a_gmail_html_reply_keeps_only_the_new_part() -> None:
    markup = (
        '<div dir="ltr">It works now, thanks!</div><br><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">On Mon, Jan 6, 2025 at 10:02 AM Support &lt;'
        'support@example.com&gt; wrote:<br></div><blockquote class="gmail_quote">'
        "<div>Did it help?</div></blockquote></div>"
    )
    assert body_text(ParsedMail(html=markup)).new_part == "It works now, thanks!"


def test_an_apple_mail_html_reply_keeps_only_the_new_part() -> None:
    markup = (
        '<div>It works now.</div><div><br><blockquote type="cite"><div>On 6 Jan 2025, at '
        "10:02, Support &lt;support@example.com&gt; wrote:</div><div>Did it help?</div>"
        "</blockquote></div>"
    )
    assert body_text(ParsedMail(html=markup)).new_part == "It works now."


def test_an_outlook_html_reply_keeps_only_the_new_part() -> None:
    markup = (
        '<div class="WordSection1"><p class="MsoNormal">It works now.<o:p></o:p></p>'
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt"><p class="MsoNormal">'
        "<b>From:</b> Support &lt;support@example.com&gt;<br><b>Sent:</b> Monday, January 6,"
        " 2025 10:02 AM<br><b>To:</b> Alice<br><b>Subject:</b> RE: Printer</p></div>"
        '<p class="MsoNormal">Did it help?</p></div>'
    )
    assert body_text(ParsedMail(html=markup)).new_part == "It works now."


def test_html_is_preferred_by_default_and_plain_text_when_the_order_says_so() -> None:
    mail = ParsedMail(text="plain version", html="<p>html version</p>")
    assert preferred_text(mail) == "html version"
    assert preferred_text(mail, ("text/plain", "text/html")) == "plain version"


def test_the_other_part_is_used_when_the_preferred_one_is_empty() -> None:
    assert preferred_text(ParsedMail(text="only text"), ("text/html",)) == "only text"
    assert preferred_text(ParsedMail(html="<p>only html</p>"), ("text/plain",)) == "only html"


def test_the_full_text_keeps_what_the_new_part_drops() -> None:
    body = body_text(ParsedMail(text="Yes.\n\nOn Mon, A <a@x.io> wrote:\n> question"))
    assert body.new_part == "Yes."
    assert body.full_text == "Yes.\n\nOn Mon, A <a@x.io> wrote:\n> question"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="<>/=\"' abcdpli&;#x0123\n", max_size=300))
def test_any_markup_renders_without_raising(markup: str) -> None:
    assert isinstance(html_to_text(markup), str)
