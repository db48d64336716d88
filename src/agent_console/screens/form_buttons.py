"""SaveCancelButtons: the #save and #cancel buttons of a form run its save and cancel actions."""

from __future__ import annotations

from textual.widgets import Button


class SaveCancelButtons:
    """Mixin for screens with `action_save` and `action_cancel`: a click does what the key does."""

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in ("save", "cancel"):
            event.stop()
            getattr(self, f"action_{event.button.id}")()
