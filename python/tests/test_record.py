"""The clinical record (issue 16) through the Python package: a therapist
exports a real exchange, it verifies without a client, and an edited body is
named."""

from __future__ import annotations

import json

import pytest

import sotto


def test_export_verifies_and_an_edit_is_named(people, tmp_path):
    dr = people.therapist("dr-record")
    person = people.client("recorded", dr)
    sent = person.send_text("dr-record", "<b>not bold</b>")
    dr.sync()
    out = tmp_path / "record"
    assert dr.export_record("recorded", str(out)) == 1
    check = sotto.verify_export(str(out))
    assert check.verified and check.problems == [] and check.signer == "dr-record"
    assert len(check.signer_fingerprint) == 35
    assert "&lt;b&gt;not bold&lt;/b&gt;" in (out / "record.html").read_text()

    record = json.loads((out / "record.json").read_text())
    record["messages"][0]["body"] = "edited"
    (out / "record.json").write_text(json.dumps(record, indent=2) + "\n")
    check = sotto.verify_export(str(out))
    assert not check.verified
    assert check.problems == [f"message {sent.message.id} (sent "
                              f"{record['messages'][0]['server_time']}) was altered"]
    with pytest.raises(sotto.AlreadyExists):
        dr.export_record("recorded", str(out))
    with pytest.raises(sotto.NotFound):
        sotto.verify_export(str(tmp_path / "nothing"))
