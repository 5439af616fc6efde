"""Widgets of the TUI that screens share."""
