"""Outgoing mail: templates, composition, the outbox, and the events that fill it."""
