"""AssignScreen: dispatch a ticket — handler 处理人, owner 负责人 and department."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select

from agent_console.i18n import label, t
from agent_console.models.read import AgentInfo
from agent_console.screens.context import ReportsWorkerErrors
from agent_console.screens.form_buttons import SaveCancelButtons
from agent_console.text import clean_line
from agent_console.widgets.localized import localize_bindings


@dataclass(frozen=True)
class AssignChoice:
    handler: str | None
    owner: str | None
    department: str | None


class AssignScreen(ReportsWorkerErrors, SaveCancelButtons,
                   ModalScreen[AssignChoice | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("ctrl+s", "save", "Save", id="save"),
    ]

    def __init__(self, number: str, departments: list[tuple[str, str]], *,
                 load_agents: Callable[[], list[AgentInfo]]) -> None:
        """`departments` are (code, name); `load_agents` is called from a worker."""
        super().__init__()
        self.number, self.departments, self.load = number, departments, load_agents
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(t("assign.title", number=self.number), id="dialog-title")
            yield Label(t("assign.handler"))
            yield Select[str]([], id="assign-handler", prompt=t("assign.unchanged"))
            yield Label(t("assign.owner"))
            yield Select[str]([], id="assign-owner", prompt=t("assign.unchanged"))
            yield Label(t("assign.department"))
            yield Select[str]([(Content(name), code) for code, name in self.departments],
                              id="assign-department", prompt=t("assign.unchanged"))
            with Horizontal(id="dialog-buttons"):
                yield Button(t("dialog.save"), variant="primary", id="save")
                yield Button(t("dialog.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.load_agents()

    @work(thread=True, exclusive=True, exit_on_error=False, group="assign-loader")
    def load_agents(self) -> None:
        self.app.call_from_thread(self._fill, self.load())

    def _fill(self, agents: list[AgentInfo]) -> None:
        options = [(Content(f"{clean_line(a.name)} ({clean_line(a.code)} · {label('role', a.role)})"),
                    a.code) for a in agents]
        self.query_one("#assign-handler", Select).set_options(options)
        self.query_one("#assign-owner", Select).set_options(options)
        self.query_one("#assign-handler", Select).focus()

    @staticmethod
    def _value(select: Select[str]) -> str | None:
        return None if select.is_blank() else str(select.value)

    def action_save(self) -> None:
        choice = AssignChoice(self._value(self.query_one("#assign-handler", Select)),
                              self._value(self.query_one("#assign-owner", Select)),
                              self._value(self.query_one("#assign-department", Select)))
        self.dismiss(choice if any((choice.handler, choice.owner, choice.department)) else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
