"""`GET /`: a small HTML page listing the messages, newest first, refreshing itself."""

from __future__ import annotations

from html import escape

from devinbox.store import Message

REFRESH_SECONDS = 2

# No script runs on this page at all; a message body can never become markup.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5rem}"
    "table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}"
    "pre{white-space:pre-wrap;margin:0}"
)


def _row(message: Message) -> str:
    cells = [
        message.received_at,
        message.channel,
        message.to,
        message.sender or "",
        message.subject or "",
    ]
    tds = "".join(f"<td>{escape(cell)}</td>" for cell in cells)
    return f"<tr>{tds}<td><pre>{escape(message.body)}</pre></td></tr>"


def render_page(messages: list[Message], capacity: int) -> str:
    rows = "\n".join(_row(message) for message in messages) or (
        '<tr><td colspan="6">No messages yet.</td></tr>'
    )
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">"
        f"<title>Dev inbox ({len(messages)})</title><style>{_STYLE}</style></head><body>"
        f"<h1>Dev inbox</h1><p>{len(messages)} messages (keeps the last {capacity}); "
        "JSON at <a href=\"/messages\">/messages</a>.</p>"
        "<table><thead><tr><th>received</th><th>channel</th><th>to</th><th>from</th>"
        f"<th>subject</th><th>body</th></tr></thead><tbody>\n{rows}\n</tbody></table>"
        "</body></html>\n"
    )
