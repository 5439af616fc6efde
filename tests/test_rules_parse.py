"""Parsing never raises, reads what mail-parser gets wrong with the standard library, and
reports what it could not read as defects."""

from __future__ import annotations

import base64
import os
from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st
from mailgen import mail

from tuidesk.core.ingest.parse import decode_words, parse_mail

PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def raw(*lines: str, body: bytes = b"") -> bytes:
    return "\r\n".join(lines).encode("utf-8") + b"\r\n\r\n" + body


def test_a_7bit_iso_2022_jp_body_is_decoded() -> None:
    body = "すみません。".encode("iso-2022-jp")
    parsed = parse_mail(
        raw(
            "From: a@example.jp",
            "Subject: =?ISO-2022-JP?B?GyRCJF4kXyRgJGEkYhsoQg==?=",
            "Content-Type: text/plain; charset=ISO-2022-JP",
            "Content-Transfer-Encoding: 7bit",
            body=body,
        )
    )
    assert parsed.text.strip() == "すみません。"
    assert parsed.subject == "まみむめも"


def test_binary_attachments_come_back_byte_for_byte() -> None:
    data = os.urandom(3000)
    parsed = parse_mail(mail(attachments=[("dump.bin", "application/octet-stream", data)]))
    [attachment] = parsed.attachments
    assert (attachment.filename, attachment.data) == ("dump.bin", data)


def test_rfc_2231_and_rfc_2047_file_names_are_decoded() -> None:
    message = EmailMessage()
    message["From"] = "a@example.com"
    message.set_content("see attached")
    message.add_attachment(b"x", maintype="text", subtype="plain", filename="Größe – €.txt")
    rfc2231 = parse_mail(message.as_bytes())
    assert rfc2231.attachments[0].filename == "Größe – €.txt"
    rfc2047 = parse_mail(
        raw(
            "From: a@example.com",
            'Content-Type: multipart/mixed; boundary="b"',
            body=(
                b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
                b"Content-Type: application/pdf; "
                b'name="=?UTF-8?B?UmVjaG51bmcgw6Qu?= =?UTF-8?B?cGRm?="\r\n'
                b"Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                b"JVBERg==\r\n--b--\r\n"
            ),
        )
    )
    assert rfc2047.attachments[0].filename == "Rechnung ä.pdf"
    assert rfc2047.attachments[0].data == b"%PDF"


def test_raw_8bit_headers_are_read_as_utf8() -> None:
    parsed = parse_mail(
        "From: Jörg Müller <jorg@example.de>\r\nSubject: Café 🎉\r\n\r\nhi\r\n".encode()
    )
    assert (parsed.subject, parsed.from_name, parsed.from_addr) == (
        "Café 🎉",
        "Jörg Müller",
        "jorg@example.de",
    )


def test_an_encoded_display_name_with_a_comma_stays_one_name() -> None:
    parsed = parse_mail(raw("From: =?utf-8?q?Doe=2C_J=C3=B6rg?= <jd@example.com>", body=b"x"))
    assert (parsed.from_name, parsed.from_addr) == ("Doe, Jörg", "jd@example.com")


def test_an_address_without_angle_brackets_after_a_name_is_found() -> None:
    parsed = parse_mail(raw("From: Big Bug bb@bug.com", body=b"x"))
    assert (parsed.from_name, parsed.from_addr) == ("Big Bug", "bb@bug.com")


def test_an_unknown_charset_is_read_with_a_defect() -> None:
    parsed = parse_mail(
        raw(
            "From: a@example.com",
            "Content-Type: text/plain; charset=x-no-such-charset",
            "Content-Transfer-Encoding: 8bit",
            body="Café".encode(),
        )
    )
    assert parsed.text.startswith("Caf")
    assert parsed.defects


def test_latin1_8bit_bodies_and_backslashes_survive() -> None:
    parsed = parse_mail(
        raw(
            "From: a@example.com",
            "Content-Type: text/plain; charset=iso-8859-1",
            "Content-Transfer-Encoding: 8bit",
            body="Der Ordner C:\\Users\\jörg ist voll.".encode("latin-1"),
        )
    )
    assert parsed.text.strip() == "Der Ordner C:\\Users\\jörg ist voll."


def test_missing_headers_and_a_broken_date_give_empty_values() -> None:
    parsed = parse_mail(b"Date: yesterday-ish\r\n\r\njust a body\r\n")
    assert (parsed.from_addr, parsed.subject, parsed.message_id, parsed.date) == ("", "", "", None)
    assert parsed.text.strip() == "just a body"


def test_broken_mime_keeps_what_can_be_read() -> None:
    parsed = parse_mail(
        raw(
            "From: a@example.com",
            'Content-Type: multipart/mixed; boundary="never-closed"',
            body=b"--never-closed\r\nContent-Type: text/plain\r\n\r\nstill here\r\n",
        )
    )
    assert "still here" in parsed.text


def test_an_inline_cid_image_is_kept_as_inline_with_its_content_id() -> None:
    message = EmailMessage()
    message["From"] = "a@example.com"
    message.set_content("text")
    message.add_alternative('<p>logo: <img src="cid:logo@x"></p>', subtype="html")
    message.get_payload()[1].add_related(PNG_1x1, "image", "png", cid="<logo@x>")
    [image] = parse_mail(message.as_bytes()).attachments
    assert (image.inline, image.content_id, image.data) == (True, "logo@x", PNG_1x1)


def test_a_nameless_inline_part_takes_its_content_location_name() -> None:
    parsed = parse_mail(
        raw(
            "From: a@example.com",
            'Content-Type: multipart/related; boundary="b"',
            body=(
                b"--b\r\nContent-Type: text/html\r\n\r\n<img src=cid:p1>\r\n--b\r\n"
                b"Content-Type: image/png\r\nContent-ID: <p1>\r\nContent-Location: "
                b"http://x.example/img/photo25.png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                + base64.b64encode(PNG_1x1)
                + b"\r\n--b--\r\n"
            ),
        )
    )
    assert parsed.attachments[0].filename == "photo25.png"


def test_an_attached_mail_becomes_an_eml_attachment() -> None:
    inner = mail(subject="the original")
    outer = EmailMessage()
    outer["From"] = "a@example.com"
    outer.set_content("forwarding this")
    outer.add_attachment(inner, maintype="message", subtype="rfc822", filename="orig.eml")
    attachment = next(
        a for a in parse_mail(outer.as_bytes()).attachments if a.filename == "orig.eml"
    )
    assert attachment.content_type == "message/rfc822"
    assert b"the original" in attachment.data


def test_html_is_rendered_once_while_parsing() -> None:
    parsed = parse_mail(mail(html="<p>Hello <a href='https://x.example/a'>there</a></p>"))
    assert parsed.html_text == "Hello there (https://x.example/a)"


def test_decode_words_survives_unknown_charsets() -> None:
    assert decode_words("=?NONE?B?VEVTVA=?=") == "TEST"
    assert decode_words("Hello =?utf-8?q?W=C3=B6rld?= !") == "Hello Wörld !"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_parsing_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    parse_mail(data)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_parsing_never_raises_on_arbitrary_headers_and_bodies(header: str, body: str) -> None:
    parse_mail(
        f"From: {header}\r\nSubject: {header}\r\n\r\n{body}".encode("utf-8", "surrogatepass")
    )
