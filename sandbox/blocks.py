"""Block Kit validation with Slack's limits; errors are phrased like Slack's response_metadata."""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
# The text all blocks of one message may carry in total before Slack answers msg_blocks_too_long.
# Slack documents no figure for it; 12,000 is the one reported (refusals seen from about 12-13k
# characters of block text) and the documented limit of one markdown block.
MAX_MESSAGE_BLOCK_TEXT = 12_000
TEXT_OBJECT_TYPES = {"plain_text", "mrkdwn", "markdown", "text"}

BLOCK_TYPES = {
    "section",
    "header",
    "context",
    "divider",
    "image",
    "actions",
    "input",
    "rich_text",
    "file",
    "video",
    "markdown",
}
INTERACTIVE_ELEMENTS = {
    "button",
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
    "overflow",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "checkboxes",
    "radio_buttons",
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "rich_text_input",
}
SELECTS_WITH_OPTIONS = {"static_select", "multi_static_select", "overflow", "checkboxes", "radio_buttons"}


class BlockErrors:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")


def _check_text(
    obj: Any,
    pointer: str,
    errs: BlockErrors,
    *,
    max_len: int,
    plain_only: bool = False,
    required: bool = True,
) -> None:
    if obj is None:
        if required:
            errs.add("missing required field: text", pointer)
        return
    if not isinstance(obj, dict):
        errs.add("must be a text object", pointer)
        return
    kind = obj.get("type")
    allowed = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
    if kind not in allowed:
        errs.add(f"must be one of: {', '.join(sorted(allowed))}", pointer + "/type")
    text = obj.get("text")
    if not isinstance(text, str):
        errs.add("missing required field: text", pointer + "/text")
        return
    if len(text) == 0:
        errs.add("must be more than 0 characters", pointer + "/text")
    if len(text) > max_len:
        errs.add(f"must be less than {max_len + 1} characters", pointer + "/text")


def _check_id(value: Any, pointer: str, errs: BlockErrors) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        errs.add("must be a string", pointer)
    elif len(value) > 255:
        errs.add("must be less than 256 characters", pointer)


def _check_confirm(obj: Any, pointer: str, errs: BlockErrors) -> None:
    if obj is None:
        return
    if not isinstance(obj, dict):
        errs.add("must be a confirmation object", pointer)
        return
    _check_text(obj.get("title"), pointer + "/title", errs, max_len=100, plain_only=True)
    # Slack documents every text of a confirmation dialog as a plain_text object (text included):
    # https://docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object
    _check_text(obj.get("text"), pointer + "/text", errs, max_len=300, plain_only=True)
    _check_text(obj.get("confirm"), pointer + "/confirm", errs, max_len=30, plain_only=True)
    _check_text(obj.get("deny"), pointer + "/deny", errs, max_len=30, plain_only=True)


def _check_option(obj: Any, pointer: str, errs: BlockErrors) -> None:
    if not isinstance(obj, dict):
        errs.add("must be an option object", pointer)
        return
    _check_text(obj.get("text"), pointer + "/text", errs, max_len=75)
    value = obj.get("value")
    if not isinstance(value, str) or not value:
        errs.add("missing required field: value", pointer + "/value")
    elif len(value) > 150:
        errs.add("must be less than 151 characters", pointer + "/value")


def check_element(el: Any, pointer: str, errs: BlockErrors) -> None:
    if not isinstance(el, dict):
        errs.add("must be an element object", pointer)
        return
    kind = el.get("type")
    if kind == "image":
        if not el.get("image_url") and not el.get("slack_file"):
            errs.add("missing required field: image_url", pointer)
        if not isinstance(el.get("alt_text"), str):
            errs.add("missing required field: alt_text", pointer)
        return
    if kind not in INTERACTIVE_ELEMENTS:
        errs.add(f"unsupported element type: {kind}", pointer + "/type")
        return
    _check_id(el.get("action_id"), pointer + "/action_id", errs)
    _check_confirm(el.get("confirm"), pointer + "/confirm", errs)
    if kind == "button":
        _check_text(el.get("text"), pointer + "/text", errs, max_len=75, plain_only=True)
        value = el.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > 2000):
            errs.add("must be less than 2001 characters", pointer + "/value")
        url = el.get("url")
        if url is not None and (not isinstance(url, str) or len(url) > 3000):
            errs.add("must be less than 3001 characters", pointer + "/url")
        style = el.get("style")
        if style is not None and style not in ("primary", "danger"):
            errs.add("must be one of: primary, danger", pointer + "/style")
    if kind in SELECTS_WITH_OPTIONS:
        options = el.get("options")
        groups = el.get("option_groups")
        if options is None and groups is None:
            errs.add("missing required field: options", pointer)
        if options is not None:
            if not isinstance(options, list) or not options:
                errs.add("must provide at least 1 item", pointer + "/options")
            else:
                limit = 5 if kind == "overflow" else (10 if kind in ("checkboxes", "radio_buttons") else 100)
                if len(options) > limit:
                    errs.add(f"must be less than {limit + 1} items", pointer + "/options")
                for i, opt in enumerate(options):
                    _check_option(opt, f"{pointer}/options/{i}", errs)
    if "placeholder" in el:
        _check_text(el.get("placeholder"), pointer + "/placeholder", errs, max_len=150, plain_only=True)


