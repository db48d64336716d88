"""The sandbox data a role-play run needs: the customer as the trainee finds them on looking them up.

A scenario's `[sandbox]` table: the customer, their plan (with its terms, including any the sale
left out), equipment, earlier tickets, an active outage when the scenario is about one, bill
lines and value-added subscriptions. Dates are relative (days_ago, months_ago,
started_minutes_ago) so the sandbox store can place them around the moment a run starts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agent_console.models.vocab import Status, Tier, WorkType
from agent_console.services.scripts import Text
from agent_console.services.training.phrases import Ident

Phone = Annotated[str, StringConstraints(pattern=r"^1\d{10}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SandboxCustomer(_Frozen):
    name: Text
    phone: Phone
    tier: Tier = Tier.STANDARD
    address: Text | None = None
    age: int | None = Field(default=None, ge=0, le=120)
    customer_since: int | None = Field(default=None, ge=1990, le=2100)


class Plan(_Frozen):
    code: Ident
    name: Text
    monthly_fee: Decimal = Field(ge=0)
    data_gb: Decimal | None = Field(default=None, ge=0)
    voice_minutes: int | None = Field(default=None, ge=0)
    contract_months_left: int = Field(default=0, ge=0)
    early_exit_fee: Decimal | None = Field(default=None, ge=0)
    terms: tuple[Text, ...] = ()


class Equipment(_Frozen):
    kind: Literal["modem", "router", "set_top_box", "phone", "sim"]
    model: str
    serial: str
    status: Text | None = None


class PastTicket(_Frozen):
    days_ago: int = Field(ge=0)
    work_type: WorkType
    category: Ident
    status: Status
    summary: Text


class Outage(_Frozen):
    area: Text
    cause: Text
    level: Literal["onu", "pon", "olt", "cell"]
    started_minutes_ago: int = Field(ge=0)
    restore_eta: Text


class Charge(_Frozen):
    months_ago: int = Field(ge=0)
    item: Text
    amount: Decimal
    disputed: bool = False


class Subscription(_Frozen):
    name: Text
    monthly_fee: Decimal = Field(ge=0)
    months_ago: int = Field(ge=0)
    channel: Text
    confirmed: bool = True


class Sandbox(_Frozen):
    customer: SandboxCustomer
    plan: Plan
    equipment: tuple[Equipment, ...] = ()
    tickets: tuple[PastTicket, ...] = ()
    outage: Outage | None = None
    charges: tuple[Charge, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
