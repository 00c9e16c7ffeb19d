"""Full exchanges through the Python package against the real server: Python
therapist and Python client, and a Python therapist with a person on the CLI."""

from __future__ import annotations

import inspect
import json
from datetime import datetime, timedelta, timezone

import sotto
from conftest import PASSPHRASE


def test_python_therapist_and_client_exchange_texts_and_letters_both_ways(people):
    dr = people.therapist("dr-rivera")
    sam = people.client("sam", dr)
    assert (sam.handle, sam.role, dr.role) == ("sam", sotto.Role.CLIENT, sotto.Role.THERAPIST)
    assert [link.peer for link in sam.links() if link.active] == ["dr-rivera"]

    sent = sam.send_text("dr-rivera", "I had a hard week. Can we talk on Thursday?")
    assert sent.message.outgoing and sent.message.state == sotto.DeliveryState.SENT
    assert sent.expectation is not None and sent.expectation.due_ms > 0
    letter = sam.send_letter("dr-rivera", "Before Thursday", "Dear Dr. Rivera,\n\nSam ✉")

    queue = dr.queue()
    assert [(e.client, e.state, e.waiting_count) for e in queue] == [
        ("sam", sotto.ConversationState.WAITING, 2)]

    stats = dr.sync()
    assert (stats.received, stats.undecryptable, stats.held) == (2, 0, 0)
    [conversation] = dr.conversations()
    assert (conversation.peer, conversation.message_count, conversation.unread_count) == ("sam", 2, 2)

    history = list(dr.history("sam"))
    assert [(m.kind, m.text, m.subject, m.outgoing) for m in history] == [
        (sotto.MessageKind.TEXT, "I had a hard week. Can we talk on Thursday?", "", False),
        (sotto.MessageKind.LETTER, "Dear Dr. Rivera,\n\nSam ✉", "Before Thursday", False)]
    assert history[1].id == letter.message.id
    assert dr.conversations()[0].unread_count == 0  # reading marked them read

    answer = dr.reply(letter.message.id[:8], "Thank you for writing this down, Sam.")
    assert answer.message.kind == sotto.MessageKind.LETTER
    assert answer.message.subject == "Re: Before Thursday"
    assert answer.message.thread_id == letter.message.id
    dr.send_text("sam", "See you Thursday at 10.")
    assert [e.state for e in dr.queue(include_all=True)] == [sotto.ConversationState.ANSWERED]

    assert sam.sync().received == 2
    texts = [(m.outgoing, m.subject, m.text) for m in sam.read_conversation("dr-rivera")]
    assert texts == [
        (True, "", "I had a hard week. Can we talk on Thursday?"),
        (True, "Before Thursday", "Dear Dr. Rivera,\n\nSam ✉"),
        (False, "Re: Before Thursday", "Thank you for writing this down, Sam."),
        (False, "", "See you Thursday at 10.")]
    # Reading queued read receipts; they go now, not with sam's next sync.
    sam.send_pending_receipts()
    dr.sync()
    mine = [m for m in dr.read_conversation("sam") if m.outgoing]
    assert [m.state for m in mine] == [sotto.DeliveryState.READ] * 2

    dr.close_conversation("sam")
    assert [e.state for e in dr.queue(include_all=True)] == [sotto.ConversationState.CLOSED]
    assert dr.queue().entries == ()


def test_python_therapist_and_cli_client(people):
    dr = people.therapist("dr-lee")
    dr.set_policy(sotto.ResponsePolicy(time_zone="Europe/Berlin", reply_window_minutes=24 * 60))
    alex = people.cli_client("alex", dr)

    # The therapist listens; the person on the CLI writes meanwhile.
    messages = dr.listen(timeout=30)
    alex.run("send", "dr-lee", "Hello from the command line")
    first = next(messages)
    messages.close()  # stops listening
    assert (first.peer, first.text, first.outgoing) == ("alex", "Hello from the command line", False)
    assert [(e.client, e.waiting_count) for e in dr.queue()] == [("alex", 1)]
    dr.snooze("alex", datetime.now(timezone.utc) + timedelta(hours=2))
    [entry] = dr.queue(include_all=True)
    assert entry.state == sotto.ConversationState.SNOOZED and entry.snoozed_until_ms > 0

    reply = dr.send_letter("alex", "Homework", "Write down three good moments each day.")
    alex.run("sync")
    read = json.loads(alex.run("read", "dr-lee", "--json").stdout)
    assert [(m["kind"], m["subject"], m["text"]) for m in read["messages"]] == [
        ("text", None, "Hello from the command line"),
        ("letter", "Homework", "Write down three good moments each day.")]
    assert read["messages"][1]["id"] == reply.message.id

    # Both sides compute the same safety number: they hold each other's keys.
    cli_number = json.loads(alex.run("safety-number", "dr-lee", "--json").stdout)
    python_number = dr.safety_number("alex")
    assert python_number.digits == cli_number["digits"] and len(python_number.digits) == 60
    assert not python_number.verified and not python_number.changed
    dr.mark_verified("alex")
    assert dr.safety_number("alex").verified

    policy = json.loads(alex.run("policy", "dr-lee", "--json").stdout)["policies"][0]
    assert (policy["time_zone"], policy["reply_window_minutes"]) == ("Europe/Berlin", 1440)
    assert [e.state for e in dr.queue(include_all=True)] == [sotto.ConversationState.ANSWERED]


def test_profile_reopens_with_its_history(people):
    dr = people.therapist("dr-okafor")
    person = people.client("ana", dr)
    person.send_text("dr-okafor", "before closing")
    profile = people.profile("ana")
    person.close()
    with sotto.Client.open(profile, PASSPHRASE) as again:
        assert again.handle == "ana" and again.server_address == people.server.address
        assert [m.text for m in again.history("dr-okafor")] == ["before closing"]
    assert again.closed


def test_scheduled_message_can_be_cancelled(people):
    dr = people.therapist("dr-chen")
    person = people.client("joe", dr)
    later = person.send_text("dr-chen", "tomorrow morning",
                          deliver_at=datetime.now(timezone.utc) + timedelta(days=1))
    assert later.message.state == sotto.DeliveryState.SCHEDULED
    person.cancel_scheduled(later.message.id)
    assert [m.state for m in person.history("dr-chen")] == [sotto.DeliveryState.CANCELLED]
    assert dr.sync().received == 0


def test_every_public_name_has_a_docstring():
    undocumented = []
    for name in sotto.__all__:
        value = getattr(sotto, name)
        if (inspect.isclass(value) or inspect.isfunction(value)) and not value.__doc__:
            undocumented.append(name)
    for name, member in inspect.getmembers(sotto.Client):
        doc = member.fget.__doc__ if isinstance(member, property) else member.__doc__
        if not name.startswith("_") and not doc:
            undocumented.append(f"Client.{name}")
    assert undocumented == []
