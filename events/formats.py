"""What an endpoint receives, by format (PRODUCT.md, "Outbound events").

- standard: the envelope `{"id", "type", "created_at", "data"}` as JSON.
- slack: an incoming-webhook message, `{"text", "attachments": [{"color", "blocks"}]}`.
- teams: a Teams workflow ("When a Teams webhook request is received") message carrying an
  Adaptive Card.

Slack and Teams are read by people, so each event first becomes a `Message` (a title, a few
lines, a link and a colour) that both render. Pure functions: dicts in, dicts out.
"""

from dataclasses import dataclass, field

SEVERITY_COLORS = {
    "low": "#95a5a6",
    "medium": "#f39c12",
    "high": "#e67e22",
    "critical": "#c0392b",
}
GOOD_COLOR = "#27ae60"
NEUTRAL_COLOR = "#7f8c8d"
# Adaptive Cards name colours rather than take hex values.
TONE_BY_SEVERITY = {
    "low": "default",
    "medium": "warning",
    "high": "attention",
    "critical": "attention",
}


@dataclass(frozen=True)
class Message:
    title: str
    lines: list[str] = field(default_factory=list)
    url: str = ""
    link_text: str = "Open in Healthscore"
    color: str = NEUTRAL_COLOR
    tone: str = "default"  # default | good | warning | attention


@dataclass(frozen=True)
class Move:
    """One account's band move, for a digest."""

    account_name: str
    from_band: str
    to_band: str
    from_overall: float | None
    to_overall: float | None
    url: str

    @property
    def points(self) -> float:
        if self.from_overall is None or self.to_overall is None:
            return 0.0
        return round(self.to_overall - self.from_overall, 2)


@dataclass(frozen=True)
class Digest:
    """A nightly run for one endpoint: how many accounts moved to each band (lowest band
    first) and the largest moves (at most ten, largest first)."""

    as_of: str
    accounts_moved: int
    moved_to: list[tuple[str, int]]
    largest: list[Move]
    url: str
    # The run's risk evaluation, but for critical risks (sent one by one): opened by type
    # label (most first), and how many rose in severity or were resolved.
    risks_opened: list[tuple[str, int]] = field(default_factory=list)
    risks_escalated: int = 0
    risks_resolved: int = 0


def envelope(*, event_id: str, event_type: str, created_at: str, data: dict) -> dict:
    return {"id": event_id, "type": event_type, "created_at": created_at, "data": data}


def points(value: float) -> str:
    """Points with their sign, two decimals: +4.50 pts, -6.20 pts."""
    return f"{value:+.2f} pts"


def score(value) -> str:
    return "—" if value is None else f"{float(value):.2f}"


def change_lines(changes: list[dict]) -> list[str]:
    """The (at most three) "what changed" lines: "NPS -6.20 pts"."""
    return [f"{c.get('name') or c['measure']} {points(c['points'])}" for c in changes[:3]]


def evidence_lines(evidence: dict) -> list[str]:
    return [f"{key.replace('_', ' ')}: {value}" for key, value in sorted(evidence.items())]


