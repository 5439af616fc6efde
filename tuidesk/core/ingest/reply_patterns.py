"""The patterns that find where a reply's quoted part begins, and how a person writes them.

A mailbox's ``intro_patterns`` and ``delimiter_patterns`` hold one pattern per line, written
as in 003's configuration: either a plain Python regular expression, or PCRE style between
delimiters with flags (``/^on .+ wrote:$/i``, ``|^[0-9]{4}/.+:$|``), where ``\\R`` means a line
break. So 003's documented lists can be pasted unchanged. An empty setting means the shipped
defaults below; a line ``@defaults`` includes them next to a mailbox's own patterns.

- Introductory patterns match one line (``^`` and ``$`` are line boundaries) that introduces
  the quoted mail: "On … wrote:". The text from that line on is the old part.
- Delimiter patterns match anywhere, over several lines (Outlook's "From: …/Sent: …" block,
  "-----Original Message-----"); the text from the start of the match on is the old part.

The defaults cover 003's lists plus Gmail, Outlook (desktop, web, mobile), Apple Mail,
Thunderbird and Yahoo in English, French, German, Spanish, Italian, Dutch and Portuguese.
Every ``.+`` is bounded to one line, so no pattern backtracks across the whole text.
"""

from __future__ import annotations

import re

DEFAULTS_TOKEN = "@defaults"

_INTRO_WORDS = r"on|le|am|el|il(?: giorno)?|op|em|en"
_INTRO_VERBS = (
    r"wrote|writes|a écrit|schrieb|hat geschrieben|escribió|ha scritto|schreef|"
    r"het volgende geschreven|escreveu"
)
DEFAULT_INTRO_PATTERNS: tuple[str, ...] = (
    # 003's list
    "/^le .+ a écrit :$/i",
    "/^on .+ wrote:$/i",
    "|^[0-9]{4}/[0-9]{1,2}/[0-9]{1,2} .+:$|",
    # Gmail, Apple Mail, Thunderbird, Yahoo: "On <date>, <who> wrote:" and its translations
    # ("Am … schrieb …:", "Op … schreef …:", "Il giorno … ha scritto:"), which clients wrap
    # over up to three lines.
    rf"/^(?:{_INTRO_WORDS})\b[^\n]{{0,300}}?(?:\n[^\n]{{0,300}}?){{0,2}}?"
    rf"\b(?:{_INTRO_VERBS})\b[^\n]{{0,300}}:[ \t]*$/i",
    # Gmail in Chinese and Japanese: "2014年1月9日 2:47 George <g@example.com>:"
    r"/^[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日[^\n]{0,300}:[ \t]*$/",
)

_FROM = r"From|De|Von|Da|Van|Expéditeur|Remetente|Absender|Mittente|Afzender"
_SENT = (
    r"Sent|Date|Envoyé|Date d'envoi|Gesendet|Datum|Enviado|Enviada|Fecha|Inviato|Data|"
    r"Verzonden|Verstuurd"
)
_ORIGINAL = (
    r"Original Message|Message d'origine|Message original|Ursprüngliche Nachricht|"
    r"Originalnachricht|Mensaje original|Messaggio originale|Oorspronkelijk bericht|"
    r"Origineel bericht|Mensagem original"
)
DEFAULT_DELIMITER_PATTERNS: tuple[str, ...] = (
    # 003's list (its last entry, written "\TO:", is read as the line break it means)
    r"/\RFrom: .+\RSent: .+\R/m",
    r"/\R_+\R/m",
    r"/\RDe : .+\R\R?Envoyé : /m",
    r"/\RDe : .+\RDate d'envoi : .+\R/m",
    r"/\R-----Message d'origine-----\R/m",
    r"/\RExpéditeur: .+\RDate:/m",
    r"/\RDe : .+\RDate : /m",
    r"/\RTO:.+\RCC:/m",
    # Outlook desktop, web and mobile, Apple Mail: the quoted mail's header block, in the
    # seven languages, also in bold (*From:*) as Gmail renders Outlook mail as text.
    rf"/\R[ \t]*\*?(?:{_FROM})\*?[ \t\u00a0]*:\*?[ \t][^\n]+\R(?:[ \t]*\R)?[ \t]*"
    rf"\*?(?:{_SENT})(?: (?:el|em|le|am|op|il))?\*?[ \t\u00a0]*:/i",
    # Outlook's "-----Original Message-----", Thunderbird's "-------- Original Message --------"
    rf"/\R[ \t]*-{{2,}}[ \t]*(?:{_ORIGINAL})[ \t]*-{{2,}}[ \t]*\R/i",
    # a rule of dashes right above a quoted header block (Gmail's view of an Outlook reply)
    rf"/\R[ \t]*-{{5,}}[ \t]*\R(?:[ \t]*\R)*[ \t]*\*?(?:{_FROM})\*?[ \t]*:/i",
)

