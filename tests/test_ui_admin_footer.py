"""The footer names the keys of every mode (F2–F7) on every mode's screen, within 80 columns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import wait_until

from tuidesk.ui.app import MODE_KEYS, TuideskApp

pytest_plugins = ["ui_fixtures"]

SIZE = (80, 24)
MakeApp = Callable[..., TuideskApp]


def footer_line(app: TuideskApp) -> str:
    return app.screen._compositor.render_strips()[-1].text


@pytest.mark.parametrize("mode", list(MODE_KEYS))
async def test_every_other_mode_key_is_in_the_footer_and_it_fits(
    demo_database: Path, make_app: MakeApp, settle: Any, mode: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(MODE_KEYS[mode])
        await wait_until(pilot, lambda: app.current_mode == mode)
        await settle(pilot)
        await pilot.pause(0.3)
        line = footer_line(app)
        others = " ".join(key for other, key in MODE_KEYS.items() if other != mode)
        assert f"{others} Modes" in line, line  # whole, not cut at the 80th column
        assert MODE_KEYS[mode] not in line.split()  # the mode on show is left out