def event_message(event_type: str, data: dict) -> Message:
    """The message people read for one event."""
    account = (data.get("account") or {}).get("name", "")
    url = data.get("url", "")
    if event_type == "score.band_changed":
        before, after = data["from"], data["to"]
        went_up = (after.get("overall") or 0) > (before.get("overall") or 0)
        return Message(
            title=f"{account}: {before['band']} → {after['band']}",
            lines=[
                f"Score {score(before.get('overall'))} ({before.get('date')}) → "
                f"{score(after.get('overall'))} ({after.get('date')})",
                *change_lines(data.get("changes") or []),
            ],
            url=url,
            color=after.get("color") or NEUTRAL_COLOR,
            tone="good" if went_up else "attention",
        )
    if event_type in ("risk.opened", "risk.escalated", "risk.resolved"):
        risk = data["risk"]
        label = risk.get("label") or risk["type"]
        severity = risk["severity"]
        if event_type == "risk.opened":
            title = f"Risk opened on {account}: {label} ({severity})"
        elif event_type == "risk.escalated":
            title = (
                f"Risk escalated on {account}: {label} "
                f"({risk.get('previous_severity', '?')} → {severity})"
            )
        else:
            title = f"Risk resolved on {account}: {label}"
        resolved = event_type == "risk.resolved"
        return Message(
            title=title,
            lines=[f"Status: {risk['status']}", *evidence_lines(risk.get("evidence") or {})],
            url=url,
            color=GOOD_COLOR if resolved else SEVERITY_COLORS.get(severity, NEUTRAL_COLOR),
            tone="good" if resolved else TONE_BY_SEVERITY.get(severity, "default"),
        )
    if event_type == "task.overdue":
        task = data.get("task") or {}
        lines = [f"Due {task['due_on']}" if task.get("due_on") else ""]
        if task.get("assignee_email"):
            lines.append(f"Assigned to {task['assignee_email']}")
        return Message(
            title=f"Task overdue on {account}: {task.get('title', '')}".rstrip(": "),
            lines=[line for line in lines if line],
            url=url,
            color=SEVERITY_COLORS["medium"],
            tone="warning",
        )
    if event_type == "score_run.finished":
        run = data["run"]
        return Message(
            title=f"Scores for {run['as_of']}: {run['accounts_scored']} accounts scored",
            lines=[
                f"{run['band_changes']} changed band",
                f"{run['accounts_failed']} could not be scored",
            ],
            url=data.get("url", ""),
        )
    if event_type == "scorecard.published":
        card = data["scorecard"]
        return Message(
            title=f"Scorecard {card['name']} published as version {card['version']}",
            lines=[card["note"]] if card.get("note") else [],
            url=data.get("url", ""),
        )
    if event_type == "webhook.ping":
        return Message(title="Healthscore test message: this endpoint works.")
    return Message(title=event_type)


def digest_message(digest: Digest) -> Message:
    """A nightly run in one message: accounts moved to each band, then the largest moves."""
    lines = [f"Moved to {band}: {count}" for band, count in digest.moved_to]
    if digest.risks_opened:
        total = sum(count for _, count in digest.risks_opened)
        kinds = ", ".join(f"{label} {count}" for label, count in digest.risks_opened)
        lines.append(f"Risks opened: {total} ({kinds})")
    if digest.risks_escalated:
        lines.append(f"Risks escalated: {digest.risks_escalated}")
    if digest.risks_resolved:
        lines.append(f"Risks resolved: {digest.risks_resolved}")
    if digest.largest:
        lines.append("Largest moves:")
        lines += [
            f"{move.account_name}: {move.from_band} → {move.to_band} "
            f"({score(move.from_overall)} → {score(move.to_overall)}, {points(move.points)})"
            for move in digest.largest
        ]
    return Message(
        title=f"Scores for {digest.as_of}: {digest.accounts_moved} accounts changed band",
        lines=lines,
        url=digest.url,
        link_text="Open the portfolio",
    )


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(message: Message) -> dict:
    """A Slack incoming-webhook message: the title as fallback text, and a coloured
    attachment with the title, the lines and the link."""
    text = "\n".join(_slack_escape(line) for line in message.lines)
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_slack_escape(message.title)}*"}}
    ]
    if text:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if message.url:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{message.url}|{message.link_text}>"}],
            }
        )
    return {
        "text": message.title,
        "attachments": [{"color": message.color, "blocks": blocks}],
    }


def teams_body(message: Message) -> dict:
    """A message with one Adaptive Card (1.4): the title in the tone's colour, the lines,
    and a button to the page."""
    body: list[dict] = [
        {
            "type": "TextBlock",
            "text": message.title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": message.tone.capitalize() if message.tone != "default" else "Default",
        }
    ]
    body += [
        {"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"}
        for line in message.lines
    ]
    card: dict = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if message.url:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": message.link_text, "url": message.url}
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def people_body(endpoint_format: str, message: Message) -> dict:
    return slack_body(message) if endpoint_format == "slack" else teams_body(message)
