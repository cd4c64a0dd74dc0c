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


def test_tables_become_aligned_code_blocks() -> None:
    parts = markdown_to_parts(
        "| Signal | Threshold | Action |\n| :-- | --: | :-: |\n| **p99** | 2s | page `a<b` & co |\n| err | 10 | x |\n"
    )
    assert parts == [
        Part(
            "code",
            "Signal | Threshold |     Action\n"
            "-------+-----------+--------------\n"
            "p99    |        2s | page a<b & co\n"
            "err    |        10 |       x",
        )
    ]
    # escaped when it becomes a section
    assert "page a&lt;b &amp; co" in chunk_parts(parts)[0].text


def test_nested_lists_comments_links_and_code() -> None:
    parts = markdown_to_parts(
        "<!-- maintainers: keep this short -->\n"
        "Intro with a [relative link](../other.md) and <!-- inline note -->an end.\n\n"
        "* level one\n"
        "    * level two with `kubectl get <pod>`\n"
        "        1. three\n"
        "        2. four\n"
        "* back to one\n\n"
        "3. starts at three\n"
        "4. then four\n\n"
        "```yaml\nkey: <value> & more\n```\n"
    )
    text = parts[0].text
    assert "maintainers" not in text and "inline note" not in text
    assert "Intro with a relative link (../other.md) and an end." in text
    assert (
        "• level one\n    ◦ level two with `kubectl get &lt;pod&gt;`\n        1. three\n        2. four"
        in text
    )
    assert "\n• back to one" in text
    assert "3. starts at three\n4. then four" in text
    assert parts[1] == Part("code", "key: <value> & more")


def test_emphasis_inside_words_and_headings() -> None:
    parts = markdown_to_parts("## **Bold** heading with `code`\n\nsnake_case_name stays; 2 * 3 * 4 too\n")
    assert parts[0].text == "*Bold heading with code*\n\nsnake_case_name stays; 2 * 3 * 4 too"


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
