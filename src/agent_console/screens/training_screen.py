"""TrainingScreen (F8): practise a scenario, take an assigned one, see one's results; a trainer's
group view with progress and the runs going on now, to watch; supervisors read results.

Starting a run makes its sandbox store (the scenario's customer, plan and earlier tickets, the
trainee as its only agent, the knowledge base copied in) in a worker, then opens the run screen.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from agent_console.formatting import local_time
from agent_console.i18n import current_language, t
from agent_console.screens.context import ContextScreen, ScreenContext
from agent_console.screens.training_common import banner
from agent_console.services.permissions import RUN_REPORTS, RUN_TRAINING
from agent_console.services.training import runs


def _score(summary: runs.RunSummary) -> str:
    if summary.state != "finished" or summary.score is None:
        return t(f"train.home.{summary.state}")  # running or abandoned
    verdict = t("train.result.passed") if summary.passed else t("train.result.failed")
    if summary.auto_fail:
        verdict += " " + t("train.home.auto_fail")
    return f"{summary.score:.0f} {verdict}"


def _title(scenario_id: str, lang: str) -> str:
    scenario = runs.library().scenarios.get(scenario_id)
    return scenario.title.get(lang) if scenario else scenario_id


class TrainingScreen(ContextScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("g", "group", "Group", id="train-group"),
    ]

    DEFAULT_CSS = """
    TrainingScreen .train-banner { height: 1; background: $warning; color: $text;
        text-style: bold; padding: 0 1; }
    TrainingScreen #train-home { height: 1fr; }
    TrainingScreen #train-home > Vertical { width: 1fr; }
    TrainingScreen OptionList { height: 1fr; }
    TrainingScreen #train-cert { height: auto; padding: 0 1; }
    """

    class Loaded(Message):
        def __init__(self, assignments: list[runs.Assignment], mine: list[runs.RunSummary],
                     certified: Any) -> None:
            super().__init__()
            self.assignments, self.mine, self.certified = assignments, mine, certified

    class Ready(Message):
        def __init__(self, screen: Any) -> None:
            super().__init__()
            self.screen = screen

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "group":
            return self.ctx.actor.can(RUN_TRAINING) or self.ctx.actor.can(RUN_REPORTS)
        return super().check_action(action, parameters)

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__(ctx)
        self.starting = False

    def compose(self) -> ComposeResult:
        yield Static(Content(banner(t("train.home.title"))), classes="train-banner")
        yield Static(id="train-cert")
        with Horizontal(id="train-home"):
            with Vertical():
                yield Label(t("train.home.scenarios"))
                yield OptionList(id="train-scenarios")
                yield Label(t("train.home.assignments"))
                yield OptionList(id="train-assignments")
            with Vertical():
                yield Label(t("train.home.results"))
                yield OptionList(id="train-results")
        yield Footer()

    def on_mount(self) -> None:
        lang = current_language()
        scenarios = self.query_one("#train-scenarios", OptionList)
        for scenario in sorted(runs.library().scenarios.values(),
                               key=lambda s: (s.spec.level, s.id)):
            scenarios.add_option(Option(Content(
                f"{'★' * scenario.spec.level:<3} {scenario.title.get(lang)}"),
                id=f"scenario-{scenario.id}"))
        scenarios.highlighted = 0
        scenarios.focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-home")
    def load(self) -> None:
        store, actor = self.ctx.store, self.ctx.actor
        self.post_message(self.Loaded(runs.my_assignments(store, actor),
                                      runs.results(store, actor),
                                      runs.certified(store, actor)))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        lang = current_language()
        assignments = self.query_one("#train-assignments", OptionList)
        assignments.clear_options()
        open_ = [a for a in event.assignments if a.run_id is None]
        for a in open_:
            due = t("train.home.due", due=local_time(a.due, self.ctx.zone)) if a.due else ""
            assignments.add_option(Option(Content(
                f"{_title(a.scenario, lang)}  {t('train.home.from', who=a.trainer)} {due}"),
                id=f"assignment-{a.id}-{a.scenario}"))
        if not open_:
            assignments.add_option(Option(Content(t("train.home.no_assignments")), disabled=True))
        results = self.query_one("#train-results", OptionList)
        results.clear_options()
        for r in event.mine:
            results.add_option(Option(Content(
                f"{local_time(r.started_at, self.ctx.zone)}  {_title(r.scenario, lang)}  "
                f"{_score(r)}"), id=f"run-{r.id}", disabled=r.state != "finished"))
        if not event.mine:
            results.add_option(Option(Content(t("train.home.no_results")), disabled=True))
        for options in (assignments, results):
            options.highlighted = 0 if options.option_count else None
        passed = {r.scenario for r in event.mine if r.passed and not r.auto_fail}
        line = t("train.home.certified", at=local_time(event.certified, self.ctx.zone)) \
            if event.certified else t("train.home.progress", count=len(passed))
        self.query_one("#train-cert", Static).update(Content(line))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        from agent_console.screens.training_result_screen import TrainingResultScreen

        option_id = event.option.id or ""
        if option_id.startswith("scenario-"):
            self.start(option_id.removeprefix("scenario-"), None)
        elif option_id.startswith("assignment-"):
            _, number, scenario_id = option_id.split("-", 2)
            self.start(scenario_id, int(number))
        elif option_id.startswith("run-"):
            self.app.push_screen(TrainingResultScreen(self.ctx, int(option_id.removeprefix("run-"))))

    def start(self, scenario_id: str, assignment_id: int | None) -> None:
        if self.starting:
            return
        self.starting = True
        self.notify(t("train.home.preparing"))
        self.prepare_run(scenario_id, assignment_id, current_language())

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-start")
    def prepare_run(self, scenario_id: str, assignment_id: int | None, lang: str) -> None:

        try:
            screen = make_run(self.ctx, scenario_id, assignment_id, lang)
        finally:
            self.starting = False
        self.post_message(self.Ready(screen))

    @on(Ready)
    def _ready(self, event: Ready) -> None:
        self.app.push_screen(event.screen)

    def action_group(self) -> None:
        self.app.push_screen(TrainingGroupScreen(self.ctx))

    def action_back(self) -> None:
        self.dismiss(None)


def make_run(ctx: ScreenContext, scenario_id: str, assignment_id: int | None, lang: str,
             seed: int | None = None) -> Any:
    """The sandbox, the customer and the run started: the run screen, ready to push.
    Reads and writes the store: call it from a worker."""
    from agent_console.screens.training_run_screen import TrainingRunScreen
    from agent_console.services.training.customer import CustomerSim
    from agent_console.services.training.sandbox_store import open_sandbox

    scenario = runs.library().get(scenario_id)
    seed = random.randrange(1_000_000) if seed is None else seed
    sim = CustomerSim(scenario, seed=seed, lang=lang)
    sim.opening()
    sandbox = open_sandbox(scenario, ctx.actor, lang=lang, clock=ctx.store.clock,
                           knowledge_from=ctx.store)
    run_id = runs.start_run(ctx.store, ctx.actor, scenario_id=scenario_id, lang=lang, seed=seed,
                            assignment_id=assignment_id, opening=sim.record)
    return TrainingRunScreen(ctx, sandbox, scenario=scenario, run_id=run_id, sim=sim, lang=lang)


class TrainingGroupScreen(ContextScreen[None]):
    """A trainer's (or a supervisor's) view: each trainee's progress, every run, and the runs
    going on now; `w` watches a running one (trainers)."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("w", "watch", "Watch", id="train-watch"),
        Binding("a", "assign", "Assign", id="train-assign"),
        Binding("f5", "refresh", "Refresh", id="train-refresh"),
    ]
    PERMISSIONS = {"watch": RUN_TRAINING, "assign": RUN_TRAINING}

    class Agents(Message):
        def __init__(self, agents: list[Any]) -> None:
            super().__init__()
            self.agents = agents

    class Assigned(Message):
        def __init__(self, trainee: str, scenario_id: str) -> None:
            super().__init__()
            self.trainee, self.scenario_id = trainee, scenario_id

    DEFAULT_CSS = """
    TrainingGroupScreen .train-banner { height: 1; background: $warning; color: $text;
        text-style: bold; padding: 0 1; }
    TrainingGroupScreen #group-progress { height: auto; max-height: 12; padding: 0 1; }
    TrainingGroupScreen #group-runs { height: 1fr; }
    """

    class Loaded(Message):
        def __init__(self, all_runs: list[runs.RunSummary]) -> None:
            super().__init__()
            self.all_runs = all_runs

    def compose(self) -> ComposeResult:
        yield Static(Content(banner(t("train.group.title"))), classes="train-banner")
        yield Static(id="group-progress")
        yield Label(t("train.group.runs"))
        yield OptionList(id="group-runs")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#group-runs", OptionList).focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-group")
    def load(self) -> None:
        self.post_message(self.Loaded(runs.results(self.ctx.store, self.ctx.actor, everyone=True)))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        lang = current_language()
        rule_needed = _needed()
        by_trainee: dict[str, list[runs.RunSummary]] = defaultdict(list)
        for r in event.all_runs:
            by_trainee[r.trainee].append(r)
        progress = Text()
        for code in sorted(by_trainee):
            done = by_trainee[code]
            passed = {r.scenario for r in done if r.passed and not r.auto_fail}
            finished = [r for r in done if r.state == "finished"]
            mean = sum(r.score or 0 for r in finished) / len(finished) if finished else 0
            progress.append(t("train.group.progress", name=done[0].trainee_name, code=code,
                              runs=len(finished), passed=len(passed), needed=rule_needed,
                              mean=f"{mean:.0f}") + "\n")
        if not by_trainee:
            progress.append(t("train.group.none"))
        self.query_one("#group-progress", Static).update(progress)
        table = self.query_one("#group-runs", OptionList)
        keep = table.highlighted
        table.clear_options()
        for r in event.all_runs:
            status = t("train.group.live") if r.state == "running" else _score(r)
            table.add_option(Option(Content(
                f"{local_time(r.started_at, self.ctx.zone)}  {r.trainee_name} ({r.trainee})  "
                f"{_title(r.scenario, lang)}  {status}"),
                id=f"run-{r.id}-{r.state}"))
        if table.option_count:
            table.highlighted = keep if keep is not None and keep < table.option_count else 0

    def _current(self) -> tuple[int, str] | None:
        table = self.query_one("#group-runs", OptionList)
        if table.highlighted is None or not table.option_count:
            return None
        option_id = table.get_option_at_index(table.highlighted).id or ""
        _, number, state = option_id.split("-", 2)
        return int(number), state

    @on(OptionList.OptionSelected, "#group-runs")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        from agent_console.screens.training_result_screen import TrainingResultScreen

        current = self._current()
        if current is None:
            return
        run_id, state = current
        if state == "running" and self.ctx.actor.can(RUN_TRAINING):
            self.action_watch()
        elif state == "finished":
            self.app.push_screen(TrainingResultScreen(self.ctx, run_id))

    def action_watch(self) -> None:
        from agent_console.screens.training_watch_screen import TrainingWatchScreen

        current = self._current()
        if current is None or current[1] != "running":
            self.notify(t("train.group.not_running"))
            return
        self.app.push_screen(TrainingWatchScreen(self.ctx, current[0]))

    def action_refresh(self) -> None:
        self.load()

    # --- assigning: pick the trainee, then the scenario ---------------------------------------

    def action_assign(self) -> None:
        self.load_agents()

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-agents")
    def load_agents(self) -> None:
        from agent_console.services.directory import list_agents

        self.post_message(self.Agents([a for a in list_agents(self.ctx.store)
                                       if a.role in ("agent", "senior")]))

    @on(Agents)
    def _agents(self, event: Agents) -> None:
        from agent_console.screens.choice_screen import ChoiceScreen

        choices = [(f"{a.name} ({a.code})", a.code) for a in event.agents]

        def trainee_chosen(code: str | None) -> None:
            if code:
                self._pick_scenario(code)

        self.app.push_screen(ChoiceScreen(t("train.group.assign_who"), choices, ""),
                             trainee_chosen)

    def _pick_scenario(self, trainee: str) -> None:
        from agent_console.screens.choice_screen import ChoiceScreen

        lang = current_language()
        choices = [(s.title.get(lang), s.id) for s in sorted(
            runs.library().scenarios.values(), key=lambda s: (s.spec.level, s.id))]

        def scenario_chosen(scenario_id: str | None) -> None:
            if scenario_id:
                self.assign(trainee, scenario_id)

        self.app.push_screen(ChoiceScreen(t("train.group.assign_what"), choices, ""),
                             scenario_chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-assign")
    def assign(self, trainee: str, scenario_id: str) -> None:
        from datetime import timedelta

        due = self.ctx.store.clock.now() + timedelta(days=ASSIGN_DAYS)
        runs.assign(self.ctx.store, self.ctx.actor, trainee=trainee, scenario_id=scenario_id,
                    due=due)
        self.post_message(self.Assigned(trainee, scenario_id))

    @on(Assigned)
    def _assigned(self, event: Assigned) -> None:
        self.notify(t("train.group.assigned", who=event.trainee,
                      scenario=_title(event.scenario_id, current_language())))

    def action_back(self) -> None:
        self.dismiss(None)


ASSIGN_DAYS = 7  # an assignment is due a week after it is given


def _needed() -> int:
    from agent_console.services.training.rubric import load_certification_rule

    return load_certification_rule().scenarios_needed
