"""A reproducible demo store: agents, customers of every tier and tickets in every state."""

from __future__ import annotations

import json
import random
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from agent_console.db import reset_sequences, to_db
from agent_console.models.vocab import (
    DEFAULT_SITE,
    TRANSITIONS,
    Channel,
    EventKind,
    Grade,
    Status,
    Tier,
    WorkType,
)
from agent_console.services.auth import hash_pin
from agent_console.services.hall import fill_site_hall_demo
from agent_console.services.sla import Targets
from agent_console.services.store import Store
from agent_console.services.tickets import sla_columns, ticket_number

_STATUS_WEIGHTS = {Status.NEW: 14, Status.ASSIGNED: 14, Status.IN_PROGRESS: 26,
                   Status.PENDING_CUSTOMER: 10, Status.RESOLVED: 14, Status.CLOSED: 22}
_TIER_WEIGHTS = {Tier.STANDARD: 60, Tier.SILVER: 18, Tier.GOLD: 14, Tier.VIP: 8}
_CHANNEL_WEIGHTS = {Channel.HOTLINE: 40, Channel.HALL: 25, Channel.APP: 14, Channel.ONLINE: 10,
                    Channel.SMS: 4, Channel.SOCIAL: 7}
_TYPE_BY_CATEGORY = {
    "account_info": (WorkType.INFO_CHANGE, WorkType.CONSULTATION),
    "device": (WorkType.BUSINESS, WorkType.FAULT, WorkType.CONSULTATION),
    "broadband_install": (WorkType.BUSINESS, WorkType.COMPLAINT, WorkType.CONSULTATION),
    "number_porting": (WorkType.BUSINESS, WorkType.CONSULTATION, WorkType.COMPLAINT),
    "service_attitude": (WorkType.COMPLAINT,),
    "plan_dispute": (WorkType.COMPLAINT, WorkType.CONSULTATION),
    "billing": (WorkType.COMPLAINT, WorkType.CONSULTATION),
    "vas": (WorkType.COMPLAINT, WorkType.BUSINESS),
}
DEMO_HISTORY_DAYS = 100  # finished demo tickets were created up to this many days back
_MOBILE_PREFIXES = ("134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158",
                    "159", "182", "183", "187", "188", "198")


@dataclass(frozen=True)
class DemoSummary:
    agents: int
    customers: int
    tickets: int
    events: int
    cases: int
    site_tickets: int = 0  # open tickets of the sites beyond the main one
    sites: tuple[str, ...] = ()  # those sites' codes


@cache
def _demo_pin(code: str, pin: str) -> str:
    """Each demo agent's salted hash, made once per process (hashing is slow on purpose)."""
    return hash_pin(pin)


def _content() -> dict[str, Any]:
    text = resources.files("agent_console.content").joinpath("demo.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _customers(rng: random.Random, content: dict[str, Any], count: int,
               now: datetime) -> list[tuple[Any, ...]]:
    phones: set[str] = set()
    rows: list[tuple[Any, ...]] = []
    while len(rows) < count:
        phone = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if phone in phones:
            continue
        phones.add(phone)
        if rng.random() < 0.12:
            name = rng.choice(content["english_names"])
        else:
            name = rng.choice(content["surnames"]) + rng.choice(content["given_names"])
        tier = _pick(rng, _TIER_WEIGHTS)
        green = rng.random() < 0.08
        id_number = f"{rng.randrange(110000, 659000)}{rng.randrange(1940, 2006)}" \
                    f"{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}{rng.randrange(10**4):04d}"
        created = now - timedelta(days=rng.randrange(30, 3000))
        rows.append((len(rows) + 1, name, phone, id_number, tier, int(green), to_db(created)))
    return rows


class DemoRefused(Exception):
    """`demo` was pointed at a store it did not make; the message is one line for the user."""


def is_demo_store(store: Store) -> bool:
    with store.read() as tx:
        return bool(tx.scalar("SELECT value FROM store_meta WHERE key = 'origin'") == "demo")


