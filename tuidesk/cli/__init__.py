"""The ``tuidesk`` command.

Imports stay light on purpose: ``tuidesk --poll-once`` must not load Textual or msal, and an
idle poll should finish in a fraction of a second. Commands import what they need when run.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from tuidesk.cli.parser import build_parser
from tuidesk.core.errors import ConfigError, TuideskError
from tuidesk.core.redact import redact

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from tuidesk.cli.dispatch import run

        return run(args, parser)
    except TuideskError as exc:
        _print_error(redact(exc.sentence), args)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tuidesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader (head, less) went away: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last line of defence: one sentence, never a traceback
        _print_error(
            f"unexpected {type(exc).__name__}: {redact(str(exc))} "
            "(run again with --debug for the traceback, and please report it)",
            args,
        )
        return EXIT_FAILED


def _print_error(sentence: str, args) -> None:
    print(f"tuidesk: error: {sentence}", file=sys.stderr)
    if getattr(args, "debug", False) or os.environ.get("TUIDESK_DEBUG"):
        print(redact(traceback.format_exc()), file=sys.stderr)


__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "ConfigError", "main"]
