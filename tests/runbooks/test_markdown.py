"""Markdown → Slack mrkdwn, and chunking under Slack's limits."""

from __future__ import annotations

from bot.runbooks.markdown import (
    MESSAGE_BLOCK_LIMIT,
    SECTION_TEXT_LIMIT,
    Part,
    chunk_parts,
    inline,
    markdown_to_parts,
    paginate,
)


def test_inline_formatting() -> None:
    assert inline("**bold** and *italic* and ~~gone~~") == "*bold* and _italic_ and ~gone~"
    assert (
        inline("see [the docs](https://example.org/a?b=1) now")
        == "see <https://example.org/a?b=1|the docs> now"
    )
    assert inline("raw <https://x.org> and https://y.org/p.") == "raw <https://x.org> and <https://y.org/p>."
    assert inline("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert inline("`kubectl get <pod>` **x**") == "`kubectl get &lt;pod&gt;` *x*"
    assert inline("![graph](https://g.org/x.png)") == "<https://g.org/x.png|graph>"


def test_document_structure() -> None:
    parts = markdown_to_parts(
        "# Title\n\n## Steps\n\n1. first\n2. second\n   - nested\n\n- [ ] todo\n- [x] done\n\n"
        "> quoted\n\n---\n\n```bash\necho <hi>\n```\n\nA paragraph\nthat wraps.\n",
        skip_title="Title",
    )
    kinds = [p.kind for p in parts]
    assert kinds == ["text", "divider", "code", "text"]
    text = parts[0].text
    assert text.startswith("*Steps*")
    assert "1. first\n2. second\n    ◦ nested" in text
    assert "• ☐ todo\n• ☑ done" in text
    assert "> quoted" in text
    assert parts[2].text == "echo <hi>"
    assert parts[3].text == "A paragraph that wraps."
    sections = chunk_parts(parts)
    assert sections[2].text == "```\necho &lt;hi&gt;\n```\n\nA paragraph that wraps."  # merged, escaped


def test_tables_become_code_blocks() -> None:
    parts = markdown_to_parts("| a | b |\n| --- | --- |\n| 1 | 2 |\n")
    assert parts == [Part("code", "| a | b |\n| 1 | 2 |")]


def long_runbook(sections: int = 120) -> str:
    chunks = []
    for i in range(sections):
        chunks.append(f"## Step {i}\n\n" + ("Check the thing carefully and write it down. " * 30) + "\n")
        chunks.append(f"```\nkubectl get pods -n ns-{i}\n" + "line of output\n" * 40 + "```\n")
        if i % 10 == 0:
            chunks.append("---\n")
    chunks.append("```\n" + "x" * 7000 + "\n```\n")  # one code line longer than a section
    return "\n".join(chunks)


def test_long_runbook_is_chunked_under_limits_without_losing_text() -> None:
    parts = markdown_to_parts(long_runbook())
    sections = chunk_parts(parts)
    assert all(len(s.text) <= SECTION_TEXT_LIMIT for s in sections)
    pages = paginate(sections, max_blocks=40, first_page_blocks=30)
    assert len(pages) > 1
    assert len(pages[0]) <= 30
    assert all(len(page) <= min(40, MESSAGE_BLOCK_LIMIT) for page in pages)
    joined = "".join(s.text for page in pages for s in page)
    for i in range(120):  # every step made it into some page: nothing was cut
        assert f"*Step {i}*" in joined
        assert f"kubectl get pods -n ns-{i}" in joined
    assert joined.count("x") >= 7000
    assert all(page[0].kind != "divider" and page[-1].kind != "divider" for page in pages)


def test_short_runbook_is_one_page() -> None:
    sections = chunk_parts(markdown_to_parts("# T\n\nshort\n"))
    assert paginate(sections) == [[Part("text", "*T*\n\nshort")]]