def check_demo_target(store: Store) -> None:
    """Demo data (with its known PINs) goes only into a new store or one `demo` made."""
    with store.read() as tx:
        origin = tx.scalar("SELECT value FROM store_meta WHERE key = 'origin'")
        used = tx.one("SELECT 1 FROM agent UNION ALL SELECT 1 FROM ticket "
                      "UNION ALL SELECT 1 FROM audit_log LIMIT 1")
    if origin != "demo" and (origin is not None or used):
        raise DemoRefused("not a demo store")


def fill_demo(store: Store, *, tickets: int = 300, seed: int = 7) -> DemoSummary:
    """Fill a new store in one transaction; the same seed gives the same data relative to the
    store's clock. A kill part-way leaves the store as it was."""
    check_demo_target(store)
    rng = random.Random(seed)
    content = _content()
    now = store.clock.now().replace(microsecond=0)
    categories = list(store.catalog.categories)
    customers = _customers(rng, content, max(20, tickets // 3), now)
    agents = content["agents"]
    events: list[tuple[Any, ...]] = []
    ticket_rows: list[dict[str, Any]] = []
    for ticket_id in range(1, tickets + 1):
        row, ticket_events = _ticket(store, rng, content, ticket_id, now, categories, customers,
                                     agents)
        ticket_rows.append(row)
        events.extend(ticket_events)
    # The other sites come after every draw above, from a stream of their own, so the main
    # site's demo stays the same whatever they hold.
    site_rng = random.Random(seed + 2)
    main_tickets = len(ticket_rows)
    site_agents: list[tuple[dict[str, Any], str]] = []
    for site in content.get("sites", []):
        first_id = len(agents) + len(site_agents) + 1
        site_agents += [(a, site["code"]) for a in site["agents"]]
        for _ in range(max(6, tickets // 20)):
            row, ticket_events = _ticket(store, site_rng, content, len(ticket_rows) + 1, now,
                                         categories, customers, site["agents"],
                                         first_id=first_id, open_only=True)
            row["site"] = site["code"]
            ticket_rows.append(row)
            events.extend(ticket_events)
    for row in ticket_rows:
        row.setdefault("site", DEFAULT_SITE)
    columns = list(ticket_rows[0]) if ticket_rows else []
    from agent_console.services.kb_jsonl import import_in
    from agent_console.services.outage_demo import fill_outage_demo

    with store.write() as tx:
        if tx.one("SELECT 1 FROM agent LIMIT 1"):
            raise DemoRefused("already filled")
        tx.execute("INSERT INTO store_meta (key, value) VALUES ('origin', 'demo')"
                   " ON CONFLICT (key) DO NOTHING")
        tx.execute("INSERT INTO store_meta (key, value) VALUES ('had_admin', '1')"
                   " ON CONFLICT (key) DO NOTHING")
        tx.executemany("INSERT INTO agent (id, code, name, role, team, department, pin_hash) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [(i + 1, a["code"], a["name"], a["role"], a["team"], a["department"],
                         _demo_pin(a["code"], a["pin"])) for i, a in enumerate(agents)])
        tx.executemany("INSERT INTO site (code, name_en, name_zh, kind) VALUES (?, ?, ?, ?)",
                       [(s["code"], s["name_en"], s["name_zh"], s["kind"])
                        for s in content.get("sites", [])])
        tx.executemany("INSERT INTO agent (id, code, name, role, team, department, pin_hash, "
                       "site) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [(len(agents) + i + 1, a["code"], a["name"], a["role"], a["team"],
                         a["department"], _demo_pin(a["code"], a["pin"]), site)
                        for i, (a, site) in enumerate(site_agents)])
        tx.executemany("INSERT INTO customer (id, name, phone, id_number, tier, green_channel,"
                       " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", customers)
        if columns:
            tx.executemany(f"INSERT INTO ticket ({', '.join(columns)}) VALUES "
                           f"({', '.join('?' * len(columns))})",
                           [tuple(r[c] for c in columns) for r in ticket_rows])
        tx.executemany("INSERT INTO ticket_event (ticket_id, at, agent_id, kind, detail) "
                       "VALUES (?, ?, ?, ?, ?)", events)
        reset_sequences(tx.conn)  # the rows above were given their ids
        cases = import_in(tx, _demo_case_lines(), author="demo").imported
        from agent_console.services.case_review import demo_proposal_in

        demo_proposal_in(tx)
        from agent_console.services.hall import fill_hall_demo

        fill_hall_demo(tx, random.Random(seed + 1), now, customers)
        for site in content.get("sites", []):
            if site["kind"] == "hall":
                fill_site_hall_demo(tx, site_rng, now, site["code"])
        fill_outage_demo(tx, [c[0] for c in customers])
        from agent_console.services.training.demo_runs import fill_training_in

        fill_training_in(tx)
        from agent_console.services.supervisor_demo import fill_supervisor_demo

        fill_supervisor_demo(tx, seed=seed)
        reset_sequences(tx.conn)
    with store.write() as tx:
        tx.execute("ANALYZE")
    return DemoSummary(len(agents) + len(site_agents), len(customers), main_tickets,
                       len(events), cases, len(ticket_rows) - main_tickets,
                       tuple(s["code"] for s in content.get("sites", [])))


