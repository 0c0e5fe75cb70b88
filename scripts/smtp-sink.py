"""A real SMTP server that stores what it receives, for the voucher service's mail tests.

The tests (crates/vouchers-cli/tests/cli/mail.rs) start it from the venv that
scripts/smtp-deps.sh makes, point the service at it, and read the messages back from disk:

    target/smtp-venv/bin/python scripts/smtp-sink.py --host 127.0.0.1 --port PORT \
        --maildir DIR [--tempfail-times N] [--data-delay SECONDS]

No TLS and no AUTH required; AUTH PLAIN/LOGIN, when a client offers it, accepts any credentials.
Each accepted message becomes DIR/NNNNNN.json ({"mail_from", "rcpt_tos", "received_at"}) and
then DIR/NNNNNN.eml (the DATA bytes exactly as received), each written under a temporary name
and renamed, so an .eml that exists is complete and so is its .json. Recipients whose local part
starts with "permfail" get a 550; those starting with "tempfail" get a 451 for their first N
RCPT attempts (counted per address), then are accepted. With --data-delay, the answer to each
message's DATA comes that many seconds after its last byte (a slow server). Prints "ready PORT" once listening and
runs until SIGTERM or SIGINT, then exits 0.
"""

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
import time
from collections import Counter

from aiosmtpd.smtp import SMTP, AuthResult


class Sink:
    def __init__(self, maildir, tempfail_times, data_delay=0.0):
        self.maildir = maildir
        self.data_delay = data_delay
        self.tempfail_times = tempfail_times
        self.tempfails = Counter()
        # Continue after any messages already there, so a restarted sink never overwrites one.
        numbers = [int(m.group(1)) for name in os.listdir(maildir)
                   if (m := re.fullmatch(r"(\d{6})\.eml", name))]
        self.counter = max(numbers, default=0)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.rsplit("@", 1)[0].lower()
        if local.startswith("permfail"):
            return "550 5.1.1 mailbox unavailable (test)"
        if local.startswith("tempfail"):
            key = address.lower()
            if self.tempfails[key] < self.tempfail_times:
                self.tempfails[key] += 1
                return "451 4.3.0 try again later (test)"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        self.counter += 1
        name = f"{self.counter:06d}"
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                "received_at": time.time()}
        self._write(f"{name}.json", json.dumps(meta).encode())
        self._write(f"{name}.eml", envelope.original_content)
        return f"250 2.0.0 OK: queued as {name}"

    def _write(self, name, data):
        tmp = os.path.join(self.maildir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.maildir, name))


def accept_any(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=True)


async def serve(args):
    loop = asyncio.get_running_loop()
    sink = Sink(args.maildir, args.tempfail_times, args.data_delay)
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="smtp-sink.test", enable_SMTPUTF8=True,
                     auth_require_tls=False, authenticator=accept_any),
        host=args.host, port=args.port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    server.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--tempfail-times", type=int, default=2)
    parser.add_argument("--data-delay", type=float, default=0.0)
    args = parser.parse_args()
    # aiosmtpd itself warns "Session.login_data is deprecated" on every AUTH; not ours to fix.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    os.makedirs(args.maildir, exist_ok=True)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
