"""Outages and batch faults: where each customer's service runs, the outage records matched to
customers, the contacts answered from an outage, tickets linked to it, and the SMS outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from agent_console.models.tables import number_field, text_field, utc_field


class CustomerService(SQLModel, table=True):
    """Where a customer's service runs: the address, the broadband access path, the mobile cell."""

    __tablename__ = "customer_service"
    __table_args__ = (
        Index("ix_customer_service_pon", "olt", "pon_port"),
        Index("ix_customer_service_onu", "onu_serial"),
        Index("ix_customer_service_cell", "cell"),
        Index("ix_customer_service_area", "district", "street", "building"),
    )

    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    district: str = text_field()
    street: str = text_field()
    building: str = text_field()
    olt: str = text_field()
    pon_port: str = text_field()
    onu_serial: str = text_field()
    cell: str = text_field()


class Outage(SQLModel, table=True):
    """One outage: what, where (scope), since when, until when (ETA), why, and what to say."""

    __table_args__ = (Index("ix_outage_status", "status", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = text_field()
    kind: str  # unplanned | planned | degradation
    scope: str  # olt | pon | onu | area | cell
    olt: str = text_field()
    pon_port: str = text_field()
    onus: str = text_field("[]")  # JSON list of ONU serials (scope onu)
    district: str = text_field()
    street: str = text_field()
    building: str = text_field()
    cell: str = text_field()
    area: str = text_field()  # in words a customer knows: the affected districts and streets
    services: str = text_field("[]")  # JSON list: broadband, mobile, iptv, voice
    started_at: datetime = utc_field(nullable=False)
    eta: datetime | None = utc_field()
    cause: str = text_field()
    status: str  # suspected | confirmed | restoring | restored
    script_zh: str = text_field()
    script_en: str = text_field()
    owner: str = text_field()  # agent code
    ticket_policy: str = text_field("resolve")  # resolve | keep_open
    source: str = text_field("manual")  # manual | alarm
    created_at: datetime = utc_field(nullable=False)
    created_by: str = text_field()
    confirmed_at: datetime | None = utc_field()
    restored_at: datetime | None = utc_field()
    recovery_note: str = text_field()
    affected: int = number_field()


class OutageEta(SQLModel, table=True):
    """Every estimated restore time an outage has had, with who set it and when."""

    __tablename__ = "outage_eta"
    __table_args__ = (Index("ix_outage_eta_outage", "outage_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    outage_id: int = Field(foreign_key="outage.id", ondelete="CASCADE")
    at: datetime = utc_field(nullable=False)
    agent_code: str
    eta: datetime | None = utc_field()
    note: str = text_field()


class OutageCustomer(SQLModel, table=True):
    """The customers an outage hits, matched once when it is made."""

    __tablename__ = "outage_customer"
    __table_args__ = (Index("ix_outage_customer_customer", "customer_id", "outage_id"),)

    outage_id: int = Field(foreign_key="outage.id", primary_key=True, ondelete="CASCADE")
    customer_id: int = Field(foreign_key="customer.id", primary_key=True)


class OutageAlarm(SQLModel, table=True):
    """An imported network alarm, kept with the outage it made until it clears."""

    __tablename__ = "outage_alarm"
    __table_args__ = (Index("ix_outage_alarm_path", "olt", "pon_port", "onu_serial"),)

    id: int | None = Field(default=None, primary_key=True)
    outage_id: int | None = Field(default=None, foreign_key="outage.id")
    level: str  # olt | pon | onu
    olt: str = text_field()
    pon_port: str = text_field()
    onu_serial: str = text_field()
    raised_at: datetime = utc_field(nullable=False)
    cleared_at: datetime | None = utc_field()


class OutageContact(SQLModel, table=True):
    """A contact about an outage: answered from it on the spot, or one that needed a ticket."""

    __tablename__ = "outage_contact"
    __table_args__ = (Index("ix_outage_contact_outage", "outage_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    outage_id: int = Field(foreign_key="outage.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    at: datetime = utc_field(nullable=False)
    agent_code: str
    channel: str = text_field()
    outcome: str  # answered | ticket
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")


class OutageTicket(SQLModel, table=True):
    """A ticket linked to an outage; the outage's policy decides what its restore does to it."""

    __tablename__ = "outage_ticket"

    outage_id: int = Field(foreign_key="outage.id", primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    linked_at: datetime = utc_field(nullable=False)
    agent_code: str


class SmsOutbox(SQLModel, table=True):
    """Messages waiting to go, held outside quiet hours, retried with back-off; never dropped."""

    __tablename__ = "sms_outbox"
    __table_args__ = (
        UniqueConstraint("outage_id", "kind", "phone", name="uq_sms_outbox_once"),
        Index("ix_sms_outbox_due", "status", "not_before", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    outage_id: int | None = Field(default=None, foreign_key="outage.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    phone: str
    kind: str  # affected | restored
    lang: str = text_field("zh")
    body: str
    created_at: datetime = utc_field(nullable=False)
    not_before: datetime = utc_field(nullable=False)
    status: str = text_field("queued")  # queued | sent | failed (retrying)
    attempts: int = number_field()
    sent_at: datetime | None = utc_field()
    last_error: str = text_field()
