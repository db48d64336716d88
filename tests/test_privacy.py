"""Retention and erasure: a customer's personal data, planted everywhere the console keeps it,
leaves no trace in the store file once erased; reports read the same before and after."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from agent_console.services import customers, directory, knowledge, privacy, tickets
from agent_console.services.errors import Refused
from tests.conftest import actor_for

NAME, PHONE, ID_NUMBER, ADDRESS = "欧阳娜娜", "13987654321", "110101199003074512", "幸福路88号"
NEW_PHONE = "13811112222"


def _plant(store) -> int:
    """The customer in a ticket, a note, a resolution, a change log, a draft and a case."""
    agent = actor_for(store, "a001")
    boss = actor_for(store, "admin")
    created = tickets.create_ticket(store, agent, phone=PHONE, channel="hall", work_type="fault",
                                    category="broadband",
                                    description=f"{NAME} 住{ADDRESS}，宽带断网，回电 {PHONE}",
                                    customer_name=NAME)
    tickets.add_note(store, agent, ticket_id=created.id, text=f"已联系{NAME}，证件 {ID_NUMBER}")
    with store.read() as tx:
        customer_id = tx.scalar("SELECT customer_id FROM ticket WHERE id = ?", (created.id,))
    customers.change_customer(store, boss, customer_id=customer_id,
                              changes={"address": ADDRESS, "id_number": ID_NUMBER,
                                       "phone": NEW_PHONE}, reason="客户来厅更新资料")
    customers.change_customer(store, boss, customer_id=customer_id,
                              changes={"phone": PHONE}, reason="改回原号码")
    directory.set_preference(store, "a001", "new_ticket_draft",
                             json.dumps({"form": {"phone": PHONE, "name": NAME}},
                                        ensure_ascii=False))
    case = knowledge.create_case(store, actor_for(store, "s900"), case=knowledge.check_case(
        store, {"title": f"{NAME}家光猫掉线", "symptoms": f"{ADDRESS} 光猫 LOS 红灯",
                "cause": "光纤弯折", "resolution": f"上门处理，联系 {PHONE}",
                "source_ticket_id": created.id}))
    knowledge.update_case(store, actor_for(store, "s900"), case_id=case.id,
                          changes={"prevention": f"提醒{NAME}勿压光纤"})
    with store.write() as tx:  # where the capabilities keep them: location, SMS, walk-ins
        tx.execute("INSERT INTO customer_service (customer_id, district, street, building, olt) "
                   "VALUES (?, '浦东', ?, '3号楼', 'OLT-PD-01') ON CONFLICT (customer_id) DO "
                   "UPDATE SET street = excluded.street", (customer_id, ADDRESS))
        tx.execute("INSERT INTO sms_outbox (customer_id, phone, kind, body, created_at, "
                   "not_before) VALUES (?, ?, 'affected', ?, '2026-11-24 02:00:00.000000', "
                   "'2026-11-24 02:00:00.000000')", (customer_id, PHONE, f"{NAME}您好，宽带故障"))
        tx.execute("INSERT INTO hall_visit (day, number, service, customer_id, phone_masked, "
                   "phone, issued_at, line_at) VALUES ('2026-11-24', 'A901', 'business', ?, "
                   "'139****4321', ?, '2026-11-24 02:00:00.000000', "
                   "'2026-11-24 02:00:00.000000')", (customer_id, PHONE))
    return customer_id


def _traces(store) -> list[str]:
    """Every planted value found anywhere in the store file or its log, by plain reading; on
    PostgreSQL (no file of its own) in any row of any table."""
    if store.is_sqlite:
        raw = b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*")
                       if not p.name.endswith(".witness"))
    else:
        raw = "".join(_table_dumps(store).values()).encode()
    return [value for value in (NAME, PHONE, ID_NUMBER, ADDRESS, NEW_PHONE)
            if value.encode() in raw]


def _table_dumps(store) -> dict[str, str]:
    """Every table's rows, as text."""
    tables = ("SELECT name FROM sqlite_master WHERE type = 'table'" if store.is_sqlite else
              "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    with store.read() as tx:
        return {table: json.dumps([tuple(row) for row in tx.all(f'SELECT * FROM "{table}"')],
                                  ensure_ascii=False, default=str)
                for (table,) in tx.all(tables)}


def test_erasure_leaves_no_trace_in_the_file(demo_store):
    customer_id = _plant(demo_store)
    assert set(_traces(demo_store)) >= {NAME, PHONE, ID_NUMBER, ADDRESS}
    report = privacy.erase_customer(demo_store, actor_for(demo_store, "admin"), phone=PHONE,
                                    reason="客户依法申请删除个人信息", reference="DSR-2026-118")
    assert report.tickets == 1 and report.drafts == 1 and report.cases == 1
    assert report.other == {"service_location": 1, "sms": 1, "walk_ins": 1}
    assert _traces(demo_store) == []
    for table, dump in _table_dumps(demo_store).items():  # nothing in any table, the index included
        assert not [v for v in (NAME, PHONE, ID_NUMBER, ADDRESS) if v in dump], table
    with demo_store.read() as tx:
        record = tx.one("SELECT detail FROM audit_log WHERE action = 'erasure'")
    detail = json.loads(record[0])
    assert detail["reference"] == "DSR-2026-118" and detail["tickets"] == 1
    assert not knowledge.find_cases(demo_store, query=NAME).hits
    assert knowledge.find_cases(demo_store, query="光猫").hits  # the case itself stays
    again = tickets.create_ticket(demo_store, actor_for(demo_store, "a001"), phone=PHONE,
                                  channel="hotline", work_type="consultation",
                                  category="billing", description="咨询话费")
    with demo_store.read() as tx:  # a later contact starts a fresh customer
        fresh = tx.scalar("SELECT customer_id FROM ticket WHERE id = ?", (again.id,))
    assert fresh != customer_id


def test_erasure_needs_the_role_a_reason_and_a_reference(demo_store):
    _plant(demo_store)
    with pytest.raises(Refused):
        privacy.erase_customer(demo_store, actor_for(demo_store, "s900"), phone=PHONE,
                               reason="申请", reference="R1")
    with pytest.raises(privacy.InputError):
        privacy.erase_customer(demo_store, actor_for(demo_store, "admin"), phone=PHONE,
                               reason="  ", reference="R1")
    assert NAME in _traces(demo_store)


def _figures(store) -> list[tuple]:
    """What the reports read: categories, channels, grades, statuses, SLA outcomes, times."""
    with store.read() as tx:
        return [tuple(r) for r in tx.all(
            "SELECT category, channel, grade, status, count(*), count(response_breached_at), "
            "count(resolution_breached_at), min(created_at), max(closed_at) "
            "FROM ticket GROUP BY category, channel, grade, status ORDER BY 1, 2, 3, 4")]


def test_retention_anonymises_old_closed_tickets_and_keeps_the_figures(demo_store):
    before = _figures(demo_store)
    admin = actor_for(demo_store, "admin")
    demo_store.clock.advance(timedelta(days=800))
    counted = privacy.retention_run(demo_store, admin, dry_run=True)
    with demo_store.read() as tx:
        closed = tx.scalar("SELECT count(*) FROM ticket WHERE status = 'closed'")
    assert counted.tickets == closed and counted.customers > 0
    assert _figures(demo_store) == before  # a dry run changes nothing
    done = privacy.retention_run(demo_store, admin)
    assert (done.tickets, done.customers) >= (counted.tickets, counted.customers)
    assert _figures(demo_store) == before
    with demo_store.read() as tx:
        assert tx.scalar("SELECT count(*) FROM ticket WHERE status = 'closed' AND "
                         "description != ''") == 0
        assert tx.scalar("SELECT count(*) FROM ticket WHERE is_open = 1 AND description = ''") == 0
    with pytest.raises(Refused):
        privacy.retention_run(demo_store, actor_for(demo_store, "a001"))


def test_retention_periods_are_site_policy(demo_store):
    from agent_console.services import site

    admin = actor_for(demo_store, "admin")
    site.import_document(demo_store, admin, kind="retention",
                         text="closed_ticket_days = 30\ncustomer_days = 60\n")
    assert privacy.retention_policy(demo_store) == privacy.RetentionPolicy(30, 60)
    with pytest.raises(privacy.InputError):
        site.import_document(demo_store, admin, kind="retention", text="closed_ticket_days = 0\n")
