"""The rest of the surface through Python: identity changes and notices,
account deletion, passphrase change, settings, care team, links."""

from __future__ import annotations

from datetime import timedelta

import pytest

import sotto
from conftest import PASSPHRASE


def test_changed_identity_is_held_until_the_safety_number_is_accepted(people, tmp_path):
    dr = people.therapist("dr-rivera")
    sam = people.client("sam", dr)
    sam.send_text("dr-rivera", "hello")
    assert dr.sync().received == 1

    # sam deletes the account and registers the handle again: a new key.
    with pytest.raises(sotto.InvalidArgument):
        sam.delete_account("not-sam")
    sam.delete_account("sam")
    with pytest.raises(sotto.FailedPrecondition):
        sam.sync()  # the client is unusable after a deletion
    sam.close()
    with sotto.Client.register(str(tmp_path / "sam-again"), people.server.address, "sam",
                               PASSPHRASE, invite_code=dr.create_invite().code,
                               fast_key_derivation_for_tests=True) as again:
        again.send_text("dr-rivera", "it is me, on a new phone")

    notices = []
    stats = dr.listen_with(None, timeout=2, on_notice=notices.append)
    assert (stats.received, stats.held, stats.held_from) == (0, 1, ("sam",))
    assert [(n.peer, n.kind) for n in notices] == [("sam", sotto.NoticeKind.HELD)]
    assert "sam" in notices[0].text
    number = dr.safety_number("sam")
    assert number.changed and len(number.grouped) == 71  # 12 groups of 5, 11 spaces
    with pytest.raises(sotto.FailedPrecondition):
        dr.send_text("sam", "who is this?")
    with pytest.raises(sotto.InvalidArgument):
        dr.accept_identity_change("sam", "12345")
    dr.accept_identity_change("sam", number.grouped)
    assert dr.sync().received == 1
    assert [m.text for m in dr.history("sam")][-1] == "it is me, on a new phone"


def test_passphrase_settings_and_links(people):
    dr = people.therapist("dr-lee")
    kim = people.client("kim", dr)
    profile = people.profile("kim")

    kim.change_passphrase(PASSPHRASE, "a new passphrase")
    with pytest.raises(sotto.PermissionDenied):
        kim.change_passphrase("wrong", "another")
    kim.close()
    with pytest.raises(sotto.PermissionDenied):
        sotto.Client.open(profile, PASSPHRASE)
    kim = sotto.Client.open(profile, b"a new passphrase")  # bytes work as well as str
    try:
        assert kim.read_receipts
        kim.read_receipts = False
        assert not kim.read_receipts

        assert kim.notification_settings().mode == sotto.NotificationMode.OFF
        with pytest.raises(sotto.InvalidArgument) as caught:
            kim.set_email_notifications("not an address")
        assert "email" in caught.value.message
        with pytest.raises(sotto.FailedPrecondition):  # this server has no SMTP relay
            kim.set_email_notifications("kim@example.org")
        kim.disable_notifications()

        [result] = kim.send_to_care_team("to everyone who treats me")
        assert result.message.peer == "dr-lee" and result.expectation is not None
        assert kim.retry_unsent() == 0
        view = kim.get_policy("dr-lee")
        assert view.policy.working_days == [1, 2, 3, 4, 5]

        assert sotto.parse_invite_code(dr.create_invite().code)  # carries a key commitment
        kim.end_link("dr-lee")
        [link] = kim.links()
        assert (link.peer, link.active, link.ended_by) == ("dr-lee", False, "kim")
        assert kim.accept_invite(dr.create_invite().code) == "dr-lee"
        assert [lk.active for lk in kim.links()] == [True]
    finally:
        kim.close()