def _check_block(block: Any, pointer: str, errs: BlockErrors, *, in_view: bool) -> None:
    if not isinstance(block, dict):
        errs.add("must be a block object", pointer)
        return
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        errs.add(f"unsupported type: {kind}", pointer + "/type")
        return
    _check_id(block.get("block_id"), pointer + "/block_id", errs)
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            errs.add("must provide either text or fields", pointer)
        if text is not None:
            _check_text(text, pointer + "/text", errs, max_len=3000)
        if fields is not None:
            if not isinstance(fields, list) or not fields:
                errs.add("must provide at least 1 item", pointer + "/fields")
            else:
                if len(fields) > 10:
                    errs.add("must be less than 11 items", pointer + "/fields")
                for i, f in enumerate(fields):
                    _check_text(f, f"{pointer}/fields/{i}", errs, max_len=2000)
        if block.get("accessory") is not None:
            check_element(block["accessory"], pointer + "/accessory", errs)
    elif kind == "header":
        _check_text(block.get("text"), pointer + "/text", errs, max_len=150, plain_only=True)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errs.add("must provide at least 1 item", pointer + "/elements")
        else:
            if len(elements) > 10:
                errs.add("must be less than 11 items", pointer + "/elements")
            for i, el in enumerate(elements):
                p = f"{pointer}/elements/{i}"
                if isinstance(el, dict) and el.get("type") in ("plain_text", "mrkdwn"):
                    _check_text(el, p, errs, max_len=3000)
                elif isinstance(el, dict) and el.get("type") == "image":
                    check_element(el, p, errs)
                else:
                    errs.add("must be a text or image element", p)
    elif kind == "image":
        if not block.get("image_url") and not block.get("slack_file"):
            errs.add("missing required field: image_url", pointer)
        elif len(str(block.get("image_url", ""))) > 3000:
            errs.add("must be less than 3001 characters", pointer + "/image_url")
        alt = block.get("alt_text")
        if not isinstance(alt, str) or not alt:
            errs.add("missing required field: alt_text", pointer + "/alt_text")
        elif len(alt) > 2000:
            errs.add("must be less than 2001 characters", pointer + "/alt_text")
        if block.get("title") is not None:
            _check_text(block["title"], pointer + "/title", errs, max_len=2000, plain_only=True)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errs.add("must provide at least 1 item", pointer + "/elements")
        else:
            if len(elements) > 25:
                errs.add("must be less than 26 items", pointer + "/elements")
            seen: set[str] = set()
            for i, el in enumerate(elements):
                check_element(el, f"{pointer}/elements/{i}", errs)
                aid = el.get("action_id") if isinstance(el, dict) else None
                if isinstance(aid, str):
                    if aid in seen:
                        errs.add(f"duplicate action_id: {aid}", f"{pointer}/elements/{i}/action_id")
                    seen.add(aid)
    elif kind == "input":
        _check_text(block.get("label"), pointer + "/label", errs, max_len=2000, plain_only=True)
        if block.get("hint") is not None:
            _check_text(block["hint"], pointer + "/hint", errs, max_len=2000, plain_only=True)
        if block.get("element") is None:
            errs.add("missing required field: element", pointer)
        else:
            check_element(block["element"], pointer + "/element", errs)


def validate_blocks(blocks: Any, *, in_view: bool = False, pointer: str = "/blocks") -> list[str]:
    """Errors for a list of blocks; empty when valid."""
    errs = BlockErrors()
    if not isinstance(blocks, list):
        errs.add("must be an array", pointer)
        return errs.errors
    limit = MAX_VIEW_BLOCKS if in_view else MAX_MESSAGE_BLOCKS
    if len(blocks) > limit:
        errs.add(f"must be less than {limit + 1} items", pointer)
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        _check_block(block, f"{pointer}/{i}", errs, in_view=in_view)
        bid = block.get("block_id") if isinstance(block, dict) else None
        if isinstance(bid, str):
            if bid in seen:
                errs.add(f"duplicate block_id: {bid}", f"{pointer}/{i}/block_id")
            seen.add(bid)
    return errs.errors


def message_text_chars(blocks: Any) -> int:
    """Characters of text the blocks carry: every text object's ``text`` (sections, fields, context,
    headers, buttons, options...), markdown blocks and rich-text elements."""
    if isinstance(blocks, list):
        return sum(message_text_chars(b) for b in blocks)
    if not isinstance(blocks, dict):
        return 0
    total = 0
    if blocks.get("type") in TEXT_OBJECT_TYPES and isinstance(blocks.get("text"), str):
        total += len(blocks["text"])
    for value in blocks.values():
        if isinstance(value, dict | list):
            total += message_text_chars(value)
    return total


def validate_view(view: Any) -> list[str]:
    errs = BlockErrors()
    if not isinstance(view, dict):
        errs.add("must be a view object", "/view")
        return errs.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        errs.add("must be one of: modal, home", "/view/type")
    if kind == "modal":
        _check_text(view.get("title"), "/view/title", errs, max_len=24, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                _check_text(view[key], f"/view/{key}", errs, max_len=24, plain_only=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and view.get("submit") is None:
            errs.add("must provide submit when input blocks are present", "/view/submit")
    if len(str(view.get("private_metadata", ""))) > 3000:
        errs.add("must be less than 3001 characters", "/view/private_metadata")
    _check_id(view.get("callback_id"), "/view/callback_id", errs)
    _check_id(view.get("external_id"), "/view/external_id", errs)
    errs.errors.extend(validate_blocks(view.get("blocks", []), in_view=True, pointer="/view/blocks"))
    return errs.errors


def find_action(blocks: list[dict[str, Any]] | None, action_id: str) -> tuple[str, dict[str, Any]] | None:
    """(block_id, element) for the interactive element with ``action_id``."""
    for block in blocks or []:
        elements: list[Any] = []
        if block.get("type") == "actions":
            elements = list(block.get("elements") or [])
        elif block.get("type") == "section" and block.get("accessory"):
            elements = [block["accessory"]]
        elif block.get("type") == "input" and block.get("element"):
            elements = [block["element"]]
        for el in elements:
            if isinstance(el, dict) and el.get("action_id") == action_id:
                return str(block.get("block_id", "")), el
    return None
