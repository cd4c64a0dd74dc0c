"""Runbook views: the list, a runbook over one or more messages, diagnostics progress and results,
remediation buttons with confirm dialogs. Pure functions of their inputs → Block Kit models."""

from __future__ import annotations

import hashlib
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
from bot.slack.limits import MESSAGE_TEXT_BUDGET, text_chars

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
OPTION_VALUE_MAX = 150  # Slack's limit for an option's value
PAGE_NOTE_MAX = 300  # the "part n of m" / "continues in the thread" line of a page
MAX_PAGE_BLOCKS = 45  # of Slack's 50 a message, with room for the view's own blocks
LIST_TEXT_MAX = 9_000  # the runbook list's lines in one message


# ------------------------------------------------------------------------------------------ listing


def runbook_list(library: RunbookLibrary) -> list[Block]:
    blocks: list[Block] = [header("Runbooks")]
    if not library.runbooks:
        blocks.append(
            section("No runbooks found. Put Markdown files in the directories under `runbooks.paths`.")
        )
    lines: list[str] = []
    used, everything = 0, library.all()
    for rb in everything:
        extras = []
        if rb.diagnostics:
            extras.append(f"{len(rb.diagnostics)} diagnostic{'' if len(rb.diagnostics) == 1 else 's'}")
        if rb.alerts:
            extras.append("alerts: " + ", ".join(f"`{escape(a)}`" for a in rb.alerts[:4]))
        suffix = f" — {'; '.join(extras)}" if extras else ""
        line = clip(f"• `{escape(rb.name)}` *{escape(rb.title)}*{suffix}", 1_000)
        if used + len(line) + 1 > LIST_TEXT_MAX:  # one message: ~12,000 characters of block text
            break
        lines.append(line)
        used += len(line) + 1
    if lines:
        blocks.extend(section(chunk) for chunk in _join_under(lines, 2900))
        if len(lines) < len(everything):
            blocks.append(context(f"…and {len(everything) - len(lines)} more not listed here."))
        blocks.append(
            context(
                "Show one with `/runbook <name>`; post it into an incident with `/runbook <name> INC-12`."
            )
        )
    if library.errors:
        not_loaded = "; ".join(escape(e) for e in library.errors[:5])
        blocks.append(context(clip(f":warning: Not loaded: {not_loaded}", 1_000)))
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
    # the first page also carries the header (150), the about line and the diagnostics line (1,000
    # each) and a button; each page stays within the message budget Slack takes (msg_blocks_too_long)
    pages = paginate(sections, max_blocks=45, first_page_blocks=40, max_chars=MESSAGE_TEXT_BUDGET - 2_400)
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
    first.append(context(clip(" · ".join(about), 1_000)))
    first.extend(_part_block(p) for p in pages[0])
    if runbook.diagnostics:
        names = ", ".join(d.name for d in runbook.diagnostics)
        first.append(context(clip(f"Diagnostics: {escape(names)}", 1_000)))
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
        blocks.append(context(clip(f"Part {n} of {len(pages)} — {escape(runbook.title)}", PAGE_NOTE_MAX)))
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


def results_pages(
    title: str,
    results_: Sequence[DiagnosticResult],
    *,
    remediation: RemediationTarget | None = None,
    actions: Sequence[str] = (),
    max_replicas: int = 50,
    target_ref: str | None = None,
    budget: int = MESSAGE_TEXT_BUDGET,
) -> list[list[Block]]:
    """The results as messages: the first (summary, the results that fit, the remediation buttons)
    replaces the progress message; the rest continue in the thread, each within Slack's limits
    (at most ``budget`` characters of block text and 50 blocks a message)."""
    ok = sum(1 for r in results_ if r.ok)
    failed = len(results_) - ok
    attention = sum(1 for r in results_ if r.ok and r.attention)
    checks = f"check{'' if len(results_) == 1 else 's'}"
    summary = f":stethoscope: Diagnostics for *{escape(title)}*: {ok}/{len(results_)} {checks} ran"
    if failed:
        summary += f", *{failed} failed*"
    if attention:
        summary += f", {attention} found something"
    head: list[Block] = [section(clip(summary, 1_000))]
    tail: list[Block] = []
    if remediation is not None and actions:
        remedy = remediation_actions(remediation, actions, max_replicas, target_ref=target_ref)
        if remedy.elements:
            tail = [
                DividerBlock(),
                context(
                    clip(
                        f"Remediation for deployment `{escape(remediation.deployment)}`"
                        f" in `{escape(remediation.namespace)}` (cluster {escape(remediation.cluster)}):"
                        " allowed people only, each asks to confirm.",
                        1_000,
                    )
                ),
                remedy,
            ]
    bodies = [_result_block(r) for r in results_]
    first_room = budget - text_chars([*head, *tail]) - PAGE_NOTE_MAX
    pages: list[list[Block]] = [[]]
    room, size = first_room, 0
    for block in bodies:
        chars = text_chars(block)
        limit = MAX_PAGE_BLOCKS - (len(head) + len(tail) if len(pages) == 1 else 0)
        if pages[-1] and (size + chars > room or len(pages[-1]) >= limit):
            pages.append([])
            room, size = budget - PAGE_NOTE_MAX, 0
        pages[-1].append(block)
        size += chars
    total = len(pages)
    first = [*head, *pages[0]]
    if total > 1:
        rest = sum(len(p) for p in pages[1:])
        first.append(
            context(
                f"…and {rest} more result{'' if rest == 1 else 's'} in the thread below ({total - 1} more)"
            )
        )
    first.extend(tail)
    out = [first]
    for n, page in enumerate(pages[1:], start=2):
        note = f"Part {n} of {total} — diagnostics for {escape(title)}"
        out.append([*page, context(clip(note, PAGE_NOTE_MAX))])
    return out


