"""Runbook views: the list, a runbook over one or more messages, diagnostics progress and results,
remediation buttons with confirm dialogs. Pure functions of their inputs → Block Kit models."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    Option,
    PlainTextObject,
    StaticSelectElement,
)

from bot.blocks import clip, context, header, limit_blocks, section
from bot.runbooks.diagnostics import DiagnosticResult
from bot.runbooks.loader import RunbookLibrary
from bot.runbooks.markdown import Part, chunk_parts, escape, markdown_to_parts, paginate
from bot.runbooks.model import Runbook

RUN = "runbook_run"
REMEDIATE = "runbook_remediate"
SCALE = "runbook_scale"

ICONS = {
    "ok": ":white_check_mark:",
    "attention": ":warning:",
    "failed": ":x:",
    "pending": ":hourglass_flowing_sand:",
}
ACTION_LABELS = {"rollout_restart": "Restart rollout", "rollout_undo": "Roll back", "scale": "Scale to…"}


# ------------------------------------------------------------------------------------------ listing


def runbook_list(library: RunbookLibrary) -> list[Block]:
    blocks: list[Block] = [header("Runbooks")]
    if not library.runbooks:
        blocks.append(
            section("No runbooks found. Put Markdown files in the directories under `runbooks.paths`.")
        )
    lines = []
    for rb in library.all():
        extras = []
        if rb.diagnostics:
            extras.append(f"{len(rb.diagnostics)} diagnostic{'' if len(rb.diagnostics) == 1 else 's'}")
        if rb.alerts:
            extras.append("alerts: " + ", ".join(f"`{escape(a)}`" for a in rb.alerts[:4]))
        suffix = f" — {'; '.join(extras)}" if extras else ""
        lines.append(f"• `{escape(rb.name)}` *{escape(rb.title)}*{suffix}")
    if lines:
        blocks.extend(section(chunk) for chunk in _join_under(lines, 2900))
        blocks.append(
            context(
                "Show one with `/runbook <name>`; post it into an incident with `/runbook <name> INC-12`."
            )
        )
    if library.errors:
        blocks.append(context(":warning: Not loaded: " + "; ".join(escape(e) for e in library.errors[:5])))
    return limit_blocks(blocks)


def _join_under(lines: Sequence[str], limit: int) -> list[str]:
    chunks, current = [], ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            chunks.append(current)
            current = line
        else:
            current = candidate
    return [*chunks, current] if current else chunks


def not_found(name: str, suggestions: Sequence[str]) -> list[Block]:
    text = f":mag: No runbook called `{escape(name)}`."
    if suggestions:
        text += " Did you mean " + " or ".join(f"`{escape(s)}`" for s in suggestions) + "?"
    else:
        text += " `/runbook` lists them all."
    return [section(text)]


# ------------------------------------------------------------------------------------------ runbook


def run_value(runbook: str, incident_id: str | None, labels: Mapping[str, str] | None = None) -> str:
    data: dict[str, object] = {"runbook": runbook, "incident": incident_id}
    if labels:
        data["labels"] = dict(labels)
    value = json.dumps(data, separators=(",", ":"))
    if len(value) > 2000:  # Slack's limit for a button value: keep the runbook and incident
        value = json.dumps({"runbook": runbook, "incident": incident_id}, separators=(",", ":"))
    return value


def runbook_pages(
    runbook: Runbook, incident_id: str | None = None, labels: Mapping[str, str] | None = None
) -> list[list[Block]]:
    """The runbook as messages: the first (header, summary, text, Run diagnostics) goes to the channel,
    the others continue in its thread. Every section is under 3000 characters; nothing is cut."""
    sections = chunk_parts(markdown_to_parts(runbook.body, skip_title=runbook.title))
    pages = paginate(sections, max_blocks=45, first_page_blocks=40)
    first: list[Block] = [header(runbook.title)]
    about = [f"`{escape(runbook.name)}`"]
    if runbook.summary:
        about.append(escape(runbook.summary))
    if incident_id:
        about.append(f"for {escape(incident_id)}")
    if labels:
        about.append(" ".join(f"`{escape(k)}={escape(v)}`" for k, v in labels.items()))
    if len(pages) > 1:
        about.append(f"continues in the thread ({len(pages) - 1} more)")
    first.append(context(" · ".join(about)))
    first.extend(_part_block(p) for p in pages[0])
    if runbook.diagnostics:
        names = ", ".join(d.name for d in runbook.diagnostics)
        first.append(context(clip(f"Diagnostics: {escape(names)}", 2900)))
        first.append(
            ActionsBlock(
                block_id="runbook_actions",
                elements=[
                    ButtonElement(
                        text=PlainTextObject(text="Run diagnostics", emoji=True),
                        action_id=RUN,
                        value=run_value(runbook.name, incident_id, labels),
                        style="primary",
                    )
                ],
            )
        )
    out = [first]
    for n, page in enumerate(pages[1:], start=2):
        blocks: list[Block] = [_part_block(p) for p in page]
        blocks.append(context(f"{escape(runbook.title)} — part {n} of {len(pages)}"))
        out.append(blocks)
    return out


def _part_block(part: Part) -> Block:
    return DividerBlock() if part.kind == "divider" else section(part.text)


def page_text(runbook: Runbook, n: int, total: int) -> str:
    return f"{runbook.title}" if n == 1 else f"{runbook.title} (part {n} of {total})"


# ---------------------------------------------------------------------------------------- diagnostics


def progress(title: str, names: Sequence[str], done: dict[str, DiagnosticResult]) -> list[Block]:
    """The diagnostics message while checks run: one progress line, updated in place."""
    marks = []
    for name in names:
        result = done.get(name)
        icon = ICONS[result.status] if result else ICONS["pending"]
        marks.append(f"{icon} {escape(name)}")
    head = f":stethoscope: Diagnostics for *{escape(title)}*: {len(done)}/{len(names)} done"
    return [section(head), context(clip(" · ".join(marks), 2900))]


@dataclass(frozen=True)
class RemediationTarget:
    cluster: str
    namespace: str
    deployment: str
    incident: str | None
    replicas: int | None = None  # desired replicas, when known


def results(
    title: str,
    results_: Sequence[DiagnosticResult],
    *,
    remediation: RemediationTarget | None = None,
    actions: Sequence[str] = (),
    max_replicas: int = 50,
) -> list[Block]:
    ok = sum(1 for r in results_ if r.ok)
    failed = len(results_) - ok
    attention = sum(1 for r in results_ if r.ok and r.attention)
    summary = f":stethoscope: Diagnostics for *{escape(title)}*: {ok}/{len(results_)} check{'' if len(results_) == 1 else 's'} ran"
    if failed:
        summary += f", *{failed} failed*"
    if attention:
        summary += f", {attention} found something"
    blocks: list[Block] = [section(summary)]
    for r in results_:
        icon = ICONS[r.status]
        if not r.ok:
            blocks.append(
                section(f"{icon} *{escape(r.name)}* — failed: {escape(r.reason or 'unknown reason')}")
            )
            continue
        body = "\n".join(r.lines) or "no findings"
        graph = "\n_graph in the thread_" if r.graph_png else ""
        blocks.append(section(clip(f"{icon} *{escape(r.name)}*\n{body}{graph}", 2990)))
    if remediation is not None and actions:
        blocks.append(DividerBlock())
        blocks.append(
            context(
                f"Remediation for deployment `{escape(remediation.deployment)}`"
                f" in `{escape(remediation.namespace)}` (cluster {escape(remediation.cluster)}):"
                " allowed people only, each asks to confirm."
            )
        )
        blocks.append(remediation_actions(remediation, actions, max_replicas))
    return limit_blocks(blocks)


def remediation_value(target: RemediationTarget, action: str, replicas: int | None = None) -> str:
    data: dict[str, str | int | None] = {
        "a": action,
        "c": target.cluster,
        "n": target.namespace,
        "d": target.deployment,
        "i": target.incident,
    }
    if replicas is not None:
        data["r"] = replicas
    return json.dumps(data, separators=(",", ":"))


def _confirm(title: str, text: str) -> ConfirmObject:
    """A confirmation dialog; Slack shows every text of it as plain_text (no mrkdwn, no escaping)."""
    return ConfirmObject(
        title=PlainTextObject(text=clip(title, 100)),
        text=PlainTextObject(text=clip(text, 300)),
        confirm=PlainTextObject(text="Yes, do it"),
        deny=PlainTextObject(text="Cancel"),
        style="danger",
    )


def scale_choices(current: int | None, max_replicas: int) -> list[int]:
    base = current if current is not None else 1
    wanted = {base - 1, base + 1, base + 2, base * 2, 0 if base > 1 else 1}
    return sorted(n for n in wanted if 0 <= n <= max_replicas and n != current)[:10]


def remediation_actions(target: RemediationTarget, actions: Sequence[str], max_replicas: int) -> ActionsBlock:
    where = f"{target.deployment} in {target.namespace} on {target.cluster}"  # plain_text: as is
    elements: list[ButtonElement | StaticSelectElement] = []
    for action in actions:
        if action == "scale":
            choices = scale_choices(target.replicas, max_replicas)
            if not choices:
                continue
            elements.append(
                StaticSelectElement(
                    action_id=SCALE,
                    placeholder=PlainTextObject(text=ACTION_LABELS["scale"]),
                    options=[
                        Option(
                            text=PlainTextObject(text=f"{n} replica{'' if n == 1 else 's'}"),
                            value=remediation_value(target, "scale", n),
                        )
                        for n in choices
                    ],
                    confirm=_confirm("Scale the deployment?", f"Change the replica count of {where}."),
                )
            )
        else:
            what = (
                f"This will restart every pod of {where}."
                if action == "rollout_restart"
                else f"This will roll {where} back to its previous revision."
            )
            elements.append(
                ButtonElement(
                    text=PlainTextObject(text=ACTION_LABELS[action]),
                    action_id=f"{REMEDIATE}_{action}",
                    value=remediation_value(target, action),
                    style="danger",
                    confirm=_confirm(f"{ACTION_LABELS[action]}?", what),
                )
            )
    return ActionsBlock(block_id="runbook_remediation", elements=elements)
