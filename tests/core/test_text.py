"""bot/text.py: Slack's text decoded once, rendered as plain text or safe mrkdwn (properties, plus the
examples from https://api.slack.com/reference/surfaces/formatting and the slash-command docs)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import text as t

BROADCAST = re.compile(r"<!(here|channel|everyone|group)[|>]")
ids = st.from_regex(r"[A-Z0-9]{4,10}", fullmatch=True)
labels = st.text(
    alphabet=st.characters(blacklist_characters="<>|\n", blacklist_categories=["Cs"]), max_size=15
)
words = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30).map(
    lambda s: s.replace("@", "")
)
segments = st.one_of(
    words.map(t.Words),
    st.builds(t.UserMention, ids.map(lambda i: "U" + i), st.none() | labels.filter(bool)),
    st.builds(t.ChannelMention, ids.map(lambda i: "C" + i), st.none() | labels.filter(bool)),
    st.builds(t.GroupMention, ids.map(lambda i: "S" + i), st.none() | labels.filter(bool)),
    st.builds(
        t.Link,
        st.from_regex(r"https://[a-z]{1,8}\.test/[a-z0-9&=?]{0,12}", fullmatch=True),
        st.none() | labels.filter(lambda s: bool(s.strip())),
    ),
    st.sampled_from(["here", "channel", "everyone"]).map(t.Broadcast),
)
slack_texts = st.lists(segments, max_size=8).map(lambda segs: "".join(t.slack_encoding(s) for s in segs))
anything = st.text(max_size=200)


def test_examples_from_slacks_docs() -> None:
    # "A user types: Hello & <world>" is sent as "Hello &amp; &lt;world&gt;"
    assert t.plain("Hello &amp; &lt;world&gt;") == "Hello & <world>"
    assert t.mrkdwn("Hello &amp; &lt;world&gt;") == "Hello &amp; &lt;world&gt;"
    # slash commands with escaping: people, channels, groups, links
    decoded = t.decode("Hey <@U024BE7LH|bob>, join <#C024BE7LR|general> with <!subteam^SAZ94GDB8|@oncall>")
    assert decoded.segments == (
        t.Words("Hey "),
        t.UserMention("U024BE7LH", "bob"),
        t.Words(", join "),
        t.ChannelMention("C024BE7LR", "general"),
        t.Words(" with "),
        t.GroupMention("SAZ94GDB8", "@oncall"),
    )
    assert decoded.plain() == "Hey @bob, join #general with @oncall"
    assert decoded.mrkdwn() == "Hey <@U024BE7LH>, join <#C024BE7LR> with <!subteam^SAZ94GDB8>"
    assert t.plain("<http://www.foo.com|www.foo.com> and <https://x.test/a?b=1&amp;c=2>") == (
        "www.foo.com and https://x.test/a?b=1&c=2"
    )
    assert t.mrkdwn("<https://x.test/a?b=1&amp;c=2|A &amp; B>") == "<https://x.test/a?b=1&amp;c=2|A &amp; B>"
    assert t.mrkdwn("<!channel> <!here|here> <!everyone>") == "@channel @here @everyone"
    assert t.plain("<!date^1392734382^{date}|Feb 18, 2014>") == "Feb 18, 2014"


def test_the_issue_cases() -> None:
    assert t.plain("R&amp;D portal") == "R&D portal"
    from bot.incidents.channels import war_room_name

    assert war_room_name("inc", 7, t.plain("R&amp;D portal")) == "inc-7-r-d-portal"
    shown = t.mrkdwn("Paging <@U0CAROL003|carol>, see <https://status.example.com|the status page>")
    assert shown == "Paging <@U0CAROL003>, see <https://status.example.com|the status page>"


def test_parsing_keeps_tokens_whole_and_finds_people() -> None:
    assert t.split('critical "R&amp;D portal down"', 1) == ["critical", "R&amp;D portal down"]
    assert t.split("a <https://x.test|a label> rest of it", 2) == [
        "a",
        "<https://x.test|a label>",
        "rest of it",
    ]
    assert t.user_id_of("<@U0CAROL003|carol>") == "U0CAROL003" and t.user_id_of("U0CAROL003") == "U0CAROL003"
    assert t.user_id_of("@carol") is None and t.name_ref_of("@carol") == "carol"
    assert t.name_ref_of("bob@example.com") is None and t.name_ref_of("carol") is None
    assert t.decode("mail bob@example.com or @here").name_refs == []  # neither is a person to look up
    assert t.decode("ask @carol.").name_refs == ["carol"]
    assert t.from_input("a <b> & <!channel>") == "a &lt;b&gt; &amp; &lt;!channel&gt;"


def test_clipping_never_cuts_a_token_or_an_entity() -> None:
    text = "&amp;" * 5 + "<@U0CAROL003>" + "x" * 10
    for limit in range(1, 40):
        out = t.mrkdwn(text, limit)
        assert len(out) <= limit
        assert t.mrkdwn(out.rstrip("…")) == out.rstrip("…")  # whole entities and tokens only


@settings(max_examples=300, deadline=None)
@given(raw=anything)
def test_any_text_renders_without_a_live_broadcast_and_idempotently(raw: str) -> None:
    shown = t.mrkdwn(raw)
    assert not BROADCAST.search(shown)
    assert t.mrkdwn(shown) == shown  # never double-escapes: rendering rendered text changes nothing
    if "<" not in raw:  # no tokens: the words survive a rendering unchanged (escaped exactly once)
        assert t.plain(shown) == t.plain(raw)
        assert shown == t.escape(t.plain(raw))


@settings(max_examples=300, deadline=None)
@given(segs=st.lists(segments, max_size=8))
def test_mentions_and_links_round_trip(segs: list[t.Segment]) -> None:
    encoded = "".join(t.slack_encoding(s) for s in segs)
    decoded = t.decode(encoded, names=False)
    live = [s for s in decoded.segments if not isinstance(s, t.Words)]
    wanted = [s for s in segs if not isinstance(s, (t.Words, t.Broadcast))]
    got = [s for s in live if not isinstance(s, t.Broadcast)]
    assert [_key(s) for s in got] == [_key(s) for s in wanted]
    shown = decoded.mrkdwn()
    for s in wanted:
        assert _live(s) in shown
    assert not BROADCAST.search(shown)
    assert t.decode(shown, names=False).mrkdwn() == shown


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(anything, slack_texts))
def test_plain_text_has_no_markup(raw: str) -> None:
    out = t.plain(raw)
    for token in re.findall(r"<[^<>\n]*>", raw):
        seg = t.decode(token, names=False).segments
        if len(seg) == 1 and not isinstance(seg[0], t.Words):
            assert token not in out  # every Slack token became words
    assert not re.search(r"&(amp|lt|gt);", out) or re.search(r"&amp;(amp|lt|gt);", raw)


def _key(s: t.Segment) -> tuple[str, str]:
    match s:
        case t.UserMention(uid, _):
            return ("user", uid)
        case t.ChannelMention(cid, _):
            return ("channel", cid)
        case t.GroupMention(gid, _):
            return ("group", gid)
        case t.Link(url, label):
            return ("link", f"{url}|{label or ''}")
    return ("other", repr(s))


def _live(s: t.Segment) -> str:
    match s:
        case t.UserMention(uid, _):
            return f"<@{uid}>"
        case t.ChannelMention(cid, _):
            return f"<#{cid}>"
        case t.GroupMention(gid, _):
            return f"<!subteam^{gid}>"
        case t.Link(url, _):
            return f"<{t.escape(url)}"
    return ""
