"""Linking a second device through Python against the real server: the code
reaches on_code, the history arrives on the new device with progress on both
sides, both devices list each other and both receive what is sent next; a
used code, giving up, and an app exception are each reported and leave no
profile behind."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

import sotto
from conftest import PASSPHRASE


class Linking:
    """Runs link_device on a thread of its own; the code is handed over through an Event."""

    def __init__(self, client: sotto.Client, **kwargs) -> None:
        self.code = ""
        self.expires_at = None
        self.uploads = []
        self.error = None
        self._have_code = threading.Event()

        def on_code(code: str, expires_at: datetime) -> None:
            self.code, self.expires_at = code, expires_at
            self._have_code.set()

        def run() -> None:
            try:
                client.link_device(on_code, on_history_progress=self.uploads.append, **kwargs)
            except BaseException as e:  # noqa: B036 - handed to the test's thread
                self.error = e
            finally:
                self._have_code.set()

        self._thread = threading.Thread(target=run)
        self._thread.start()

    def await_code(self) -> str:
        assert self._have_code.wait(30), "link_device gave no code within 30 s"
        return self.code

    def finish(self) -> None:
        self._thread.join(60)
        assert not self._thread.is_alive(), "link_device did not return within 60 s"


def test_linked_device_gets_the_history_and_both_devices_list_each_other(people, tmp_path):
    dr = people.therapist("dr-link")
    kit = people.client("kit", dr)
    for text in ("one", "two", "three"):
        kit.send_text("dr-link", text)
    assert dr.sync().received == 3
    dr.send_text("kit", "got them")

    linking = Linking(dr, include_history=True, timeout=60)
    code = linking.await_code()
    assert code and linking.expires_at > datetime.now(timezone.utc)
    downloads = []
    laptop, joined = sotto.Client.join(str(tmp_path / "dr-laptop"), people.server.address, code,
                                       PASSPHRASE, device_name="office laptop",
                                       on_history_progress=downloads.append,
                                       fast_key_derivation_for_tests=True)
    linking.finish()
    assert linking.error is None
    with laptop:
        assert joined == sotto.JoinResult(contacts=1, had_history=True, history_messages=4,
                                          history_error=None)
        assert linking.uploads and linking.uploads[-1].stage == sotto.HistoryStage.UPLOADING
        assert linking.uploads[-1].messages == 4
        stages = [p.stage for p in downloads]
        assert stages[0] == sotto.HistoryStage.DOWNLOADING
        assert stages[-1] == sotto.HistoryStage.IMPORTING and downloads[-1].messages == 4
        assert downloads[-1].total_bytes > 0

        assert laptop.handle == "dr-link" and laptop.device_id != dr.device_id
        assert [m.text for m in laptop.history("kit")] == ["one", "two", "three", "got them"]
        for client in (dr, laptop):
            listed = [(d.device_id, d.name, d.this_device) for d in client.devices()]
            assert listed == [(dr.device_id, "", client is dr),
                              (laptop.device_id, "office laptop", client is laptop)]

        # What kit sends now reaches both of the therapist's devices.
        kit.send_text("dr-link", "four")
        assert dr.sync().received == 1
        assert laptop.sync().received == 1

    # The code worked once: no second device joins with it, and no profile is left.
    with pytest.raises(sotto.NotFound, match="link code"):
        sotto.Client.join(str(tmp_path / "dr-third"), people.server.address, code, PASSPHRASE,
                          fast_key_derivation_for_tests=True)
    assert not (tmp_path / "dr-third").exists() or not any((tmp_path / "dr-third").iterdir())


def test_cancelled_linking_ends_the_code(people, tmp_path):
    dr = people.therapist("dr-cancel")
    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) >= 2

    codes = []
    with pytest.raises(sotto.Cancelled):
        dr.link_device(lambda code, _: codes.append(code), cancelled=cancelled)
    assert len(asked) == 2 and len(codes) == 1
    with pytest.raises(sotto.NotFound):
        sotto.Client.join(str(tmp_path / "late"), people.server.address, codes[0], PASSPHRASE,
                          fast_key_derivation_for_tests=True)
    assert [d.device_id for d in dr.devices()] == [dr.device_id]


def test_an_exception_in_on_code_gives_up_and_is_raised(people):
    dr = people.therapist("dr-raise")

    def on_code(code: str, _expires: datetime) -> None:
        raise KeyError("no screen to show it on")

    with pytest.raises(KeyError, match="no screen"):
        dr.link_device(on_code, timeout=30)


def test_link_timeout_is_deadline_exceeded(people):
    dr = people.therapist("dr-slow")
    with pytest.raises(sotto.DeadlineExceeded, match="timeout"):
        dr.link_device(lambda code, _: None, include_history=False, timeout=0.3)


def test_mistyped_code_is_invalid_argument_and_leaves_no_profile(people, tmp_path):
    with pytest.raises(sotto.InvalidArgument, match="code"):
        sotto.Client.join(str(tmp_path / "typo"), people.server.address, "not-a-code", PASSPHRASE,
                          fast_key_derivation_for_tests=True)
    assert not (tmp_path / "typo").exists() or not any((tmp_path / "typo").iterdir())
