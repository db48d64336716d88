"""`agent-console kpi`: the measures supervisors read, and where any number comes from.

    kpi [--period today|week|month|YYYY-MM] [--team T] [--department D] [--channel C] [--json]
                        every KPI of the site's file against its target
    kpi explain NAME [same options]
                        the KPI's formula (numerator, denominator, exclusions) and the tickets
                        it counted
Needs the run_reports permission (proved with the agent's PIN).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from agent_console.config import Settings
from agent_console.i18n import t
from agent_console.services.store import InputError, Store
from agent_console.text import display_width

SHOWN_TICKETS = 40


def add_kpi_parser(subparsers: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    from agent_console.cli_auth import add_proof_arguments

    kpi = subparsers.add_parser("kpi", help="print the KPIs against their targets; "
                                            "`kpi explain NAME` shows the formula and the tickets")
    common(kpi)
    add_proof_arguments(kpi)
    kpi.add_argument("words", nargs="*", metavar="explain NAME",
                     help="explain one KPI: its formula and the tickets behind it")
    kpi.add_argument("--period", default="today", metavar="today|week|month|YYYY-MM")
    kpi.add_argument("--team", default=None)
    kpi.add_argument("--department", default=None)
    kpi.add_argument("--channel", default=None)
    kpi.add_argument("--site", default="", help="one site (default: the sites you see)")
    kpi.add_argument("--json", action="store_true", help="print as JSON")


def value_text(value: float | None, unit: str) -> str:
    if value is None:
        return t("kpi.no_value")
    shown = f"{value:.0f}" if unit in ("count",) else f"{value:.1f}"
    return shown + t(f"kpi.unit.{unit}")


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def _table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(display_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(_pad(c, w) for c, w in zip(head, widths)).rstrip()]
    lines += ["  ".join(_pad(c, w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def run_kpi(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.cli_auth import prove_actor
    from agent_console.services import kpi

    words = list(args.words)
    if words and (words[0] != "explain" or len(words) != 2):
        raise InputError("kpi", "use `kpi` or `kpi explain NAME`", code="usage")
    options = {"period": args.period, "team": args.team, "department": args.department,
               "channel": args.channel, "site": args.site}
    actor = prove_actor(args, store, settings)
    zone = kpi.config_for(store).settings.zone
    if words:
        found = kpi.explain(store, actor, name=words[1], **options)
        return _explain(found, zone, args.json)
    board = kpi.measure(store, actor, **options)
    if args.json:
        print(json.dumps({"period": board.period.label,
                          "start": board.period.start.isoformat(),
                          "end": board.period.end.isoformat(),
                          "filter": {k: v for k, v in options.items() if k != "period" and v},
                          "kpis": [_json(v) for v in board.values]},
                         ensure_ascii=False, indent=2, sort_keys=True))
        return 0
    label = board.period.label
    print(t("kpi.title", period=t(f"wallboard.{label}") if label in ("today", "week", "month") else label,
            start=board.period.start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            end=board.period.end.astimezone(zone).strftime("%Y-%m-%d %H:%M")))
    if what := ", ".join(f"{k}={v}" for k, v in options.items() if k != "period" and v):
        print(t("kpi.filter", what=what))
    rows = []
    for v in board.values:
        basis = f"{v.numerator:g}/{v.denominator:g}" if v.denominator is not None else f"{v.numerator:g}"
        rows.append([t(f"kpi.label.{v.name}"), value_text(v.value, v.unit),
                     value_text(v.target, v.unit), t(f"kpi.state.{v.state}"), basis, v.name])
    print(_table([t("kpi.name"), t("kpi.value"), t("kpi.target"), t("kpi.state_col"),
                  t("kpi.basis"), "id"], rows))
    return 0


def _json(v: Any) -> dict[str, Any]:
    return {"name": v.name, "value": None if v.value is None else round(v.value, 4),
            "numerator": v.numerator, "denominator": v.denominator, "unit": v.unit,
            "target": v.target, "warning": v.warning, "state": v.state,
            "tickets": len(v.base), "detail": v.detail}


def _explain(found: Any, zone: Any, as_json: bool) -> int:
    k, v = found.kpi, found.value
    counted = [found.numbers.get(i, str(i)) for i in v.counted]
    rest = [found.numbers.get(i, str(i)) for i in v.base if i not in set(v.counted)]
    if as_json:
        print(json.dumps({**_json(v), "computation": k.computation, "params": k.params,
                          "formula": {"numerator": k.numerator, "denominator": k.denominator,
                                      "exclusions": k.exclusions},
                          "period": found.period.label, "counted": counted, "not_counted": rest},
                         ensure_ascii=False, indent=2, sort_keys=True))
        return 0
    print(f"{t(f'kpi.label.{k.name}')} ({k.name}) · {found.period.label}")
    print(f"{t('kpi.value')}: {value_text(v.value, v.unit)}   {t('kpi.target')}: "
          f"{value_text(k.target, v.unit)}   {t('kpi.warning')}: {value_text(k.warning, v.unit)}"
          f"   {t('kpi.state_col')}: {t(f'kpi.state.{v.state}')}")
    print(f"{t('kpi.computation')}: {k.computation} {json.dumps(k.params, ensure_ascii=False)}")
    print(f"{t('kpi.numerator')}: {k.numerator} = {v.numerator:g}")
    if k.denominator:
        print(f"{t('kpi.denominator')}: {k.denominator} = "
              f"{v.denominator:g}" if v.denominator is not None else k.denominator)
    if k.exclusions:
        print(f"{t('kpi.exclusions')}: {k.exclusions}")
    if "by_grade" in v.detail:
        print(t("kpi.by_grade") + ": " + ", ".join(
            f"{t(f'grade.{g}')} {n}/{d}" for g, (n, d) in v.detail["by_grade"].items()))
    if "counts" in v.detail:
        c = v.detail["counts"]
        print(t("kpi.shares", one=c["1"], two=c["2"], three=c["3"]))
    for title, numbers in ((t("kpi.counted", count=len(counted)), counted),
                           (t("kpi.base_only", count=len(rest)), rest)):
        if not numbers and numbers is rest:
            continue
        print(title)
        for i in range(0, min(len(numbers), SHOWN_TICKETS), 4):
            print("  " + "  ".join(numbers[i:i + 4]))
        if len(numbers) > SHOWN_TICKETS:
            print("  " + t("kpi.more", count=len(numbers) - SHOWN_TICKETS))
    return 0
