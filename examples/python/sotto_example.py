#!/usr/bin/env python3
"""A client of a therapist, in Python against the installed Sotto package.

The same two commands as examples/c and examples/cpp, each one process, as an
app would be started twice:

    sotto_example.py register SERVER PROFILE_DIR HANDLE INVITE THERAPIST TEXT
        creates the profile with the therapist's invite and sends TEXT
    sotto_example.py read PROFILE_DIR THERAPIST
        opens the profile, fetches new messages, prints the conversation

The passphrase comes from $SOTTO_EXAMPLE_PASSPHRASE. The profile is created
with fast key derivation so that the test that runs this is quick; a real app
keeps the default.
"""

import os
import sys

import sotto


def register(server: str, profile_dir: str, handle: str, invite: str, therapist: str,
             text: str) -> int:
    with sotto.Client.register(profile_dir, server, handle, os.environ["SOTTO_EXAMPLE_PASSPHRASE"],
                               invite_code=invite, fast_key_derivation_for_tests=True) as client:
        print(f"registered {client.handle}")
        client.send_text(therapist, text)
        print(f"sent to {therapist}: {text}")
    return 0


def read(profile_dir: str, therapist: str) -> int:
    with sotto.Client.open(profile_dir, os.environ["SOTTO_EXAMPLE_PASSPHRASE"]) as client:
        client.sync()
        for m in client.history(therapist):
            print(f"{'to' if m.outgoing else 'from'} {m.peer}: {m.text}")
    return 0


def main(argv: list) -> int:
    try:
        if len(argv) == 8 and argv[1] == "register":
            return register(*argv[2:])
        if len(argv) == 4 and argv[1] == "read":
            return read(*argv[2:])
    except sotto.SottoError as e:
        print(f"{argv[1]}: {e}", file=sys.stderr)
        return 1
    print(f"usage: {argv[0]} register SERVER PROFILE_DIR HANDLE INVITE THERAPIST TEXT\n"
          f"       {argv[0]} read PROFILE_DIR THERAPIST", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
