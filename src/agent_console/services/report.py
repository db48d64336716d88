"""The monthly complaint analysis (月度投诉分析): totals and per 10,000 customers month on month,
categories ranked with their shares (every category at or above the flag share flagged, and the
one that grew most), timeliness by grade with the overdue list, quality, the top causes of each
flagged category with masked examples, teams and agents, and the actions with their owners.

`monthly_report` gathers the figures as plain data (judged as of the month's end, or now for the
current month), `render` writes Markdown, CSV or JSON from them: the same store and month give
the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_console.db import from_db, to_db
from agent_console.i18n import current_language, t
from agent_console.models.vocab import GRADE_ORDER, Grade, WorkType
from agent_console.services import kpi
from agent_console.services.actor import Actor
from agent_console.services.errors import InputError, NotFoundError
from agent_console.services.permissions import RUN_REPORTS
from agent_console.services.store import Store, Tx
from agent_console.text import clean_line, mask_phone

FORMATS = ("md", "csv", "json")
COMPENSATION_KINDS = ("bill_credit", "data_mb", "points")
_PHONE = re.compile(r"1\d{10}")
_CLAUSE = re.compile(r"[，,。.;；!！?？]")
ACTION_STATUSES = ("open", "done", "dropped")
RANK = {grade.value: grade.rank for grade in Grade}  # a complaint raised above the grade asked
# The report reads complaints and the follow-up calls after dissatisfied surveys; the teams
# and agents table counts every ticket with a query of its own.
REPORT_WORK_TYPES = (WorkType.COMPLAINT.value, WorkType.FOLLOW_UP.value)


def _pct(num: int | float, den: int | float) -> float | None:
    return round(100.0 * num / den, 1) if den else None


def _change(now: int | float, before: int | float) -> float | None:
    return round(100.0 * (now - before) / before, 1) if before else None


def flag_categories(counts: dict[str, int], previous: dict[str, int],
                    share: float) -> tuple[list[dict[str, Any]], str | None]:
    """Rank categories by count (then code); flag those at or above `share` of the total, and
    name the one that grew most in count since the previous month (none if none grew)."""
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    rows, cumulative = [], 0
    for code, count in ranked:
        cumulative += count
        rows.append({"category": code, "count": count, "previous": previous.get(code, 0),
                     "share": _pct(count, total), "cumulative": _pct(cumulative, total),
                     "change": _change(count, previous.get(code, 0)),
                     "flag_share": total > 0 and count * 1.0 >= share * total - 1e-9})
    growth = [(count - previous.get(code, 0), count, code) for code, count in counts.items()]
    growth = [g for g in growth if g[0] > 0]
    grower = max(growth, key=lambda g: (g[0], g[1], [-ord(ch) for ch in g[2]]))[2] \
        if growth else None
    for row in rows:
        row["flag_growth"] = row["category"] == grower
    return rows, grower


def _month_facts(tx: Tx, month: str, settings: kpi.KpiSettings,
                 site: str | None = None) -> tuple[kpi.Period, kpi.Facts]:
    span = kpi.month_period(month, settings.zone)
    return span, kpi.load_facts(tx, span.start, span.end, settings, at=span.end,
                                work_types=REPORT_WORK_TYPES, with_open=False, site=site)


def _on_site(site: str | None, alias: str = "") -> tuple[str, tuple[str, ...]]:
    """The extra condition keeping a report's ticket query to one site (none: every site)."""
    return (f" AND {alias}site = ?", (site,)) if site is not None else ("", ())


@dataclass(frozen=True)
class Earlier:
    """What the report compares with in the month before: its complaints by category, how
    many were raised above the grade asked for, and the customers on the books."""

    categories: dict[str, int]
    escalated: int
    customers: int

    @property
    def complaints(self) -> int:
        return sum(self.categories.values())


def _earlier(tx: Tx, month: str, settings: kpi.KpiSettings, site: str | None = None) -> Earlier:
    span = kpi.month_period(month, settings.zone)
    bounds = (to_db(span.start), to_db(span.end))
    categories: Counter[str] = Counter()
    escalated = 0
    on_site, params = _on_site(site)
    for category, grade, requested, count in tx.all(
            "SELECT category, grade, requested_grade, count(*) FROM ticket WHERE created_at >= ? "
            f"AND created_at < ? AND work_type = ?{on_site} GROUP BY category, grade, "
            "requested_grade", (*bounds, WorkType.COMPLAINT.value, *params)):
        categories[category] += count
        escalated += count if RANK[grade] < RANK[requested] else 0
    customers = int(tx.scalar("SELECT count(*) FROM customer WHERE created_at < ?",
                              (bounds[1],)) or 0)
    return Earlier(dict(categories), escalated, customers)


