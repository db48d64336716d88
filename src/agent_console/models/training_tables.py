"""Role-play training in the live store: runs, their events (polled by a watching trainer by
`seq`), assignments and certifications. The run's tickets and audit live in its sandbox store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from agent_console.models.tables import number_field, text_field, utc_field


class TrainingRun(SQLModel, table=True):
    __tablename__ = "training_run"
    __table_args__ = (Index("ix_training_run_trainee", "trainee", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    trainee: str  # agent code
    scenario: str
    seed: int = number_field()
    lang: str = text_field("zh")
    started_at: datetime = utc_field(nullable=False)
    ended_at: datetime | None = utc_field()
    state: str = text_field("running")  # running, finished, abandoned
    assigned_by: str | None = None
    assignment_id: int | None = None
    controller: str | None = None  # a trainer playing the customer's part
    last_seq: int = number_field()
    score: float | None = None
    passed: bool | None = None
    auto_fail: bool | None = None
    record: str = text_field("{}")  # moves.RunRecord as JSON
    result: str = text_field("{}")  # rubric.Result as JSON


class TrainingEvent(SQLModel, table=True):
    __tablename__ = "training_event"

    run_id: int = Field(primary_key=True, foreign_key="training_run.id")
    seq: int = Field(primary_key=True)
    at: datetime = utc_field(nullable=False)
    second: float = number_field(0.0)
    kind: str  # opening, move, whisper, trainer_line, take_over, release, watch, finish
    by: str = text_field()
    payload: str = text_field("{}")


class TrainingAssignment(SQLModel, table=True):
    __tablename__ = "training_assignment"

    id: int | None = Field(default=None, primary_key=True)
    trainer: str
    trainee: str
    scenario: str
    assigned_at: datetime = utc_field(nullable=False)
    due: datetime | None = utc_field()
    run_id: int | None = None


class Certification(SQLModel, table=True):
    __tablename__ = "certification"

    id: int | None = Field(default=None, primary_key=True)
    trainee: str
    at: datetime = utc_field(nullable=False)
    scenarios: str = text_field("[]")
