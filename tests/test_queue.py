"""Queue reads: keyset pages in every sort and direction, filters, counts, remembered choices."""

from __future__ import annotations

import pytest

from agent_console.db import ts
from agent_console.services import directory
from agent_console.services.queue import SORTS, QueueFilter, QueueReader, Viewer
from agent_console.services.tickets import create_ticket


@pytest.fixture
def reader(demo_store):
    reader = QueueReader(demo_store.path)
    yield reader
    reader.close()


def _all(reader, flt, viewer, now_ts, limit=7):
    rows, key = [], None
    while True:
        page = reader.page(flt, viewer, now_ts=now_ts, limit=limit, after=key)
        rows += page
        if len(page) < limit:
            return rows
        key = page[-1].sort_key(flt.sort)


@pytest.mark.parametrize("sort", SORTS)
def test_paging_by_key_visits_every_row_once_in_order(reader, demo_store, sort):
    now_ts, viewer = ts(demo_store.clock.now()), Viewer(1)
    flt = QueueFilter(sort=sort)
    rows = _all(reader, flt, viewer, now_ts)
    assert len(rows) == reader.count(flt, viewer, now_ts=now_ts) == len({r.id for r in rows})
    keys = [r.sort_key(sort) for r in rows]
    assert keys == sorted(keys, reverse=sort == "newest")
    # Backwards from the end gives the same rows.
    back, key = [], None
    while True:
        page = reader.page(flt, viewer, now_ts=now_ts, limit=9, before=key, from_end=key is None)
        back = page + back
        if len(page) < 9:
            break
        key = page[0].sort_key(sort)
    assert [r.id for r in back] == [r.id for r in rows]
    # The count before a row is its position.
    middle = rows[len(rows) // 2]
    assert reader.count(flt, viewer, now_ts=now_ts, before=middle.sort_key(sort)) == len(rows) // 2


def test_most_urgent_first_and_overdue_rows_lead(reader, demo_store):
    now_ts = ts(demo_store.clock.now())
    rows = reader.page(QueueFilter(), Viewer(1), now_ts=now_ts, limit=400)
    dues = [r.due_key for r in rows]
    assert dues == sorted(dues) and dues[0] < now_ts


def test_filters(reader, demo_store):
    now_ts = ts(demo_store.clock.now())
    me = directory.find_agent(demo_store, "n101")
    viewer = Viewer(me.id, me.team, me.department)

    def rows(**f):
        return reader.page(QueueFilter(**f), viewer, now_ts=now_ts, limit=1000)

    everyone = rows()
    assert {r.handler_name for r in rows(scope="mine")} == {me.name}
    team = rows(scope="team")
    assert team and all(r.handler_name in ("赵军", "Sun Lei", "") for r in team)
    assert rows(state="overdue") and all(r.due_key <= now_ts for r in rows(state="overdue"))
    assert rows(state="warning") and all(r.warn_key <= now_ts < r.due_key for r in rows(state="warning"))
    assert {r.category for r in rows(category="billing")} == {"billing"}
    assert {r.channel for r in rows(channel="hall")} == {"hall"}
    assert {r.status for r in rows(view="closed")} <= {"resolved", "closed"}
    assert {r.status for r in rows(status="pending_customer")} == {"pending_customer"}
    assert len(everyone) > len(rows(category="billing"))


def test_text_filter_matches_number_name_phone_description_literally(reader, demo_store):
    now_ts, viewer = ts(demo_store.clock.now()), Viewer(1)
    created = create_ticket(demo_store, phone="13700001234", channel="hotline", work_type="fault",
                            category="broadband", description="100% 断网_急", customer_name="测试客户")

    def ids(text):
        return {r.id for r in reader.page(QueueFilter(text=text), viewer, now_ts=now_ts, limit=1000)}

    for text in (created.number, "测试客户", "0000123", "100%", "断网_急"):
        assert created.id in ids(text), text
    assert ids("%") >= {created.id} and len(ids("_急")) == 1
    assert ids("' OR 1=1 --") == set()


def test_filter_choice_is_remembered_per_agent(demo_store):
    flt = QueueFilter(scope="mine", state="overdue", category="billing", sort="grade", text="x")
    directory.save_queue_filter(demo_store, "a001", flt)
    assert directory.load_queue_filter(demo_store, "a001") == flt.with_(text="")
    assert directory.load_queue_filter(demo_store, "a002") == QueueFilter()
    directory.set_preference(demo_store, "a003", "queue_filter", '{"scope": "evil", "sort": 3}')
    assert directory.load_queue_filter(demo_store, "a003") == QueueFilter()