def monthly_report(store: Store, actor: Actor, *, month: str, site: str = "") -> dict[str, Any]:
    """Every figure of one month's complaint report, as plain data: the sites the actor sees
    (or the one asked for)."""
    actor.require(RUN_REPORTS)
    reach = actor.site_reach(site)
    config = kpi.config_for(store)
    settings = config.settings
    span = kpi.month_period(month, settings.zone)
    if span.start > store.clock.now():
        raise InputError("month", f"{month} has not started", code="month")
    previous = kpi.previous_month(span.label)
    with store.read() as tx:
        _, facts = _month_facts(tx, span.label, settings, reach)
        before = _earlier(tx, previous, settings, reach)
        data = _build(tx, config, span, facts, before, previous, reach)
    return data


def _complaints(facts: kpi.Facts) -> list[kpi.Fact]:
    return [r for r in facts.rows if r.work_type == WorkType.COMPLAINT.value]


def _value(config: kpi.KpiConfig, name: str, facts: kpi.Facts) -> dict[str, Any]:
    try:
        found = kpi.evaluate(config.get(name), facts)
    except InputError:
        return {}
    return {"value": None if found.value is None else round(found.value, 1),
            "numerator": found.numerator, "denominator": found.denominator,
            "target": found.target, "state": found.state}


def _build(tx: Tx, config: kpi.KpiConfig, span: kpi.Period, facts: kpi.Facts,
           before: Earlier, previous: str, site: str | None = None) -> dict[str, Any]:
    on_site, site_params = _on_site(site)
    settings = config.settings
    complaints = _complaints(facts)
    complaint_facts = kpi.Facts(complaints, facts.context, [], facts.customers, facts.now,
                                facts.now_dt, settings, facts.by_key())
    cut_off = min(span.end, tx.now)
    totals = {
        "tickets": int(tx.scalar("SELECT count(*) FROM ticket WHERE created_at >= ? AND "
                                 f"created_at < ?{on_site}",
                                 (to_db(span.start), to_db(span.end), *site_params))),
        "complaints": len(complaints),
        "complaints_previous": before.complaints,
        "complaints_change": _change(len(complaints), before.complaints),
        "customers": facts.customers,
        "per_10k": round(10000.0 * len(complaints) / facts.customers, 2) if facts.customers else None,
        "per_10k_previous": round(10000.0 * before.complaints / before.customers, 2)
        if before.customers else None,
        "escalated": sum(1 for r in complaints if RANK[r.grade] < RANK[r.requested_grade]),
        "escalated_previous": before.escalated,
    }
    counts = Counter(r.category for r in complaints)
    categories, grower = flag_categories(dict(counts), before.categories, settings.flag_share)
    timeliness = []
    for grade in GRADE_ORDER:
        rows = [r for r in complaints if r.grade == grade.value]
        part = kpi.Facts(rows, [], [], 0, facts.now, facts.now_dt, settings)
        resp = kpi.on_time(part, {"clock": "response"})
        res = kpi.on_time(part, {"clock": "resolution"})
        timeliness.append({"grade": grade.value, "tickets": len(rows),
                           "response_on_time": resp.numerator, "response_due": resp.denominator,
                           "response_pct": _pct(resp.numerator, resp.denominator or 0),
                           "resolution_on_time": res.numerator,
                           "resolution_due": res.denominator,
                           "resolution_pct": _pct(res.numerator, res.denominator or 0)})
    overdue = sorted((r for r in complaints
                      if kpi._late(r.resolved_at, r.resolution_due, r.resolution_breached,
                                   facts.now)),
                     key=lambda r: (r.resolution_due, r.id))
    overdue_list = [{"number": r.number, "grade": r.grade, "category": r.category,
                     "due": _local(r.resolution_due, settings),
                     "resolved": _local(r.resolved_at, settings) if r.resolved_at else "",
                     "team": r.team} for r in overdue]
    survey = kpi.satisfaction(complaint_facts, {})
    quality = {
        "fcr": _value(config, "fcr", complaint_facts),
        "repeat_complaint": _value(config, "repeat_complaint", facts),
        "satisfaction": {"value": None if survey.value is None else round(survey.value, 1),
                         "counts": survey.detail["counts"], "surveyed": survey.denominator},
        "followup_on_time": _value(config, "followup_on_time", facts),
        "compensation": _compensation(tx, span, site),
    }
    drivers = _drivers(tx, [c for c in categories if c["flag_share"] or c["flag_growth"]],
                       complaints, settings.report_examples)
    people = _people(tx, span, site)
    actions = _actions(tx, span.label)
    last_actions = _actions(tx, previous)
    return {
        "month": span.label, "previous_month": previous, "cut_off": _local(to_db(cut_off), settings),
        "timezone": settings.timezone, "flag_share": settings.flag_share,
        "repeat_days": settings.repeat_days, "totals": totals, "categories": categories,
        "biggest_grower": grower, "timeliness": timeliness, "overdue": overdue_list,
        "quality": quality, "drivers": drivers, "teams": people["teams"],
        "agents": people["agents"], "actions": actions, "last_month_actions": last_actions,
    }


