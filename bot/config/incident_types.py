"""``incidents.types`` in the policy: incident types, each with its own fields.

    incidents:
      types:
        security:
          label: Security
          fields:
            - {name: attack_vector, type: select, required: true, options: [phishing, credentials, malware]}
            - {name: reporter, type: user}
            - {name: records_exposed, type: number}
            - {name: ticket, type: text, label: "SOC ticket"}

Field types: ``text`` (one line, at most 500 characters), ``select`` (one of ``options``), ``user`` (a
Slack user) and ``number``. A leaf module: it imports no other policy module.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FieldType = Literal["text", "select", "user", "number"]
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RESERVED = {"type", "severity", "service", "title", "status", "scope"}  # words /incident already uses
TEXT_MAX = 500
OPTION_MAX = 75  # Slack: an option's text is at most 75 characters
FIELDS_MAX = 20  # keeps the declaration form well within Slack's 100 blocks


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: FieldType = "text"
    label: str | None = None
    required: bool = False
    options: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip().lower()
        if not NAME.fullmatch(v):
            raise ValueError(
                "a field name is lower-case letters, digits or _ (at most 40), starting with a letter"
            )
        if v in RESERVED:
            raise ValueError(f"{v!r} is a word /incident already uses; name the field differently")
        return v

    @model_validator(mode="after")
    def _options(self) -> FieldSpec:
        if self.type == "select":
            if not 1 <= len(self.options) <= 100:
                raise ValueError(f"field {self.name!r}: a select field needs 1 to 100 options")
            if any(not o.strip() or len(o) > OPTION_MAX for o in self.options):
                raise ValueError(f"field {self.name!r}: each option is 1 to {OPTION_MAX} characters")
            if len({o.lower() for o in self.options}) != len(self.options):
                raise ValueError(f"field {self.name!r}: options must differ")
        elif self.options:
            raise ValueError(f"field {self.name!r}: only select fields have options")
        return self

    @property
    def shown_label(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


class IncidentType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str | None = None
    fields: list[FieldSpec] = Field(default_factory=list, max_length=FIELDS_MAX)

    @model_validator(mode="after")
    def _unique(self) -> IncidentType:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("field names must be unique within a type")
        return self

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name.strip().lower()), None)


def check_type_names(types: dict[str, IncidentType]) -> dict[str, IncidentType]:
    for name in types:
        if not NAME.fullmatch(name):
            raise ValueError(
                f"incident type {name!r}: lower-case letters, digits or _, starting with a letter"
            )
    if len(types) > 100:
        raise ValueError("at most 100 incident types (a select menu holds 100 options)")
    return types
