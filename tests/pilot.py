"""Helpers for Pilot tests: read the footer, F1 help and the palette."""

from __future__ import annotations

from .conftest import wait_until


def footer_text(app) -> str:
    from textual.widgets import Footer

    footer = app.screen.query_one(Footer)
    return " ".join(f"{key.key_display or key.key} {key.description}"
                    for key in footer.query("FooterKey"))


async def help_text(app, pilot) -> str:
    """Open F1 help over the current screen, read it and close it again."""
    from agent_console.screens.help_screen import HelpScreen

    await pilot.press("f1")
    await wait_until(lambda: isinstance(app.screen, HelpScreen))
    text = str(app.screen.query_one("#help-keys Static").render())
    await pilot.press("escape")
    await wait_until(lambda: not isinstance(app.screen, HelpScreen))
    return text


async def palette_entries(app, pilot) -> list[str]:
    """Open the command palette (Ctrl+P), list what it offers and close it again."""
    from textual.command import CommandList, CommandPalette

    await pilot.press("ctrl+p")
    await wait_until(lambda: isinstance(app.screen, CommandPalette)
                     and app.screen.query_one(CommandList).option_count > 0)
    await app.workers.wait_for_complete()
    await pilot.pause()
    options = app.screen.query_one(CommandList)
    entries = [str(getattr(options.get_option_at_index(i).prompt, "plain",
                           options.get_option_at_index(i).prompt))
               for i in range(options.option_count)]
    await pilot.press("escape")
    await wait_until(lambda: not isinstance(app.screen, CommandPalette))
    return entries