def _local(stored: str | None, settings: kpi.KpiSettings) -> str:
    when = from_db(stored)
    return when.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M") if when else ""


def _compensation(tx: Tx, span: kpi.Period, site: str | None = None) -> dict[str, Any]:
    on_site = " AND ticket_id IN (SELECT id FROM ticket WHERE site = ?)" if site else ""
    rows = tx.all("SELECT kind, status, count(*), sum(amount) FROM compensation "
                  f"WHERE given_at >= ? AND given_at < ?{on_site} GROUP BY kind, status "
                  "ORDER BY kind, status",
                  (to_db(span.start), to_db(span.end), *((site,) if site else ())))
    given = {k: {"count": 0, "amount": 0.0} for k in COMPENSATION_KINDS}
    pending = 0
    for kind, status, count, amount in rows:
        if status in ("given", "approved") and kind in given:
            given[kind]["count"] += int(count)
            given[kind]["amount"] = round(given[kind]["amount"] + float(amount or 0), 2)
        elif status == "pending":
            pending += int(count)
    return {"given": given, "pending": pending}


def _cause(row: Any) -> str:
    if row[1]:
        return clean_line(row[1])[:40]
    if row[2]:
        return clean_line(row[2]).splitlines()[0][:40] if row[2] else ""
    first = _CLAUSE.split(clean_line(row[3]), maxsplit=1)[0]
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), first)[:40]


def _drivers(tx: Tx, flagged: list[dict[str, Any]], complaints: list[kpi.Fact],
             examples: int) -> list[dict[str, Any]]:
    out = []
    for item in flagged:
        ids = sorted(r.id for r in complaints if r.category == item["category"])
        if not ids:
            continue
        rows = []
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            marks = ", ".join("?" * len(part))
            rows += tx.all(
                "SELECT t.id, (SELECT k.cause FROM ticket_case tc JOIN kb_case k ON k.id = "
                "tc.case_id WHERE tc.ticket_id = t.id ORDER BY tc.at, k.id LIMIT 1), t.resolution,"
                f" t.description, t.number, c.phone FROM ticket t JOIN customer c ON "
                f"c.id = t.customer_id WHERE t.id IN ({marks}) ORDER BY t.id", part)
        grouped: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            grouped[_cause(row)].append(row)
        causes = sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:3]
        out.append({"category": item["category"], "causes": [
            {"cause": cause, "count": len(found), "examples": [
                {"number": r[4], "phone": mask_phone(r[5]),
                 "text": _PHONE.sub(lambda m: mask_phone(m.group(0)), clean_line(r[3]))[:60]}
                for r in found[:examples]]} for cause, found in causes]})
    return out


_PEOPLE_SQL = """
SELECT COALESCE(NULLIF(h.team, ''), c.team, ''), COALESCE(h.code, c.code, ''), t.work_type,
       {survey}, {started}, s.finished_at, {seconds}
FROM ticket t LEFT JOIN agent h ON h.id = t.handler_id LEFT JOIN agent c ON c.id = t.created_by
LEFT JOIN script_run s ON s.ticket_id = t.id
WHERE t.created_at >= ? AND t.created_at < ?{on_site}
"""
# On SQLite the same, added up per team, agent, work type and survey answer by the database.
_PEOPLE_SQLITE = """
SELECT team, agent, work_type, survey, count(*), sum(seconds), count(seconds) FROM (
  SELECT COALESCE(NULLIF(h.team, ''), c.team, '') AS team, COALESCE(h.code, c.code, '') AS agent,
         t.work_type AS work_type,
         CAST(json_extract(s.record, '$.values.satisfaction') AS TEXT) AS survey,
         CASE WHEN {seconds} >= 0 THEN round({seconds}, 3) END AS seconds
  FROM ticket t LEFT JOIN agent h ON h.id = t.handler_id LEFT JOIN agent c ON c.id = t.created_by
  LEFT JOIN script_run s ON s.ticket_id = t.id
  WHERE t.created_at >= ? AND t.created_at < ?{on_site})
GROUP BY team, agent, work_type, survey ORDER BY team, agent, work_type, survey
"""


