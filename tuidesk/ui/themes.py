"""Theme files: small TOML files that map onto Textual's ``Theme``.

tuidesk ships a few in the top-level ``themes/`` folder; users add their own in their themes
folder (``Paths.user_themes``), where a file with the same theme name replaces a shipped one.
A file that cannot be used is skipped with a sentence naming the file, the key and the fix, so one
typo never keeps the app from starting.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.color import Color, ColorParseError
from textual.theme import Theme

from tuidesk.core.context import AppContext
from tuidesk.core.errors import ConfigError
from tuidesk.core.paths import bundled_themes_dir
from tuidesk.core.settings import DEFAULT_THEME

COLOUR_FIELDS = (
    "primary",
    "secondary",
    "accent",
    "background",
    "surface",
    "panel",
    "boost",
    "warning",
    "error",
    "success",
    "foreground",
)
_OTHER_FIELDS: dict[str, type] = {
    "name": str,
    "dark": bool,
    "ansi": bool,
    "luminosity_spread": float,
    "text_alpha": float,
    "variables": dict,
}
_TYPE_NAMES = {str: "a string in quotes", bool: "true or false", float: "a number", dict: "a table"}


def load_theme_file(path: Path) -> Theme:
    """The theme described by ``path``; raise ConfigError naming the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the theme file {path} is not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the theme file {path} cannot be read ({exc})") from None
    values: dict[str, Any] = {}
    for key, value in data.items():
        expected = str if key in COLOUR_FIELDS else _OTHER_FIELDS.get(key)
        if expected is None:
            allowed = ", ".join([*_OTHER_FIELDS, *COLOUR_FIELDS])
            raise ConfigError(
                f"{path}: unknown key '{key}'", hint=f"the keys allowed are {allowed}"
            )
        if expected is float and type(value) is int:
            value = float(value)
        if type(value) is not expected:
            raise ConfigError(f"{path}: {key} = {value!r} is not {_TYPE_NAMES[expected]}")
        if key in COLOUR_FIELDS:
            _check_colour(path, key, value)
        values[key] = value
    for required in ("name", "primary"):
        if not values.get(required):
            raise ConfigError(f"{path}: the key '{required}' is missing")
    variables = values.get("variables", {})
    for key, value in variables.items():
        if not isinstance(value, str):
            raise ConfigError(f"{path}: [variables] {key} = {value!r} is not a string in quotes")
    return Theme(**values)


def _check_colour(path: Path, key: str, value: str) -> None:
    try:
        Color.parse(value)
    except ColorParseError:
        raise ConfigError(
            f"{path}: {key} = {value!r} is not a colour",
            hint='write it as "#RRGGBB", a colour name such as "teal", or "ansi_blue"',
        ) from None


def discover_themes(folders: Iterable[Path]) -> tuple[list[Theme], list[str]]:
    """Every ``*.toml`` theme in ``folders`` (later folders win by name), and the problems."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ConfigError as exc:
                problems.append(f"{exc.sentence}; the theme was skipped")
                continue
            themes[theme.name] = theme
    return list(themes.values()), problems


def install_themes(app: App[Any], context: AppContext) -> list[str]:
    """Register the shipped and the user's themes on ``app`` and apply the one in the settings.

    Returns the problems to show the user (skipped files, an unknown theme name).
    """
    themes, problems = discover_themes([bundled_themes_dir(), context.paths.user_themes])
    for theme in themes:
        app.register_theme(theme)
    wanted = context.settings.theme or DEFAULT_THEME
    if wanted in app.available_themes:
        app.theme = wanted
        return problems
    fallback = DEFAULT_THEME if DEFAULT_THEME in app.available_themes else "textual-dark"
    problems.append(
        f"the theme '{wanted}' in {context.settings.source or context.paths.config_file} is not "
        f"installed: using '{fallback}'; pick one with ctrl+p, \"Switch theme\""
    )
    app.theme = fallback
    return problems
