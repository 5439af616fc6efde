"""Ingest: parse -> classify -> match -> route -> apply, one stored mail at a time."""