def _people(tx: Tx, span: kpi.Period, site: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Volume, complaints, handling time and satisfaction of every team and agent in the month."""
    names = {code: name for code, name in tx.all("SELECT code, name FROM agent")}
    groups: dict[tuple[str, str], list[Any]] = {}
    on_site, site_params = _on_site(site, "t.")
    bounds = (to_db(span.start), to_db(span.end), *site_params)
    if tx.store.is_sqlite:
        for team, agent, work_type, survey, count, seconds, timed in kpi.fetch_all(
                tx, _PEOPLE_SQLITE.format(seconds=kpi.SQLITE_SECONDS, on_site=on_site), bounds):
            for key in (("team", team or "-"), ("agent", agent or "-")):
                slot = groups.setdefault(key, [0, 0, 0.0, 0, 0, 0])
                slot[0] += count
                slot[1] += count if work_type == WorkType.COMPLAINT.value else 0
                slot[2] += seconds or 0.0
                slot[3] += timed
                if survey in ("1", "2", "3"):
                    slot[4] += count
                    slot[5] += count if survey in ("1", "2") else 0
        return {"teams": _people_table(groups, names, "team"),
                "agents": _people_table(groups, names, "agent")}
    sql = _PEOPLE_SQL.format(survey="s.record", started="NULL", seconds="NULL", on_site=on_site)
    for team, agent, work_type, survey, started, finished, sql_seconds in tx.all(sql, bounds):
        if not tx.store.is_sqlite and survey:
            record = json.loads(survey)
            survey, started = (record.get("values") or {}).get("satisfaction"), \
                record.get("started_at")
        seconds = kpi._rounded(sql_seconds) if sql_seconds is not None else kpi._seconds(
            started, None if finished is None else str(finished))
        survey = None if survey is None else str(survey)
        for key in (("team", team or "-"), ("agent", agent or "-")):
            slot = groups.setdefault(key, [0, 0, 0.0, 0, 0, 0])
            slot[0] += 1
            slot[1] += work_type == WorkType.COMPLAINT.value
            if seconds is not None:
                slot[2] += seconds
                slot[3] += 1
            if survey in ("1", "2", "3"):
                slot[4] += 1
                slot[5] += survey in ("1", "2")

    return {"teams": _people_table(groups, names, "team"),
            "agents": _people_table(groups, names, "agent")}


def _people_table(groups: dict[tuple[str, str], list[Any]], names: dict[str, str],
                  kind: str) -> list[dict[str, Any]]:
    out = [{kind: name, "name": clean_line(names.get(name, "")) if kind == "agent" else "",
            "volume": v[0], "complaints": v[1],
            "aht": round(v[2] / v[3] / 60.0, 1) if v[3] else None,
            "satisfaction": _pct(v[5], v[4])}
           for (k, name), v in groups.items() if k == kind]
    return sorted(out, key=lambda x: (-x["volume"], x[kind]))


def _actions(tx: Tx, month: str) -> list[dict[str, Any]]:
    return [{"id": r[0], "category": r[1], "text": clean_line(r[2]), "owner": r[3],
             "due": r[4], "status": r[5]}
            for r in tx.all("SELECT id, category, text, owner, due_date, status FROM report_action "
                            "WHERE month = ? ORDER BY due_date, id", (month,))]


def add_action(store: Store, actor: Actor, *, month: str, text: str, owner: str, due: str,
               category: str = "") -> int:
    """A rectification action raised by a month's report, with its owner and due date."""
    actor.require(RUN_REPORTS)
    kpi.month_period(month, kpi.config_for(store).settings.zone)
    text = clean_line(text)
    if not text:
        raise InputError("text", "an action needs a description", code="required")
    try:
        datetime.strptime(due, "%Y-%m-%d")
    except ValueError:
        raise InputError("due", f"{due!r} is not a date like 2026-12-15", code="date") from None
    with store.write(actor) as tx:
        tx.execute("INSERT INTO report_action (month, category, text, owner, due_date, status, "
                   "created_by, created_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
                   (month, category, text[:300], clean_line(owner)[:40], due, actor.code,
                    to_db(tx.now)))
        action_id = int(tx.scalar("SELECT max(id) FROM report_action"))
        tx.audit("report_action", f"report:{month}", {"action": action_id, "text": text[:300],
                                                       "owner": owner, "due": due})
    return action_id


def set_action_status(store: Store, actor: Actor, *, action_id: int, status: str) -> None:
    actor.require(RUN_REPORTS)
    if status not in ACTION_STATUSES:
        raise InputError("status", f"{status!r}", code="choice", allowed=list(ACTION_STATUSES))
    with store.write(actor) as tx:
        if tx.one("SELECT 1 FROM report_action WHERE id = ?", (action_id,)) is None:
            raise NotFoundError(f"report action {action_id}")
        tx.execute("UPDATE report_action SET status = ?, done_at = ? WHERE id = ?",
                   (status, to_db(tx.now) if status == "done" else None, action_id))
        tx.audit("report_action_status", f"report_action:{action_id}", {"status": status})


# --- rendering ----------------------------------------------------------------------------------

def _num(value: Any, suffix: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}{suffix}"
    return f"{value}{suffix}"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1f}%"