def _demo_case_lines() -> list[str]:
    """The shipped knowledge base of past fault cases (bilingual)."""
    return resources.files("agent_console.content").joinpath("kb_cases.jsonl") \
        .read_text(encoding="utf-8").splitlines()


def _ticket(store: Store, rng: random.Random, content: dict[str, Any], ticket_id: int,
            now: datetime, categories: list[str], customers: list[tuple[Any, ...]],
            agents: list[dict[str, Any]], *, first_id: int = 1,
            open_only: bool = False) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """One demo ticket; `agents` are numbered from `first_id` (another site's agents)."""
    category = rng.choice(categories)
    work_type = rng.choice(_TYPE_BY_CATEGORY.get(category, (WorkType.FAULT, WorkType.COMPLAINT,
                                                             WorkType.CONSULTATION)))
    channel = _pick(rng, _CHANNEL_WEIGHTS)
    customer = rng.choice(customers)
    requested = rng.choices(list(Grade), weights=(18, 37, 45))[0]
    targets = store.policy.targets(grade=requested, category=category, work_type=work_type,
                                   vip=customer[4] == Tier.VIP, green_channel=bool(customer[5]))
    status = _pick(rng, _STATUS_WEIGHTS)
    if open_only and status in (Status.RESOLVED, Status.CLOSED):
        status = Status.IN_PROGRESS
    responded = status not in (Status.NEW, Status.ASSIGNED)
    target = targets.resolution if responded else targets.response
    lead = targets.resolution_lead if responded else targets.response_lead
    # Place the running clock: about one in eight overdue, one in eight inside its warning lead.
    roll = rng.random()
    if status in (Status.RESOLVED, Status.CLOSED):
        age = target * rng.uniform(0.2, 3.0)
    elif roll < 0.13:
        age = target + timedelta(minutes=rng.randrange(1, 60 * 30))
    elif roll < 0.26:
        age = target - lead * rng.uniform(0.05, 0.95)
    else:
        age = target * rng.uniform(0.02, 0.75)
    created = now - age - timedelta(seconds=rng.randrange(60))
    walk_now = now
    if status in (Status.RESOLVED, Status.CLOSED):
        # Finished tickets are spread over the last ~100 days so that monthly trends show; a
        # random stream of their own keeps every other demo value as it was.
        back = timedelta(days=random.Random(ticket_id * 7919 + 17).uniform(0, DEMO_HISTORY_DAYS))
        created -= back
        walk_now = now - back
    lang = "en" if rng.random() < 0.2 else "zh"
    template = rng.choice(content["descriptions"][category][lang])
    description = template.format(area=rng.choice(content["areas"]),
                                  area_en=rng.choice(content["areas_en"]))
    department = store.catalog.department_for(category)
    dept_agents = [i for i, a in enumerate(agents, first_id) if a["department"] == department
                   and a["role"] in ("agent", "senior")] or [first_id]
    front_agents = [i for i, a in enumerate(agents, first_id) if a["role"] in ("agent", "senior")]
    events: list[tuple[Any, ...]] = [(ticket_id, to_db(created), rng.choice(front_agents), EventKind.CREATED,
                            json.dumps({"grade": targets.grade, "raised_by": targets.raised_by,
                                        "department": department or ""}))]
    row: dict[str, Any] = {
        "id": ticket_id, "number": ticket_number(created, ticket_id), "customer_id": customer[0],
        "channel": channel, "work_type": work_type, "category": category,
        "requested_grade": requested, "grade": targets.grade,
        "grade_rank": Grade(targets.grade).rank, "status": Status.NEW, "description": description,
        "department": department, "handler_id": None, "handler_set_at": None, "owner_id": None,
        "owner_set_at": None, "dispatched_at": None, "created_by": events[0][2],
        "created_at": created, "updated_at": created, "responded_at": None, "resolved_at": None,
        "closed_at": None, "paused_since": None, "paused_seconds": 0.0,
        "response_target_s": int(targets.response.total_seconds()),
        "resolution_target_s": int(targets.resolution.total_seconds()),
        "response_lead_s": int(targets.response_lead.total_seconds()),
        "resolution_lead_s": int(targets.resolution_lead.total_seconds()),
        "response_warned_at": None, "response_breached_at": None, "resolution_warned_at": None,
        "resolution_breached_at": None, "version": 1,
    }
    _walk(rng, row, status, targets, walk_now, dept_agents, events)
    cols = sla_columns(store, channel=channel, created_at=created, status=row["status"], row=row)
    row.update(cols)
    for clock, due_col in (("response", "response_due"), ("resolution", "resolution_due")):
        met = row["responded_at"] if clock == "response" else row["resolved_at"]
        lead_s = row[f"{clock}_lead_s"]
        for column, at, kind in ((f"{clock}_warned_at", row[due_col] - timedelta(seconds=lead_s),
                                  EventKind.SLA_WARNING),
                                 (f"{clock}_breached_at", row[due_col], EventKind.SLA_BREACHED)):
            if at <= now and (met is None or met > at) and row["paused_since"] is None:
                row[column] = to_db(at)
                events.append((ticket_id, to_db(at), None, kind, json.dumps({"clock": clock})))
    for key in ("created_at", "updated_at", "responded_at", "resolved_at", "closed_at",
                "paused_since", "handler_set_at", "owner_set_at", "dispatched_at",
                "response_due", "resolution_due"):
        if isinstance(row[key], datetime):
            row[key] = to_db(row[key])
    row["is_open"] = int(row["is_open"])
    events.sort(key=lambda e: e[1])
    return row, events


