"""The store: Peewee models on SQLite (default) or PostgreSQL (by URL)."""
