"""Incident types and their custom fields (policy ``incidents.types``): reading them from a command's
``type=security name=value`` words and from the declaration form, checking them against the type,
showing them, and filtering incidents by them (``/incident list``, ``/incident stats``).

Values are kept as strings on the incident (``Incident.fields``): a select field's value is its
option as the policy spells it, a number its shortest decimal form, a user field the user's ID.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
    UserSelectElement,
)

from bot.blocks import clip, escape
from bot.config.incident_types import OPTION_MAX, TEXT_MAX, FieldSpec, IncidentType
from bot.config.policy import Policy
from bot.core.models import Incident
from bot.text import plain

TYPE_BLOCK = "incident_type"
TYPE_ACTION = "incident_type_choice"
FIELD_BLOCK = "field:"  # + the field's name
FIELD_ACTION = "value"
NO_TYPE = "-"

_ASSIGN = re.compile(r'(?<!\S)([A-Za-z][A-Za-z0-9_]{0,39})=("[^"]*"|“[^”]*”|\S*)')
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^([UW][A-Z0-9]{2,})$")


class FieldProblem(ValueError):
    """A sentence saying what is wrong with a type or a field's value."""


def split_assignments(text: str) -> tuple[str, dict[str, str]]:
    """``critical "DB down" type=security vector=phishing`` -> (``critical "DB down"``, {type: security,
    vector: phishing}); a quoted value keeps its spaces; ``name=`` inside a quoted title stays there."""
    found: dict[str, str] = {}
    parts = re.split(r'("[^"]*"|“[^”]*”)', text)
    out: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if i % 2:  # a quoted stretch: a value when it follows "name=" directly
            if out and re.search(r"(?<!\S)[A-Za-z][A-Za-z0-9_]{0,39}=$", out[-1]):
                head, _, name = out[-1].rpartition(" ")
                key = name[:-1].lower()
                if key in found:
                    raise FieldProblem(f"`{key}` is given twice.")
                found[key] = part[1:-1].strip()
                out[-1] = head
            else:
                out.append(part)
            i += 1
            continue

        def take(m: re.Match[str]) -> str:
            key, value = m.group(1).lower(), m.group(2)
            if not value:  # "name=" before a quoted value: the next part holds it
                return m.group(0)
            if key in found:
                raise FieldProblem(f"`{key}` is given twice.")
            found[key] = value.strip('"“”')
            return ""

        out.append(_ASSIGN.sub(take, part))
        i += 1
    return " ".join("".join(out).split()), found


def normalise(spec: FieldSpec, raw: str) -> str:
    """A field's value as it is kept, or :class:`FieldProblem` saying what is wrong."""
    label = spec.shown_label
    value = " ".join(plain(raw).split()) if spec.type != "user" else raw.strip()
    if not value:
        raise FieldProblem(f"{label} is empty.")
    if spec.type == "text":
        if len(value) > TEXT_MAX:
            raise FieldProblem(f"{label} is {len(value)} characters long; at most {TEXT_MAX}.")
        return value
    if spec.type == "select":
        chosen = next((o for o in spec.options if o.lower() == value.lower()), None)
        if chosen is None:
            raise FieldProblem(f"{label} is one of: {', '.join(spec.options)} (not `{clip(value, 40)}`).")
        return chosen
    if spec.type == "number":
        try:
            number = float(value.replace(",", "").replace("_", ""))
        except ValueError:
            raise FieldProblem(f"{label} is a number (not `{clip(value, 40)}`).") from None
        if not math.isfinite(number):
            raise FieldProblem(f"{label} is a finite number.")
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    m = _USER.match(value)
    if m is None:
        raise FieldProblem(f"{label} is a person: mention them (@name).")
    return m.group(1) or m.group(2)


@dataclass
class Checked:
    type: str | None
    fields: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # field name (or "type") -> sentence

    def sentence(self) -> str:
        return " ".join(self.problems.values())


def type_names(policy: Policy) -> str:
    return ", ".join(policy.incidents.types) or "none are configured"


