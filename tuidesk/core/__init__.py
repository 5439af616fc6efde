"""The headless core of tuidesk. Nothing in here imports Textual, ever."""
