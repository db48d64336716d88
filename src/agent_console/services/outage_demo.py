"""Where the demo customers' services run, and a demo outage that hits some of them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agent_console.db import to_db
from agent_console.services.store import Tx

# district, streets, OLT, cell prefix
AREAS = (("浦东新区", ("张江路", "碧波路", "祖冲之路"), "OLT-PD-01", "SH-PD"),
         ("徐汇区", ("漕溪北路", "天钥桥路"), "OLT-XH-02", "SH-XH"),
         ("静安区", ("南京西路", "延安中路"), "OLT-JA-03", "SH-JA"))
PORTS = ("1/1/1", "1/1/2", "1/1/3", "1/1/4")
DEMO_PON = ("OLT-PD-01", "1/1/2")


def service_row(customer_id: int) -> tuple[Any, ...]:
    """A stable service location for a customer id (the demo's and the benchmark's)."""
    district, streets, olt, cell = AREAS[customer_id % len(AREAS)]
    street = streets[(customer_id // len(AREAS)) % len(streets)]
    port = PORTS[(customer_id // 7) % len(PORTS)]
    building = f"{(customer_id % 40) + 1}号"
    return (customer_id, district, street, building, olt, port, f"ZTEG{customer_id:08X}",
            f"{cell}-{(customer_id % 12) + 1:04d}")


def fill_outage_demo(tx: Tx, customer_ids: list[int]) -> None:
    """Inside fill_demo's transaction: services for every customer, a confirmed PON-port outage
    (with a revised ETA, answered calls and a linked ticket) and one restored this morning."""
    from agent_console.services import outage as outages
    from agent_console.services.sms import SmsPolicy

    tx.executemany("INSERT INTO customer_service (customer_id, district, street, building, olt,"
                   " pon_port, onu_serial, cell) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [service_row(c) for c in customer_ids])
    now = tx.now
    olt, port = DEMO_PON
    view = outages.create_in(
        tx, kind="unplanned", scope="pon", olt=olt, pon_port=port,
        services=("broadband", "iptv"), started_at=now - timedelta(minutes=40),
        eta=now + timedelta(hours=2), cause="光缆被施工挖断 / fibre cut by roadworks",
        status="confirmed", policy=SmsPolicy())
    tx.execute("INSERT INTO outage_eta (outage_id, at, agent_code, eta, note) VALUES (?, ?, ?, ?, ?)",
               (view.id, to_db(now - timedelta(minutes=35)), "s900",
                to_db(now + timedelta(hours=1)), "初步估计 / first estimate"))
    hit = [r.customer_id for r in tx.all("SELECT customer_id FROM outage_customer WHERE "
                                         "outage_id = ? ORDER BY customer_id", (view.id,))]
    for i, customer in enumerate(hit[:6]):
        tx.execute("INSERT INTO outage_contact (outage_id, customer_id, at, agent_code, channel,"
                   " outcome) VALUES (?, ?, ?, ?, ?, 'answered')",
                   (view.id, customer, to_db(now - timedelta(minutes=30 - i * 4)), "a002",
                    "hotline"))
    ticket = tx.one("SELECT id, customer_id FROM ticket WHERE is_open = 1 AND customer_id IN "
                    f"({', '.join('?' * len(hit))}) ORDER BY id LIMIT 1", hit) if hit else None
    if ticket is not None:
        tx.execute("INSERT INTO outage_ticket (outage_id, ticket_id, linked_at, agent_code) "
                   "VALUES (?, ?, ?, ?)", (view.id, ticket.id, to_db(now - timedelta(minutes=20)),
                                           "a002"))
        tx.execute("INSERT INTO outage_contact (outage_id, customer_id, at, agent_code, channel,"
                   " outcome, ticket_id) VALUES (?, ?, ?, ?, 'hall', 'ticket', ?)",
                   (view.id, ticket.customer_id, to_db(now - timedelta(minutes=20)), "a002",
                    ticket.id))
    old = outages.create_in(
        tx, kind="planned", scope="cell", cell="SH-XH-0002", services=("mobile",),
        started_at=now - timedelta(hours=6), eta=now - timedelta(hours=4),
        cause="基站割接 / planned cell-site cut-over", status="confirmed", policy=SmsPolicy())
    outages.status_in(tx, outage_id=old.id, status="restored", policy=SmsPolicy())
    # the demo's outages are the supervisor's
    tx.execute("UPDATE outage SET owner = 's900', created_by = 's900'")
    tx.execute("UPDATE outage_eta SET agent_code = 's900'")