def check(policy: Policy, type_name: str | None, given: dict[str, str]) -> Checked:
    """The type and its fields from what was given; each problem is one sentence under the field's name
    (``type`` for the type): an unknown type or field, a bad value, a required field left out."""
    types = policy.incidents.types
    if type_name is None or type_name in ("", NO_TYPE):
        out = Checked(None)
        if given:
            names = ", ".join(f"`{k}`" for k in given)
            if types:
                out.problems["type"] = (
                    f"{names}: fields belong to an incident type; add `type=` ({type_names(policy)})."
                )
            else:
                out.problems["type"] = f"{names}: no incident types with fields are configured."
        return out
    name = type_name.strip().lower()
    itype = types.get(name)
    if itype is None:
        return Checked(
            None,
            problems={"type": f"`{clip(type_name, 40)}` is not an incident type ({type_names(policy)})."},
        )
    out = Checked(name)
    for key, raw in given.items():
        spec = itype.field(key)
        if spec is None:
            known = ", ".join(f.name for f in itype.fields) or "none"
            out.problems[key] = f"`{key}` is not a field of {name} incidents (its fields: {known})."
            continue
        try:
            out.fields[spec.name] = normalise(spec, raw)
        except FieldProblem as exc:
            out.problems[spec.name] = str(exc)
    for spec in itype.fields:
        if spec.required and spec.name not in out.fields and spec.name not in out.problems:
            out.problems[spec.name] = (
                f"{spec.shown_label} is required for {name} incidents (`{spec.name}=…`)."
            )
    return out


# -- showing -----------------------------------------------------------------------------------


def shown_value(spec: FieldSpec | None, value: str) -> str:
    if spec is not None and spec.type == "user" and _USER.match(value):
        return f"<@{value}>"
    return escape(value)


def type_label(policy: Policy, inc: Incident) -> str | None:
    if not inc.type:
        return None
    itype = policy.incidents.incident_type(inc.type)
    return (itype.label if itype and itype.label else None) or inc.type.replace("_", " ").capitalize()


def pairs(policy: Policy, inc: Incident) -> list[tuple[str, str]]:
    """(label, mrkdwn value) for the incident's type and fields, in the policy's order."""
    label = type_label(policy, inc)
    if label is None:
        return []
    out = [("Type", escape(label))]
    itype = policy.incidents.incident_type(inc.type)
    specs = {s.name: s for s in itype.fields} if itype else {}
    order = [s.name for s in itype.fields] if itype else []
    for name in [
        *order,
        *sorted(set(inc.fields) - set(order)),
    ]:  # a field dropped from the policy still shows
        if name in inc.fields:
            spec = specs.get(name)
            out.append((spec.shown_label if spec else name, shown_value(spec, inc.fields[name])))
    return out


def plain_pairs(policy: Policy, inc: Incident) -> list[tuple[str, str]]:
    """The same as plain text (the review): users as their IDs for the review's name look-up."""
    return [(k, v) for k, v in ((k, re.sub(r"<@([UW][A-Z0-9]+)>", r"\1", v)) for k, v in pairs(policy, inc))]


# -- filtering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    type: str | None = None
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def active(self) -> bool:
        return self.type is not None or bool(self.fields)

    def describe(self) -> str:
        words = ([f"type={self.type}"] if self.type else []) + [f"{k}={v}" for k, v in self.fields]
        return " ".join(words)


def make_filter(policy: Policy, given: dict[str, str]) -> Filter:
    """A filter from ``type=… name=value`` words; :class:`FieldProblem` for an unknown type or field."""
    given = dict(given)
    type_name = given.pop("type", None)
    if type_name is not None and policy.incidents.incident_type(type_name) is None:
        raise FieldProblem(f"`{clip(type_name, 40)}` is not an incident type ({type_names(policy)}).")
    known = {f.name: f for t in policy.incidents.types.values() for f in t.fields}
    if type_name is not None:
        itype = policy.incidents.incident_type(type_name)
        known = {f.name: f for f in itype.fields} if itype else {}
    wanted: list[tuple[str, str]] = []
    for key, raw in given.items():
        spec = known.get(key)
        if spec is None:
            raise FieldProblem(f"`{key}` is not a field of {type_name or 'any'} incidents.")
        try:
            wanted.append((key, normalise(spec, raw)))
        except FieldProblem:
            wanted.append((key, raw.strip()))  # filter as given: it matches nothing stored
    return Filter(type_name.strip().lower() if type_name else None, tuple(wanted))


