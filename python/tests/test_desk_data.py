"""What the desk needs from the library (issue 18), through the Python package:
drafts, the scheduled list, the invite list and the due preview."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

import sotto


def test_drafts_are_saved_listed_newest_first_and_deleted(people):
    dr = people.therapist("dr-draft")
    person = people.client("drafter", dr)
    first = person.save_draft("Dear Dr Draft,\nabout Tuesday", to="dr-draft",
                              kind=sotto.MessageKind.LETTER, subject="Tuesday")
    assert len(first.id) == 32 and first.kind == sotto.MessageKind.LETTER
    time.sleep(0.01)
    second = person.save_draft("short", id="page-chosen-id", to="dr-draft")
    drafts = person.list_drafts()
    assert [d.id for d in drafts] == ["page-chosen-id", first.id]
    assert {d.body for d in drafts} == {"short", "Dear Dr Draft,\nabout Tuesday"}
    with pytest.raises(sotto.InvalidArgument, match="draft subject"):
        person.save_draft("x", subject="s" * 201)
    person.delete_draft(second.id)
    assert [d.id for d in person.list_drafts()] == [first.id]
    with pytest.raises(sotto.NotFound):
        person.delete_draft(second.id)


def test_list_scheduled_and_list_invites(people):
    dr = people.therapist("dr-sched")
    person = people.client("scheduler", dr)
    later = person.send_text("dr-sched", "tomorrow",
                             deliver_at=datetime.now(timezone.utc) + timedelta(days=1))
    assert [m.id for m in person.list_scheduled()] == [later.message.id]
    person.cancel_scheduled(later.message.id)
    assert person.list_scheduled() == []

    invites = dr.list_invites()
    assert len(invites) == 1 and invites[0].used and invites[0].used_by == "scheduler"
    made = dr.create_invite()
    newest = dr.list_invites()[0]
    assert newest.code == made.code and not newest.used
    with pytest.raises(sotto.PermissionDenied):
        person.list_invites()


def test_preview_due_is_the_servers_due(people):
    dr = people.therapist("dr-due")
    person = people.client("asker", dr)
    policy = sotto.ResponsePolicy(time_zone="Europe/Berlin", working_days=[1, 2, 3],
                                  day_start_minute=600, day_end_minute=900,
                                  reply_window_minutes=400)
    dr.set_policy(policy)
    sent = person.send_text("dr-due", "when?")
    at = datetime.fromtimestamp(sent.message.server_time_ms / 1000, tz=timezone.utc)
    due = sotto.preview_due(policy, at)
    assert int(due.timestamp() * 1000) == sent.expectation.due_ms