# Signatures are not per mailbox: these are conventions of clients, not of a help desk.
# Each matches a whole line of a text that starts with a line break (see compile_reply_pattern).
SIGNATURE_SEPARATOR = re.compile(r"\n--[ \t]?(?=\n|\Z)")  # RFC 3676's "-- ", often "--"
MOBILE_SIGNATURE = re.compile(
    r"\n[ \t]*(?:"
    r"(?:sent from|sent with|envoyé (?:de|depuis|avec)|enviado (?:desde|de|do|com|con)|"
    r"inviato (?:da|dal|con)|verzonden (?:vanaf|met|van)|verstuurd (?:vanaf|met)|"
    r"gesendet (?:von|mit|vom))"
    r"(?: (?:my|mon|ma|mi|meu|minha|meinem|meiner|mijn|il mio|mio))?"
    r"(?: [\w.+'()&-]+){1,4}"
    r"|von meinem(?: [\w.+'()&-]+){1,3} gesendet"
    r"|(?:get|download|télécharger|obtenez|holen sie sich|obtener|descargar|scarica|"
    r"obter|baixar|download) outlook (?:for|pour|für|para|per|voor)(?: [\w.+'()-]+){1,2}"
    r"(?: ?<[^>\n]*>)?"
    r"|outlook (?:für|voor)(?: [\w.+'()-]+){1,2} (?:beziehen|downloaden)(?: ?<[^>\n]*>)?"
    r")[ \t]*\.?[ \t]*(?=\n|\Z)",
    re.IGNORECASE,
)
# "-Abhishek", "--Jane Doe" closing a mail: a dash glued to a name (a list item has a space)
SIGN_OFF = re.compile(r"^--?[^\W\d_][\w.'-]*(?: [\w.'-]+){0,3}$")


def pcre_to_python(text: str) -> tuple[str, int]:
    """A pattern as written in 003's configuration -> (Python source, flags)."""
    text = text.strip()
    flags = 0
    if len(text) >= 2 and text[0] in "/|#~":
        end = text.rfind(text[0])
        tail = text[end + 1 :]
        if end > 0 and re.fullmatch(r"[imsxuU]*", tail):
            text = text[1:end]
            for letter in tail:
                flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}.get(letter, 0)
    # PCRE's \R (any line break): the text is normalised to \n before matching
    text = re.sub(r"(?<!\\)((?:\\\\)*)\\R", r"\1\\n", text)
    return text, flags


def compile_reply_pattern(text: str, line_start: bool = False) -> re.Pattern[str]:
    """Compile one configured pattern; raises ``re.error`` when it is not valid.

    With ``line_start``, a leading ``^`` becomes a literal line break: the text searched
    starts with one, so the meaning is the same, and the search jumps from line break to
    line break instead of trying every character (15 times faster on long mail).
    """
    source, flags = pcre_to_python(text)
    if line_start and source.startswith("^"):
        source = "\\n" + source[1:]
    return re.compile(source, flags | re.MULTILINE)


def pattern_problem(text: str) -> str:
    """Why ``text`` is not a usable reply pattern ("" when it is): for settings validation."""
    if text.strip() == DEFAULTS_TOKEN:
        return ""
    try:
        compile_reply_pattern(text)
    except re.error as exc:
        return f"'{text.strip()}' is not a valid regular expression ({exc.msg})"
    return ""


def expand(lines: tuple[str, ...], defaults: tuple[str, ...]) -> tuple[str, ...]:
    """A mailbox's pattern lines with the shipped defaults where asked for (or when empty)."""
    if not lines:
        return defaults
    out: list[str] = []
    for line in lines:
        out.extend(defaults if line == DEFAULTS_TOKEN else (line,))
    return tuple(out)
