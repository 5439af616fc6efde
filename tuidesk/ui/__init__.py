"""The Textual user interface. Screens are thin: they call tuidesk.core and render results.

Import :func:`tuidesk.ui.app.run_tui` to start it; nothing in ``tuidesk.core`` imports this
package, so ``tuidesk --poll-once`` never loads Textual.
"""