def _walk(rng: random.Random, row: dict[str, Any], final: Status, targets: Targets,
          now: datetime, dept_agents: list[int], events: list[tuple[Any, ...]]) -> None:
    """Move the ticket from new to `final` through the allowed transitions, with timed events."""
    created: datetime = row["created_at"]
    span = (now - created).total_seconds()
    at = created
    ticket_id = row["id"]

    def step(fraction: float) -> datetime:
        return min(now, at + timedelta(seconds=max(60.0, span * fraction)))

    path = {Status.NEW: [], Status.ASSIGNED: [Status.ASSIGNED],
            Status.IN_PROGRESS: [Status.ASSIGNED, Status.IN_PROGRESS],
            Status.PENDING_CUSTOMER: [Status.ASSIGNED, Status.IN_PROGRESS, Status.PENDING_CUSTOMER],
            Status.RESOLVED: [Status.ASSIGNED, Status.IN_PROGRESS, Status.RESOLVED],
            Status.CLOSED: [Status.ASSIGNED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED]}[final]
    for status in path:
        assert status in TRANSITIONS[Status(row["status"])]
        at = step(rng.uniform(0.05, 0.3))
        if status == Status.ASSIGNED:
            handler = rng.choice(dept_agents)
            row.update(handler_id=handler, handler_set_at=at, owner_id=handler, owner_set_at=at,
                       dispatched_at=at)
            events.append((ticket_id, to_db(at), handler, EventKind.CLAIMED, json.dumps({})))
        else:
            if status in (Status.IN_PROGRESS, Status.PENDING_CUSTOMER, Status.RESOLVED) \
                    and row["responded_at"] is None:
                row["responded_at"] = at
            if status == Status.PENDING_CUSTOMER:
                row["paused_since"] = at
            if status == Status.RESOLVED:
                row["resolved_at"] = at
            if status == Status.CLOSED:
                row["closed_at"] = at
            events.append((ticket_id, to_db(at), row["handler_id"], EventKind.STATUS_CHANGED,
                           json.dumps({"from": row["status"], "to": status.value})))
        row["status"] = status.value
        row["updated_at"] = at
