"""What Slack, Teams and standard receivers get, value for value."""

from events import formats

BAND_MOVE = {
    "account": {
        "id": 5,
        "external_id": "ACME-5",
        "name": "Acme",
        "owner_email": "a@x.io",
        "arr": 1.0,
    },
    "scorecard": {"id": 1, "name": "Standard B2B", "version": 3},
    "from": {"band": "Green", "overall": 72.5, "date": "2026-11-29", "color": "#27ae60"},
    "to": {"band": "Red", "overall": 38.0, "date": "2026-11-30", "color": "#c0392b"},
    "changes": [
        {"measure": "nps", "name": "NPS", "points": -20.25},
        {"measure": "roi", "name": "ROI", "points": -10.0},
        {"measure": "support", "name": "Support load", "points": -4.25},
    ],
    "url": "https://hs.example.com/accounts/5/",
}
RISK = {
    "account": {"id": 5, "name": "Acme"},
    "risk": {
        "id": 9,
        "type": "low_sentiment",
        "label": "Low sentiment",
        "severity": "critical",
        "status": "open",
        "evidence": {"score": 0, "as_of": "2026-11-30"},
        "previous_severity": "high",
    },
    "url": "https://hs.example.com/accounts/5/",
}


def test_points_carry_their_sign():
    assert [formats.points(v) for v in (4.5, -6.2, 0)] == ["+4.50 pts", "-6.20 pts", "+0.00 pts"]


def test_band_move_message_for_people():
    assert formats.event_message("score.band_changed", BAND_MOVE) == formats.Message(
        title="Acme: Green → Red",
        lines=[
            "Score 72.50 (2026-11-29) → 38.00 (2026-11-30)",
            "NPS -20.25 pts",
            "ROI -10.00 pts",
            "Support load -4.25 pts",
        ],
        url="https://hs.example.com/accounts/5/",
        color="#c0392b",
        tone="attention",
    )


def test_band_move_in_slack():
    body = formats.slack_body(formats.event_message("score.band_changed", BAND_MOVE))
    assert body == {
        "text": "Acme: Green → Red",
        "attachments": [
            {
                "color": "#c0392b",
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": "*Acme: Green → Red*"}},
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": "Score 72.50 (2026-11-29) → 38.00 (2026-11-30)\n"
                            "NPS -20.25 pts\nROI -10.00 pts\nSupport load -4.25 pts",
                        },
                    },
                    {
                        "type": "context",
                        "elements": [
                            {
                                "type": "mrkdwn",
                                "text": "<https://hs.example.com/accounts/5/|Open in Healthscore>",
                            }
                        ],
                    },
                ],
            }
        ],
    }


def test_band_move_in_teams():
    body = formats.teams_body(formats.event_message("score.band_changed", BAND_MOVE))
    card = body["attachments"][0]["content"]
    assert (body["type"], body["attachments"][0]["contentType"]) == (
        "message",
        "application/vnd.microsoft.card.adaptive",
    )
    assert [(block["text"], block.get("color")) for block in card["body"]] == [
        ("Acme: Green → Red", "Attention"),
        ("Score 72.50 (2026-11-29) → 38.00 (2026-11-30)", None),
        ("NPS -20.25 pts", None),
        ("ROI -10.00 pts", None),
        ("Support load -4.25 pts", None),
    ]
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open in Healthscore",
            "url": "https://hs.example.com/accounts/5/",
        }
    ]


def test_risk_escalated_message_names_type_severity_and_evidence():
    assert formats.event_message("risk.escalated", RISK) == formats.Message(
        title="Risk escalated on Acme: Low sentiment (high → critical)",
        lines=["Status: open", "as of: 2026-11-30", "score: 0"],
        url="https://hs.example.com/accounts/5/",
        color="#c0392b",
        tone="attention",
    )


def test_risk_resolved_message_is_green():
    message = formats.event_message(
        "risk.resolved", {**RISK, "risk": {**RISK["risk"], "status": "resolved"}}
    )
    assert (message.title, message.color, message.tone) == (
        "Risk resolved on Acme: Low sentiment",
        "#27ae60",
        "good",
    )


def test_task_overdue_message():
    data = {
        "account": {"name": "Acme"},
        "task": {"title": "Call the sponsor", "due_on": "2026-11-28", "assignee_email": "c@x.io"},
        "url": "https://hs.example.com/accounts/5/",
    }
    message = formats.event_message("task.overdue", data)
    assert (message.title, message.lines) == (
        "Task overdue on Acme: Call the sponsor",
        ["Due 2026-11-28", "Assigned to c@x.io"],
    )


def test_slack_text_is_escaped():
    body = formats.slack_body(formats.Message(title="A <b> & c"))
    assert body["attachments"][0]["blocks"][0]["text"]["text"] == "*A &lt;b&gt; &amp; c*"


def test_digest_message_counts_bands_and_lists_largest_moves():
    digest = formats.Digest(
        as_of="2026-11-30",
        accounts_moved=3,
        moved_to=[("Red", 2), ("Green", 1)],
        largest=[
            formats.Move("Acme", "Green", "Red", 72.5, 38.0, "u1"),
            formats.Move("Beta", "Yellow", "Green", 60.0, 71.25, "u2"),
        ],
        url="https://hs.example.com/portfolio/",
    )
    assert formats.digest_message(digest) == formats.Message(
        title="Scores for 2026-11-30: 3 accounts changed band",
        lines=[
            "Moved to Red: 2",
            "Moved to Green: 1",
            "Largest moves:",
            "Acme: Green → Red (72.50 → 38.00, -34.50 pts)",
            "Beta: Yellow → Green (60.00 → 71.25, +11.25 pts)",
        ],
        url="https://hs.example.com/portfolio/",
        link_text="Open the portfolio",
    )


def test_envelope_has_the_four_fields():
    assert formats.envelope(
        event_id="evt_1", event_type="risk.opened", created_at="2026-11-30T02:00:00Z", data={}
    ) == {"id": "evt_1", "type": "risk.opened", "created_at": "2026-11-30T02:00:00Z", "data": {}}
