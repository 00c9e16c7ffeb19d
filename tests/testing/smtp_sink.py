#!/usr/bin/env python3
"""A local SMTP sink for the notification tests (Debian's python3-aiosmtpd).

    smtp_sink.py OUT_DIR PORT

Listens on 127.0.0.1:PORT, writes each accepted mail to OUT_DIR/NNNN.eml
(written to a temporary name, then renamed: a reader never sees half a
mail), with the SMTP envelope first as X-Sink-Mail-From / X-Sink-Rcpt-To
lines and then every byte of the DATA as received. Prints "ready" once
listening and runs until its stdin closes or it is killed.
"""
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = len([n for n in os.listdir(out_dir) if n.endswith(".eml")])

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.out_dir, "%04d.eml" % self.count)
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Sink-Mail-From: " + envelope.mail_from.encode() + b"\r\n")
            for rcpt in envelope.rcpt_tos:
                f.write(b"X-Sink-Rcpt-To: " + rcpt.encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    out_dir, port = sys.argv[1], int(sys.argv[2])
    controller = Controller(Sink(out_dir), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