def matches(inc: Incident, flt: Filter) -> bool:
    if flt.type is not None and inc.type != flt.type:
        return False
    return all(inc.fields.get(k, "").lower() == v.lower() for k, v in flt.fields)


# -- the declaration form ------------------------------------------------------------------------


def type_block(policy: Policy, chosen: str | None) -> InputBlock | None:
    """The form's type select (None without types); picking one re-draws the form with its fields."""
    if not policy.incidents.types:
        return None
    options = [Option(text=PlainTextObject(text="No type"), value=NO_TYPE)] + [
        Option(
            text=PlainTextObject(text=clip((t.label or name.replace("_", " ").capitalize()), OPTION_MAX)),
            value=name,
        )
        for name, t in list(policy.incidents.types.items())[:99]
    ]
    initial = next((o for o in options if o.value == chosen), None)
    return InputBlock(
        block_id=TYPE_BLOCK,
        optional=True,
        dispatch_action=True,
        label=PlainTextObject(text="Type"),
        hint=PlainTextObject(text="Each type has its own fields; they appear when you pick it"),
        element=StaticSelectElement(
            action_id=TYPE_ACTION,
            placeholder=PlainTextObject(text="Pick a type"),
            options=options,
            initial_option=initial,
        ),
    )


def _element(spec: FieldSpec) -> Any:
    if spec.type == "select":
        return StaticSelectElement(
            action_id=FIELD_ACTION,
            placeholder=PlainTextObject(text=f"Pick {clip(spec.shown_label, 60)}"),
            options=[Option(text=PlainTextObject(text=o), value=o) for o in spec.options],
        )
    if spec.type == "user":
        return UserSelectElement(action_id=FIELD_ACTION, placeholder=PlainTextObject(text="Pick a person"))
    if spec.type == "number":
        return NumberInputElement(action_id=FIELD_ACTION, is_decimal_allowed=True)
    return PlainTextInputElement(action_id=FIELD_ACTION, max_length=TEXT_MAX)


def field_blocks(itype: IncidentType | None) -> list[Block]:
    if itype is None:
        return []
    return [
        InputBlock(
            block_id=f"{FIELD_BLOCK}{spec.name}",
            optional=not spec.required,
            label=PlainTextObject(text=clip(spec.shown_label, 2000)),
            element=_element(spec),
        )
        for spec in itype.fields
    ]


def from_form(policy: Policy, values: dict[str, dict[str, Any]]) -> tuple[Checked, dict[str, str]]:
    """The type and fields of a submitted form, and field errors keyed by the form's block IDs."""
    picked = (values.get(TYPE_BLOCK) or {}).get(TYPE_ACTION)
    type_name = str(picked) if picked and picked != NO_TYPE else None
    given = {
        block[len(FIELD_BLOCK) :]: str(v)
        for block, acts in values.items()
        if block.startswith(FIELD_BLOCK)
        for v in [acts.get(FIELD_ACTION)]
        if v not in (None, "")
    }
    checked = check(policy, type_name, given)
    shown = {b[len(FIELD_BLOCK) :] for b in values if b.startswith(FIELD_BLOCK)}
    errors: dict[str, str] = {}
    for name, problem in checked.problems.items():
        if name in shown:
            errors[f"{FIELD_BLOCK}{name}"] = clip(problem, 150)
        else:  # the form does not show this type's fields (it was not re-drawn): pick the type again
            errors[TYPE_BLOCK] = clip(f"{problem} Pick the type again to show its fields.", 150)
    return checked, errors
