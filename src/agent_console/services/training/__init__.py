"""Role-play training 情景模拟与角色扮演, headless: scenarios as data, the scripted customer,
scoring with evidence, certification, the linter and the auto-player.

    scenario.py  ScenarioSpec (the file), Scenario (resolved), load_scenarios() -> ScenarioLibrary
    sandbox.py   the customer, plan, equipment, tickets, outage and bill a run needs
    phrases.py   bilingual phrase sets and matching what the trainee typed
    moves.py     Move kinds, When conditions, Line, CustomerState, Reaction, RunRecord, frames()
    customer.py  CustomerSim(scenario, seed, lang): opening(), react(move, at_seconds); replay()
    rubric.py    Rubric, score(record, rubric) -> Result, certify(results, rule) -> Certification
    lint.py      lint(files) -> [Problem]
    autoplay.py  autoplay(scenario, seed, runs) -> Coverage

Nothing here imports Textual or touches the store: the screens, the sandbox store and live
watching are built on these pure functions over data.
"""