def _category(store: Store, code: str) -> str:
    found = store.catalog.categories.get(code)
    lang = current_language()
    return found.name(lang) if found else code


def tables(store: Store, data: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report as titled tables of text (one source for Markdown, CSV and the screen)."""
    r = "report."
    out: list[tuple[str, list[str], list[list[str]]]] = []
    tot = data["totals"]
    out.append((t(r + "totals"), [t(r + "measure"), data["month"], data["previous_month"],
                                  t(r + "change")], [
        [t(r + "complaints"), str(tot["complaints"]), str(tot["complaints_previous"]),
         _signed(tot["complaints_change"])],
        [t(r + "per_10k"), _num(tot["per_10k"]), _num(tot["per_10k_previous"]),
         _signed(_change(tot["per_10k"] or 0, tot["per_10k_previous"] or 0))],
        [t(r + "escalated"), str(tot["escalated"]), str(tot["escalated_previous"]),
         _signed(_change(tot["escalated"], tot["escalated_previous"]))],
        [t(r + "all_tickets"), str(tot["tickets"]), "", ""],
        [t(r + "customers"), str(tot["customers"]), "", ""]]))
    flag = t(r + "flag_share", share=round(data["flag_share"] * 100))
    out.append((t(r + "categories"), [t(r + "category"), t(r + "count"), t(r + "share"),
                                      t(r + "cumulative"), data["previous_month"], t(r + "change"),
                                      t(r + "flags")],
                [[_category(store, c["category"]), str(c["count"]), _num(c["share"], "%"),
                  _num(c["cumulative"], "%"), str(c["previous"]), _signed(c["change"]),
                  " ".join(x for x in (flag if c["flag_share"] else "",
                                       t(r + "flag_growth") if c["flag_growth"] else "") if x)]
                 for c in data["categories"]]))
    out.append((t(r + "timeliness"), [t(r + "grade"), t(r + "count"), t(r + "response_on_time"),
                                      t(r + "resolution_on_time")],
                [[t(f"grade.{g['grade']}"), str(g["tickets"]),
                  f"{g['response_on_time']}/{g['response_due']} {_num(g['response_pct'], '%')}",
                  f"{g['resolution_on_time']}/{g['resolution_due']} "
                  f"{_num(g['resolution_pct'], '%')}"] for g in data["timeliness"]]))
    out.append((t(r + "overdue", count=len(data["overdue"])),
                [t(r + "ticket"), t(r + "grade"), t(r + "category"), t(r + "due"),
                 t(r + "resolved"), t(r + "team")],
                [[o["number"], t(f"grade.{o['grade']}"), _category(store, o["category"]), o["due"],
                  o["resolved"] or t(r + "still_open"), o["team"]] for o in data["overdue"]]))
    q = data["quality"]
    counts = q["satisfaction"]["counts"]
    comp = q["compensation"]
    out.append((t(r + "quality"), [t(r + "measure"), t(r + "value"), t(r + "basis")], [
        [t(r + "fcr"), _num(q["fcr"].get("value"), "%"),
         f"{q['fcr'].get('numerator')}/{q['fcr'].get('denominator')}"],
        [t(r + "repeat", days=data["repeat_days"]), _num(q["repeat_complaint"].get("value"), "%"),
         f"{q['repeat_complaint'].get('numerator')}/{q['repeat_complaint'].get('denominator')}"],
        [t(r + "satisfaction"), _num(q["satisfaction"]["value"], "%"),
         t(r + "survey_counts", one=counts["1"], two=counts["2"], three=counts["3"])],
        [t(r + "followups"), _num(q["followup_on_time"].get("value"), "%"),
         f"{q['followup_on_time'].get('numerator')}/{q['followup_on_time'].get('denominator')}"],
        [t(r + "comp_bill_credit"), _num(comp["given"]["bill_credit"]["amount"]),
         t(r + "times", count=comp["given"]["bill_credit"]["count"])],
        [t(r + "comp_data_mb"), _num(comp["given"]["data_mb"]["amount"]),
         t(r + "times", count=comp["given"]["data_mb"]["count"])],
        [t(r + "comp_points"), _num(comp["given"]["points"]["amount"]),
         t(r + "times", count=comp["given"]["points"]["count"])],
        [t(r + "comp_pending"), str(comp["pending"]), ""]]))
    rows = []
    for d in data["drivers"]:
        for c in d["causes"]:
            rows.append([_category(store, d["category"]), c["cause"], str(c["count"]),
                         "; ".join(f"{e['number']} {e['phone']} {e['text']}"
                                   for e in c["examples"])])
    out.append((t(r + "drivers"), [t(r + "category"), t(r + "cause"), t(r + "count"),
                                   t(r + "examples")], rows))
    out.append((t(r + "teams"), [t(r + "team"), t(r + "volume"), t(r + "complaints"),
                                 t(r + "aht"), t(r + "satisfaction")],
                [[x["team"], str(x["volume"]), str(x["complaints"]), _num(x["aht"]),
                  _num(x["satisfaction"], "%")] for x in data["teams"]]))
    out.append((t(r + "agents"), [t(r + "agent"), t(r + "volume"), t(r + "complaints"),
                                  t(r + "aht"), t(r + "satisfaction")],
                [[f"{x['agent']} {x['name']}".strip(), str(x["volume"]), str(x["complaints"]),
                  _num(x["aht"]), _num(x["satisfaction"], "%")] for x in data["agents"]]))
    for title, key in ((t(r + "actions"), "actions"),
                       (t(r + "last_actions", month=data["previous_month"]), "last_month_actions")):
        out.append((title, [t(r + "action"), t(r + "category"), t(r + "owner"), t(r + "due"),
                            t(r + "status")],
                    [[a["text"], _category(store, a["category"]) if a["category"] else "",
                      a["owner"], a["due"], t(f"report.action_status.{a['status']}")]
                     for a in data[key]]))
    return out


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(store: Store, data: dict[str, Any], fmt: str) -> str:
    """The report as Markdown, CSV or JSON text (the same data give the same bytes)."""
    if fmt not in FORMATS:
        raise InputError("format", f"{fmt!r}", code="choice", allowed=list(FORMATS))
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    parts = tables(store, data)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for title, head, rows in parts:
            writer.writerow([title, *head])
            for row in rows:
                writer.writerow(["", *row])
        return buffer.getvalue()
    lines = [f"# {t('report.title', month=data['month'])}", "",
             t("report.header", cut_off=data["cut_off"], timezone=data["timezone"],
               customers=data["totals"]["customers"]), ""]
    grower = data["biggest_grower"]
    flagged = [c["category"] for c in data["categories"] if c["flag_share"]]
    lines.append(t("report.summary", flagged=", ".join(_category(store, c) for c in flagged)
                   or t("report.none"),
                   grower=_category(store, grower) if grower else t("report.none")))
    lines.append("")
    for title, head, rows in parts:
        lines += [f"## {title}", ""]
        if not rows:
            lines += [t("report.empty"), ""]
            continue
        lines.append("| " + " | ".join(_md_cell(h) for h in head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


def month_before(month: str) -> str:
    return kpi.previous_month(month)


def default_month(store: Store) -> str:
    """The month the clock is in, on the site's calendar."""
    zone = kpi.config_for(store).settings.zone
    now = store.clock.now().astimezone(zone)
    return f"{now.year:04d}-{now.month:02d}"

