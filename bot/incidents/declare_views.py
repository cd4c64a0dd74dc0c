"""The declaration modal and the posts that tie an incident to the message it was declared from.

Pure functions: state in, Block Kit out (slack_sdk.models), within Slack's limits for any input.
The modal is the same wherever it opens: a message's shortcut (prefilled from the message), the
global shortcut, ``/incident create`` with no arguments, the App Home's button.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import clip, context, escape, section
from bot.config.policy import Policy
from bot.core.models import Incident
from bot.incidents import fields as incident_fields
from bot.text import mrkdwn, plain

MODAL = "incident_declare_modal"
TITLE_MAX = 150
SERVICE_MAX = 100
QUOTE_MAX = 2500  # characters of the quoted message (a section holds 3000)
METADATA_MAX = 3000  # Slack's private_metadata limit

_MARKERS = re.compile(r"(?<!\w)[*_~`]+|[*_~`]+(?!\w)")

# block ids of the modal's fields (a submission's values and field errors are keyed by them)
TITLE, SEVERITY, SERVICE, PRIVATE, QUOTE = "title", "severity", "service", "private", "quote"


@dataclass(frozen=True)
class Source:
    """The message an incident is declared from (a message shortcut)."""

    channel: str
    ts: str
    text: str = ""  # Slack text, as Slack sent it
    author: str | None = None  # the message's user id (None for an app's message without one)

    def metadata(self) -> dict[str, str]:
        return {"channel": self.channel, "ts": self.ts, "author": self.author or ""}


@dataclass(frozen=True)
class Origin:
    """Where the modal was opened from: the channel of a command (the incident's origin), the
    message of a message shortcut, or neither (the global shortcut, the App Home)."""

    channel: str | None = None
    source: Source | None = None

    def to_metadata(self) -> str:
        data: dict[str, object] = {"origin": self.channel}
        if self.source is not None:
            data["source"] = self.source.metadata()
        raw = json.dumps(data, separators=(",", ":"))
        return raw[:METADATA_MAX]

    @classmethod
    def from_metadata(cls, raw: str) -> Origin:
        """Never fails: metadata that does not parse is no origin (it is the bot's own text)."""
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        origin = data.get("origin") if isinstance(data.get("origin"), str) else None
        src = data.get("source")
        source = None
        if isinstance(src, dict) and isinstance(src.get("channel"), str) and isinstance(src.get("ts"), str):
            author = src.get("author") if isinstance(src.get("author"), str) else None
            source = Source(channel=src["channel"], ts=src["ts"], author=author or None)
        return cls(channel=origin, source=source)


def title_from(text: str | None) -> str:
    """A title from a message: its first line with words in it, as plain text, at most 150."""
    for line in (text or "").splitlines():
        words = " ".join(plain(line).split())
        # no quote marks, bullets or bold/italic/strike/code markers: a title is plain text
        words = _MARKERS.sub("", words.lstrip(">•- ")).strip()
        words = " ".join(words.split())
        if words:
            return clip(words, TITLE_MAX)
    return ""


def quote(text: str | None, limit: int = QUOTE_MAX) -> str:
    """Slack text as a mrkdwn block quote (mentions live, broadcasts inert), cut between tokens."""
    body = mrkdwn(text or "", limit) or "_(no text)_"
    return "\n".join(f">{line}" if line else ">" for line in body.splitlines())


def severity_options(policy: Policy) -> list[Option]:
    return [
        Option(text=PlainTextObject(text=clip(s.label or s.name, 75)), value=clip(s.name, 150))
        for s in policy.severities[:100]
    ]


def type_and_fields(policy: Policy, incident_type: str | None) -> list[Block]:
    chooser = incident_fields.type_block(policy, incident_type)
    if chooser is None:
        return []
    return [chooser, *incident_fields.field_blocks(policy.incidents.incident_type(incident_type))]


def declare_modal(
    policy: Policy,
    origin: Origin,
    *,
    title: str = "",
    source_text: str = "",
    incident_type: str | None = None,
) -> View:
    """The declaration modal: title, severity, type and its fields (policy ``incidents.types``),
    service, a private switch; the message quoted."""
    blocks: list[Block] = []
    src = origin.source
    if src is not None:
        who = f"<@{src.author}>" if src.author else "a message"
        blocks.append(
            SectionBlock(
                block_id=QUOTE,
                text=MarkdownTextObject(
                    text=clip(f"*Declaring from {who} in <#{src.channel}>:*\n{quote(source_text)}", 3000)
                ),
            )
        )
    blocks += [
        InputBlock(
            block_id=TITLE,
            label=PlainTextObject(text="Title"),
            element=PlainTextInputElement(
                action_id="text",
                initial_value=clip(title, TITLE_MAX) or None,
                max_length=TITLE_MAX,
                placeholder=PlainTextObject(text="What is broken, for whom"),
            ),
        ),
        InputBlock(
            block_id=SEVERITY,
            label=PlainTextObject(text="Severity"),
            element=StaticSelectElement(
                action_id="choice",
                placeholder=PlainTextObject(text="Pick a severity"),
                options=severity_options(policy),
            ),
        ),
        *type_and_fields(policy, incident_type),
        InputBlock(
            block_id=SERVICE,
            optional=True,
            label=PlainTextObject(text="Service"),
            hint=PlainTextObject(text="The affected service, e.g. payments (responders per service join)"),
            element=PlainTextInputElement(action_id="text", max_length=SERVICE_MAX),
        ),
        InputBlock(
            block_id=PRIVATE,
            optional=True,
            label=PlainTextObject(text="Options"),
            element=CheckboxesElement(
                action_id="choice",
                options=[
                    Option(
                        text=PlainTextObject(text="Private incident"),
                        value="private",
                        description=PlainTextObject(text="A private war room, no details in public channels"),
                    ),
                    Option(
                        text=PlainTextObject(text="Start as triage"),
                        value="triage",
                        description=PlainTextObject(text="No war room or pages until someone accepts it"),
                    ),
                    Option(
                        text=PlainTextObject(text="Test incident"),
                        value="test",
                        description=PlainTextObject(text="A drill: no pages, no status page, not in metrics"),
                    ),
                ],
            ),
        ),
    ]
    if src is not None:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="The war room quotes this message with a link to it; a reply in its "
                        "thread says the incident was declared."
                    )
                ]
            )
        )
    return View(
        type="modal",
        callback_id=MODAL,
        private_metadata=origin.to_metadata(),
        title=PlainTextObject(text="Declare incident"),
        submit=PlainTextObject(text="Declare"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
    )


def quoted_in(view_blocks: list[dict[str, object]]) -> str:
    """The quote the modal showed (its QUOTE section, after the heading line): what the person saw
    when declaring, already safe mrkdwn; "" when the modal had none."""
    for block in view_blocks:
        if block.get("block_id") == QUOTE:
            text = block.get("text")
            raw = text.get("text") if isinstance(text, dict) else None
            if isinstance(raw, str) and "\n" in raw:
                return raw.split("\n", 1)[1]
    return ""


def source_quote(src: Source, quoted: str, permalink: str | None, user: str) -> list[Block]:
    """The war room's first words about where the incident came from: the message, quoted (mrkdwn
    from :func:`quote`), linked."""
    who = f"<@{src.author}>'s message" if src.author else "a message"
    link = f" (<{escape(permalink)}|view message>)" if permalink else ""
    head = f":speech_balloon: <@{user}> declared this incident from {who} in <#{src.channel}>{link}:"
    return [section(clip(f"{head}\n{quoted or '>_(no text)_'}", 3000))]


def source_quote_text(inc: Incident) -> str:
    return clip(f"{inc.id} was declared from a message", 3000)


def thread_reply(inc: Incident, user: str, announcement_link: str | None) -> list[Block]:
    """The reply under the source message: an incident was declared from it, and where it is run."""
    where = []
    if announcement_link:
        where.append(f"<{escape(announcement_link)}|announcement>")
    if inc.war_room:
        where.append(f"war room <#{inc.war_room.channel_id}>")
    text = f":rotating_light: <@{user}> declared *{inc.id}* from this message: {escape(inc.title)}"
    blocks: list[Block] = [section(text)]
    if where:
        blocks.append(context(" · ".join(where)))
    return blocks


def thread_reply_text(inc: Incident) -> str:
    return clip(f"{inc.id} declared from this message: {escape(inc.title)}", 3000)
