"""TUI benchmark: the queue, a filter and a long thread on a big database.

    .venv/bin/python bench/tui.py [--tickets 100000] [--messages 1000000] [--runs 3]

Builds (once, cached under /tmp; see bench/bigdb.py) a SQLite database of N tickets and M
messages with fast bulk inserts, then starts the TUI in a fresh process, headless at 80×24, and
prints the time from that process's start to a drawn queue, to an applied filter (a department,
on the open tickets), and to an opened thread of 200 messages. Targets (issue 6): queue <= 1.0 s
from process start, filter <= 0.15 s, thread <= 0.3 s. The poll worker is off: this measures
the screens.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bigdb import cached_database  # noqa: E402  (bench/ is on sys.path when run)

# --- one run, in its own process -----------------------------------------------------------


def child(database: str, long_thread: int, started: float) -> None:
    """Start the TUI headless and report three moments as JSON on stdout."""
    import asyncio
    import io

    from rich.console import Console
    from textual._compositor import CompositorUpdate

    from tuidesk.core.context import AppContext
    from tuidesk.core.paths import Paths
    from tuidesk.core.settings import Settings
    from tuidesk.ui.app import TuideskApp
    from tuidesk.ui.screens.queue import QueueScreen
    from tuidesk.ui.screens.thread import ThreadScreen
    from tuidesk.ui.widgets.thread_entry import ThreadEntry

    paths = Paths.resolve()
    context = AppContext(settings=Settings(), paths=paths, database=database)
    db = context.connect()
    app = TuideskApp(context, poll=False)
    marks: dict[str, float] = {}
    frames: list[float] = []
    terminal = Console(
        file=io.StringIO(), width=80, height=24, force_terminal=True, color_system="truecolor"
    )
    display = app._display

    def drawing(screen: Any, renderable: Any) -> None:
        """Headless Textual renders each frame but writes nothing: write it to a string, as a
        terminal would get it, and note when."""
        if renderable is not None and isinstance(renderable, CompositorUpdate):
            terminal.file.write("".join(renderable.render_segments(terminal)))
            frames.append(time.time())
        display(screen, renderable)

    app._display = drawing  # type: ignore[method-assign]

    async def drawn(condition: Any) -> float:
        """When the first frame after ``condition()`` became true was drawn."""
        while not condition():
            await asyncio.sleep(0.0005)
        ready = time.time()
        while not frames or frames[-1] < ready:
            await asyncio.sleep(0.0005)
        return next(frame for frame in frames if frame >= ready)

    async def run() -> None:
        async with app.run_test(size=(80, 24)):
            screen = app.screen
            assert isinstance(screen, QueueScreen)
            shown = await drawn(lambda: screen.rows and not screen._loading)
            marks["queue"] = shown - started
            before, rows = time.time(), screen.rows
            screen.apply_filter(screen.queue_filter.with_changes(status="open", department_id=2))
            shown = await drawn(lambda: screen.rows is not rows and not screen._loading)
            marks["filter"] = shown - before
            assert {r.department for r in screen.rows} == {"Billing"}, "the filter did not apply"
            await app.workers.wait_for_complete()  # the counts of the filter, read after it
            before = time.time()
            thread = ThreadScreen(long_thread)
            app.push_screen(thread)
            shown = await drawn(lambda: thread.view is not None and thread.query(ThreadEntry))
            marks["thread"] = shown - before
            marks["thread_messages"] = len(thread.view.entries) if thread.view else 0

    asyncio.run(run())
    db.close()
    print(json.dumps(marks))


def measure(database: Path, long_thread: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIDESK_")}
    with tempfile.TemporaryDirectory(prefix="tuidesk-bench-home-") as home:
        for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            env[variable] = str(Path(home) / variable.lower())
        started = time.time()
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(database), str(long_thread), repr(started)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"the TUI run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="report the median of this many")
    args = parser.parse_args()
    database, long_thread = cached_database(args.tickets, args.messages)
    measure(database, long_thread)  # a first run warms the page cache
    runs = [measure(database, long_thread) for _ in range(args.runs)]

    def median(key: str) -> float:
        return sorted(run[key] for run in runs)[len(runs) // 2]

    print(f"database: {args.tickets:,} tickets, {args.messages:,} messages ({database})")
    print(f"queue drawn, from process start:  {median('queue'):.3f} s  (target <= 1.0 s)")
    print(f"filter applied:                   {median('filter'):.3f} s  (target <= 0.15 s)")
    print(
        f"thread of {int(median('thread_messages'))} messages opened:     "
        f"{median('thread'):.3f} s  (target <= 0.3 s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