def test_backup_and_restore(people, tmp_path):
    dr = people.therapist("dr-ana")
    lou = people.client("lou", dr)
    lou.send_text("dr-ana", "before the phone fell in the lake")
    assert dr.sync().received == 1
    key = lou.backup(str(tmp_path / "lou.sottobackup"))
    assert len(key.replace(" ", "")) == 40
    with pytest.raises(sotto.AlreadyExists):
        lou.backup(str(tmp_path / "lou.sottobackup"))
    lou.close()
    wrong = ("1" if key[0] != "1" else "2") + key[1:]
    with pytest.raises(sotto.PermissionDenied):
        sotto.Client.restore(str(tmp_path / "lou.sottobackup"), wrong, str(tmp_path / "new"),
                             PASSPHRASE, fast_key_derivation_for_tests=True)
    assert not (tmp_path / "new").exists()
    with sotto.Client.restore(str(tmp_path / "lou.sottobackup"), key, str(tmp_path / "new"),
                              PASSPHRASE, fast_key_derivation_for_tests=True) as back:
        assert [m.text for m in back.history("dr-ana")] == ["before the phone fell in the lake"]
        assert back.restore_network_error is None  # the new sessions went out
        # dr-ana's client takes the new session lou's restore started (a
        # message sent before that is unreadable to lou: docs/BACKUP.md, limits).
        stats = dr.sync()
        assert (stats.received, stats.undecryptable, stats.notices) == (0, 0, ())
        dr.send_text("lou", "glad you are back")
        assert back.sync().received == 1
        back.send_text("dr-ana", "me too")
        assert dr.sync().received == 1


def test_devices_lists_this_device_and_remove_device_names_what_is_wrong(people):
    dr = people.therapist("dr-devi")
    devices = dr.devices()
    assert [(d.device_id, d.name, d.this_device) for d in devices] == [(1, "", True)]
    assert devices[0].last_seen_hour_ms > 0
    with pytest.raises(sotto.NotFound):
        dr.remove_device(9)
    with pytest.raises(sotto.FailedPrecondition):
        dr.remove_device(1)  # the only device: delete the account instead


def test_automatic_backup_restores_with_the_key_shown_once(people, tmp_path):
    dr = people.therapist("dr-bea")
    kit = people.client("kit", dr)
    kit.send_text("dr-bea", "kept by the automatic backup")
    backups = tmp_path / "backups"
    key = kit.set_auto_backup(str(backups), every_seconds=86400, keep=3)
    assert key is not None and len(key.replace(" ", "")) == 40
    assert kit.set_auto_backup(str(backups), every_seconds=3600, keep=3) is None  # key kept
    kit.backup_if_due()  # the first is due at once (or the runner wrote it already)
    files = sorted(backups.glob("sotto-backup-*.sottobackup"))
    assert len(files) == 1
    assert kit.backup_if_due() == ""  # not due again
    with pytest.raises(sotto.InvalidArgument):
        kit.set_auto_backup(str(backups), every_seconds=10)
    kit.disable_auto_backup()
    with pytest.raises(sotto.FailedPrecondition):
        kit.backup_if_due()
    kit.close()
    with sotto.Client.restore(str(files[0]), key, str(tmp_path / "kit2"), PASSPHRASE,
                              fast_key_derivation_for_tests=True) as back:
        assert [m.text for m in back.history("dr-bea")] == ["kept by the automatic backup"]


def test_background_calls_do_not_keep_the_profile_open_but_noted_activity_does(people):
    import time

    therapist = people.therapist("dr-idle-py")
    client = sotto.Client.register(
        people.profile("idle-py"), people.server.address, "idle-py", PASSPHRASE,
        invite_code=therapist.create_invite().code, fast_key_derivation_for_tests=True,
        auto_lock_after=timedelta(seconds=2))
    people._open.append(client)
    # An app's own refreshes, called every 0.2 s: the profile still locks on time.
    deadline = time.monotonic() + 20
    with sotto.background_calls():
        while not client.locked and time.monotonic() < deadline:
            try:
                client.conversations()
            except sotto.FailedPrecondition:
                break
            time.sleep(0.2)  # the app's pace
    assert client.locked
    client.unlock(PASSPHRASE)
    # The person's activity keeps it open for twice the limit.
    start = time.monotonic()
    while time.monotonic() - start < 4:
        client.note_activity()
        time.sleep(0.4)  # the person's pace
        assert not client.locked
    # Then nothing: it locks (asking `locked` is not activity).
    deadline = time.monotonic() + 20
    while not client.locked and time.monotonic() < deadline:
        time.sleep(0.1)
    with pytest.raises(sotto.FailedPrecondition):
        client.note_activity()