def results(
    title: str,
    results_: Sequence[DiagnosticResult],
    *,
    remediation: RemediationTarget | None = None,
    actions: Sequence[str] = (),
    max_replicas: int = 50,
    target_ref: str | None = None,
) -> list[Block]:
    """The first message of :func:`results_pages` (what replaces the progress message)."""
    return results_pages(
        title,
        results_,
        remediation=remediation,
        actions=actions,
        max_replicas=max_replicas,
        target_ref=target_ref,
    )[0]


def _result_block(r: DiagnosticResult) -> Block:
    icon = ICONS[r.status]
    if not r.ok:
        return section(
            clip(f"{icon} *{escape(r.name)}* — failed: {escape(r.reason or 'unknown reason')}", 2_990)
        )
    body = "\n".join(r.lines) or "no findings"
    graph = "\n_graph in the thread_" if r.graph_png else ""
    return section(clip(f"{icon} *{escape(r.name)}*\n{body}{graph}", 2_990))


def target_payload(target: RemediationTarget) -> str:
    """What a remediation acts on (cluster, namespace, deployment, incident) as compact JSON."""
    data = {"c": target.cluster, "n": target.namespace, "d": target.deployment, "i": target.incident}
    return json.dumps(data, separators=(",", ":"))


def target_ref(target: RemediationTarget) -> str:
    """A short stable key for :func:`target_payload`: the workflow keeps the payload in Redis under
    it, so a value Slack limits (an option's 150 characters) carries the key instead of the names."""
    return hashlib.sha256(target_payload(target).encode()).hexdigest()[:20]


def remediation_value(
    target: RemediationTarget,
    action: str,
    replicas: int | None = None,
    *,
    target_ref: str | None = None,
    limit: int = 2000,
) -> str:
    """The element's value: the action and its target inline; when that is longer than ``limit``
    (Slack: a button value 2,000, an option value 150) and a ``target_ref`` is given, the action and
    the ref (``t``) instead of the names."""
    data: dict[str, str | int | None] = {
        "a": action,
        "c": target.cluster,
        "n": target.namespace,
        "d": target.deployment,
        "i": target.incident,
    }
    if replicas is not None:
        data["r"] = replicas
    value = json.dumps(data, separators=(",", ":"))
    if len(value) <= limit or target_ref is None:
        return value
    short: dict[str, str | int] = {"a": action, "t": target_ref}
    if replicas is not None:
        short["r"] = replicas
    return json.dumps(short, separators=(",", ":"))


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


def remediation_actions(
    target: RemediationTarget,
    actions: Sequence[str],
    max_replicas: int,
    *,
    target_ref: str | None = None,
) -> ActionsBlock:
    """The remediation buttons and the Scale menu. Long names go by ``target_ref`` where a value
    would pass Slack's limit (option values: 150 characters)."""
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
                            value=remediation_value(
                                target, "scale", n, target_ref=target_ref, limit=OPTION_VALUE_MAX
                            ),
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
                    value=remediation_value(target, action, target_ref=target_ref),
                    style="danger",
                    confirm=_confirm(f"{ACTION_LABELS[action]}?", what),
                )
            )
    return ActionsBlock(block_id="runbook_remediation", elements=elements)
