"""`agent-console train lint|autoplay`: check role-play scenarios and walk every branch; needs no store.

    train lint [FILES]          every problem as file:place: what; exit 1 if there is any.
                                No FILES: the shipped scenarios, rubrics and phrase sets, and the
                                trainer's folder (scenarios/ in the config dir).
    train results [--trainee ID|all] [--json]
                                finished and running role-play runs with score, pass and
                                automatic fail; another trainee's need run_training or
                                run_reports (the store is opened; the PIN proves who asks).
    train autoplay SCENARIO [--seed N] [--runs M] [--json]
                                seeded random trainee moves until every transition has been taken
                                (at most M runs); prints branch coverage, endings, rubric items
                                never passed and failures. Exit 1 if a transition was never taken
                                or anything failed. SCENARIO is an id or a .toml file.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_console.i18n import t
from agent_console.services.store import InputError
from agent_console.text import clean_line

DEFAULT_RUNS = 500


def add_train_parser(subparsers: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `train` and its commands; `common` adds the shared --db/--lang/--agent options."""
    train = subparsers.add_parser("train", help="check role-play scenarios and play every branch")
    tsub = train.add_subparsers(dest="train_command", parser_class=type(train), required=True)
    lint = tsub.add_parser("lint", help="check scenario files: reachable nodes, no dead ends, both "
                                        "languages, rubric items that can be met, phrase sets")
    common(lint)
    lint.add_argument("files", nargs="*", type=Path, metavar="FILE",
                      help="scenario files (default: the shipped ones and the trainer's folder)")
    auto = tsub.add_parser("autoplay", help="play seeded random moves until every branch of a "
                                            "scenario has been taken")
    common(auto)
    auto.add_argument("scenario", metavar="SCENARIO", help="a scenario id or a .toml file")
    auto.add_argument("--seed", type=int, default=0, help="random seed (same seed, same runs)")
    auto.add_argument("--runs", type=int, default=DEFAULT_RUNS,
                      help=f"stop after this many runs even if branches are left (default {DEFAULT_RUNS})")
    auto.add_argument("--json", action="store_true", help="print the coverage as JSON")
    from agent_console.cli_auth import add_proof_arguments

    results = tsub.add_parser("results", help="training results: your own, a trainee's or "
                                              "everyone's (trainers and supervisors)")
    common(results)
    add_proof_arguments(results)
    results.add_argument("--trainee", metavar="ID",
                         help="this trainee's runs (default: your own); 'all' for everyone's")
    results.add_argument("--json", action="store_true", help="print the runs as JSON")


def run_train(args: argparse.Namespace) -> int:
    """Run one `train` command; returns the exit code. Bad input raises InputError (exit 2)."""
    if args.train_command == "lint":
        return _lint(args)
    return _autoplay(args)


def _folders() -> tuple[Path, Path]:
    from agent_console.config import config_dir

    return config_dir() / "scripts", config_dir() / "scenarios"


def _lint(args: argparse.Namespace) -> int:
    from agent_console.services.scripts import load_scripts
    from agent_console.services.training.lint import lint

    scripts_dir, scenarios_dir = _folders()
    files = list(args.files) or None
    problems = lint(files, extra_dir=scenarios_dir, scripts=load_scripts(scripts_dir))
    for problem in problems:
        print(clean_line(str(problem)))
    if problems:
        print(t("train.lint_problems", count=len(problems)))
        return 1
    print(t("train.lint_ok"))
    return 0


def _autoplay(args: argparse.Namespace) -> int:
    from agent_console.services.scripts import load_scripts
    from agent_console.services.training.autoplay import autoplay
    from agent_console.services.training.scenario import load_scenarios

    if args.runs < 1:
        raise InputError("--runs", "must be at least 1")
    scripts_dir, scenarios_dir = _folders()
    scripts = load_scripts(scripts_dir)
    path = Path(args.scenario)
    if args.scenario.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise InputError(args.scenario, "no such file")
        library = load_scenarios(files=[path], scripts=scripts)
        scenario = next(iter(library.scenarios.values()), None)
    else:
        library = load_scenarios(scenarios_dir, scripts=scripts)
        scenario = library.scenarios.get(args.scenario)
        if scenario is None:
            raise InputError("SCENARIO", f"no scenario {args.scenario!r}; there are: "
                                         f"{', '.join(library.scenarios) or 'none'}")
    if scenario is None:
        for problem in library.problems:
            print(clean_line(str(problem)))
        return 1
    coverage = autoplay(scenario, seed=args.seed, runs=args.runs)
    if args.json:
        print(json.dumps(coverage.as_dict(), ensure_ascii=False, indent=1))
    else:
        _report(coverage.as_dict())
    return 0 if coverage.complete and not coverage.failures else 1


def _report(found: dict[str, Any]) -> None:
    print(t("train.autoplay_coverage", scenario=found["scenario"], seed=found["seed"],
            taken=found["taken"], branches=found["branches"], percent=found["percent"],
            runs=found["runs"]))
    print(t("train.autoplay_endings", endings=" · ".join(
        f"{t(f'train.ending.{name}')} {count}" for name, count in sorted(found["endings"].items()))))
    if found["missing"]:
        print(t("train.autoplay_missing", branches=", ".join(found["missing"])))
    if found["nodes_missing"]:
        print(t("train.autoplay_nodes_missing", nodes=", ".join(found["nodes_missing"])))
    if found["items_never_passed"]:
        print(t("train.autoplay_items_never_passed", items=", ".join(found["items_never_passed"])))
    print(t("train.autoplay_slowest", ms=found["slowest_ms"]))
    for failure in found["failures"]:
        print(t("train.autoplay_failure", failure=clean_line(failure)))


def run_train_results(args: argparse.Namespace, store: Any, settings: Any) -> int:
    """`train results`: the runs the signed-in agent may see, as lines or JSON."""
    from agent_console.cli_auth import prove_actor
    from agent_console.services.training import runs

    actor = prove_actor(args, store, settings)
    everyone = args.trainee == "all"
    found = runs.results(store, actor, trainee=None if everyone else args.trainee,
                         everyone=everyone)
    if args.json:
        print(json.dumps([{
            "run": r.id, "trainee": r.trainee, "name": r.trainee_name, "team": r.team,
            "scenario": r.scenario, "started_at": r.started_at.isoformat(),
            "ended_at": r.ended_at.isoformat() if r.ended_at else None, "state": r.state,
            "score": r.score, "passed": r.passed, "auto_fail": r.auto_fail,
            "assigned_by": r.assigned_by} for r in found], ensure_ascii=False, indent=1))
        return 0
    if not found:
        print(t("train.home.no_results"))
        return 0
    for r in found:
        if r.state == "finished" and r.score is not None:
            verdict = t("train.result.passed") if r.passed else t("train.result.failed")
            if r.auto_fail:
                verdict += " " + t("train.home.auto_fail")
            outcome = f"{r.score:5.1f}  {verdict}"
        else:
            outcome = t("train.home.running")
        print(clean_line(f"#{r.id}  {r.started_at:%Y-%m-%d %H:%M}  {r.trainee} {r.trainee_name}  "
                         f"{r.scenario}  {outcome}"))
    return 0
