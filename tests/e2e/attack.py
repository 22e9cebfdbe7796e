"""Bounded attackers for abuse_test.sh, run in the client namespace against the appliance. Each
mode stops by itself (a frame count or a deadline) and prints one result line.

usage: attack.py ADDRESS CAFILE MODE [ARGS...]
MODE:
  slowloris N SECONDS        N HTTP/1.1 heads, one byte per connection every 0.5 s
                             → "closed K/N last_after S" (K connections the proxy cut, S seconds)
  idle SOURCES N SECONDS     N plain TCP connections (no ClientHello) from each comma-separated
                             source address, held SECONDS → "opened K closed_by_peer C failed F"
  h1-huge N BYTES            N HTTP/1.1 connections each sending a head of BYTES
                             → "431 K/N" (answers that were 431)
  settings-flood N           N empty SETTINGS frames at once, never reading → "goaway CODE"...
  ping-flood N               N PING frames at once, never reading → "goaway CODE"...
  hpack-bomb N               a 1000-byte header in the dynamic table, then N streams each naming
                             it 16000 times (16 MB decoded per stream from 16 KB on the wire)
  streams N                  N HEADERS frames (new streams, never reset) on one connection,
                             past SETTINGS_MAX_CONCURRENT_STREAMS
  (both → "status CODE:COUNT,... reset ERROR:COUNT,... END", END "goaway CODE" or "closed")
  dns-size SOURCE NAME TYPE BUFSIZE   one UDP query from SOURCE (EDNS with BUFSIZE; 0: none)
                             → "query Q answer A tc T rcode R ancount C" (sizes in bytes)
  dns-flood SOURCE N NAME    N UDP queries for NAME from SOURCE as fast as they go, then 1 s for
                             the last answers → "sent N answered K in S s"
  (CAFILE is unused by the dns modes: pass -)
rapid-reset and continuation floods come from tests/integration/proxy/h2_probe.py as they are.
"""
import os
import select
import socket
import struct
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration",
                                "proxy"))
from hpack import Decoder  # noqa: E402
from hyperframe.frame import (Frame, GoAwayFrame, HeadersFrame, PingFrame,  # noqa: E402
                              RstStreamFrame, SettingsFrame)

from h2_probe import connect, pump  # noqa: E402

REQ = [(":method", "GET"), (":scheme", "https"), (":path", "/simple/tiny-pkg/"),
       (":authority", "pypi.org")]


def tls_h1(address, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx.wrap_socket(socket.create_connection((address, 443), timeout=10),
                           server_hostname="pypi.org")


def slowloris(address, cafile, n, seconds):
    conns = []
    for _ in range(n):
        s = tls_h1(address, cafile)
        s.setblocking(False)
        conns.append(s)
    head = b"GET /simple/ HTTP/1.1\r\nHost: pypi.org\r\nX-Slow: " + b"a" * 10000
    t0 = time.monotonic()
    closed_at = {}
    pos = 0
    while len(closed_at) < n and time.monotonic() - t0 < seconds:
        for i, s in enumerate(conns):
            if i in closed_at:
                continue
            try:
                if s.recv(1024) == b"":
                    closed_at[i] = time.monotonic() - t0
                    continue
            except ssl.SSLWantReadError:
                pass
            except (OSError, ssl.SSLError):
                closed_at[i] = time.monotonic() - t0
                continue
            try:
                s.send(head[pos:pos + 1])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
            except (OSError, ssl.SSLError):
                closed_at[i] = time.monotonic() - t0
        pos += 1
        time.sleep(0.5)
    last = max(closed_at.values()) if closed_at else 0
    print("closed %d/%d last_after %.0f" % (len(closed_at), n, last))


def idle(address, sources, n, seconds):
    socks, failed = [], 0
    for src in sources.split(","):
        for _ in range(n):
            s = socket.socket()
            s.setblocking(False)
            s.bind((src, 0))
            try:
                s.connect((address, 443))
            except BlockingIOError:
                pass
            except OSError:
                failed += 1
                s.close()
                continue
            socks.append(s)
    deadline = time.monotonic() + seconds
    closed = set()
    while time.monotonic() < deadline:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                if s.recv(1) == b"":
                    closed.add(i)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                closed.add(i)
        time.sleep(0.2)
    print("opened %d closed_by_peer %d failed %d" % (len(socks), len(closed), failed))
    for s in socks:
        s.close()


def h1_huge(address, cafile, n, size):
    got = 0
    for _ in range(n):
        s = tls_h1(address, cafile)
        head = b"GET /simple/ HTTP/1.1\r\nHost: pypi.org\r\n"
        filler = b"X-Big: " + b"a" * 8000 + b"\r\n"
        try:
            s.sendall(head)
            sent = len(head)
            while sent < size:
                s.sendall(filler)
                sent += len(filler)
        except (OSError, ssl.SSLError):
            pass  # the proxy answered and closed while we were still sending
        try:
            s.settimeout(5)
            if s.recv(64).startswith(b"HTTP/1.1 431"):
                got += 1
        except (OSError, ssl.SSLError):
            pass
        s.close()
    print("431 %d/%d" % (got, n))


def send_all_then_pump(tls, conn, data):
    try:
        tls.sendall(data)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        return "closed"
    tls.settimeout(5)
    return pump(tls, conn, until_close=True)


def h2_flood(address, cafile, frame, n):
    tls, conn = connect(address, cafile)
    one = frame.serialize()
    tls.sendall(conn.data_to_send())
    # In slices, so a peer that gives up early is seen as soon as the kernel buffers fill.
    for _ in range(0, n - 4096, 4096):
        try:
            tls.sendall(one * 4096)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            print("closed")
            return
    print(send_all_then_pump(tls, conn, one * min(n, 4096)))


class RawFrames:
    """The peer's frames as they come (hyperframe, no h2 state: the attacks bypass it)."""

    def __init__(self, tls):
        self.tls, self.buf, self.closed = tls, b"", False

    def read(self, timeout):
        """Yields frames until the peer closes, or `timeout` seconds pass without a byte."""
        self.tls.settimeout(timeout)
        while not self.closed:
            try:
                chunk = self.tls.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                return
            except (OSError, ssl.SSLError):
                chunk = b""
            if not chunk:
                self.closed = True
            self.buf += chunk
            while len(self.buf) >= 9:
                f, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
                if len(self.buf) < 9 + length:
                    break
                f.parse_body(memoryview(self.buf[9:9 + length]))
                self.buf = self.buf[9 + length:]
                yield f


def send_streams(address, cafile, blocks):
    """Opens one stream per header block (END_STREAM), 100 at a time without waiting for
    answers, and tallies the answers: (statuses, resets by error code, how it ended)."""
    tls, conn = connect(address, cafile)
    tls.sendall(conn.data_to_send())
    frames = [HeadersFrame(1 + 2 * k, data=b, flags=["END_HEADERS", "END_STREAM"]).serialize()
              for k, b in enumerate(blocks(conn.encoder))]
    statuses, resets, end, dec = {}, {}, "open", Decoder()
    peer = RawFrames(tls)

    def tally(timeout):
        nonlocal end
        for f in peer.read(timeout):
            if isinstance(f, HeadersFrame):
                status = dict(dec.decode(f.data)).get(":status", "?")
                statuses[status] = statuses.get(status, 0) + 1
            elif isinstance(f, RstStreamFrame):
                resets[f.error_code] = resets.get(f.error_code, 0) + 1
            elif isinstance(f, GoAwayFrame):
                end = "goaway %d" % f.error_code
            if end != "open" or sum(resets.values()) + sum(statuses.values()) >= len(frames):
                return True
        return peer.closed

    for i in range(0, len(frames), 100):
        try:
            tls.sendall(b"".join(frames[i:i + 100]))
        except (OSError, ssl.SSLError):
            break
        if tally(0.001):
            break
    if end == "open" and not peer.closed:
        tally(3)
    if end == "open" and peer.closed:
        end = "closed"
    return statuses, resets, end


def report(statuses, resets, end):
    tally = lambda d: ",".join("%s:%d" % kv for kv in sorted(d.items())) or "none"  # noqa: E731
    print("status %s reset %s %s" % (tally(statuses), tally(resets), end))


def hpack_bomb(address, cafile, n):
    def blocks(enc):
        # The first stream puts a 1000-byte field in the dynamic table (small enough that the
        # request's own entries stay beside it in the 4 KiB table); each later one names it
        # 16000 times with one byte (0xbe: the newest entry, index 62).
        yield enc.encode(REQ + [("x-bomb", "b" * 1000)])
        assert enc.header_table.dynamic_entries[0][0] == b"x-bomb"
        for _ in range(n - 1):
            yield enc.encode(REQ) + b"\xbe" * 16000
    report(*send_streams(address, cafile, blocks))


def streams(address, cafile, n):
    report(*send_streams(address, cafile, lambda enc: (enc.encode(REQ) for _ in range(n))))


QTYPES = {"A": 1, "TXT": 16, "AAAA": 28, "ANY": 255}


def dns_query(qid, name, qtype, bufsize):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1 if bufsize else 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    q += struct.pack(">HH", QTYPES[qtype], 1)
    if bufsize:
        q += b"\0" + struct.pack(">HHIH", 41, bufsize, 0, 0)  # OPT: size in CLASS
    return q


def dns_size(address, source, name, qtype, bufsize):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.settimeout(3)
    q = dns_query(0x4242, name, qtype, bufsize)
    s.sendto(q, (address, 53))
    try:
        a = s.recv(65535)
    except socket.timeout:
        print("query %d answer none" % len(q))
        return
    flags, ancount = struct.unpack(">H", a[2:4])[0], struct.unpack(">H", a[6:8])[0]
    print("query %d answer %d tc %d rcode %d ancount %d"
          % (len(q), len(a), (flags >> 9) & 1, flags & 0xF, ancount))


def dns_flood(address, source, n, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.setblocking(False)
    answered = 0
    t0 = time.monotonic()
    for i in range(n):
        try:
            s.sendto(dns_query(i & 0xFFFF, name, "A", 1232), (address, 53))
        except BlockingIOError:
            select.select([], [s], [], 0.1)
        while True:
            try:
                s.recv(65535)
                answered += 1
            except BlockingIOError:
                break
    sent_in = time.monotonic() - t0
    end = time.monotonic() + 1
    while time.monotonic() < end:
        if select.select([s], [], [], 0.1)[0]:
            try:
                s.recv(65535)
                answered += 1
            except BlockingIOError:
                pass
    print("sent %d answered %d in %.1f s" % (n, answered, sent_in))


def main():
    address, cafile, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    args = sys.argv[4:]
    if mode == "slowloris":
        slowloris(address, cafile, int(args[0]), float(args[1]))
    elif mode == "idle":
        idle(address, args[0], int(args[1]), float(args[2]))
    elif mode == "h1-huge":
        h1_huge(address, cafile, int(args[0]), int(args[1]))
    elif mode == "settings-flood":
        h2_flood(address, cafile, SettingsFrame(0), int(args[0]))
    elif mode == "ping-flood":
        h2_flood(address, cafile, PingFrame(0, opaque_data=b"12345678"), int(args[0]))
    elif mode == "hpack-bomb":
        hpack_bomb(address, cafile, int(args[0]))
    elif mode == "streams":
        streams(address, cafile, int(args[0]))
    elif mode == "dns-size":
        dns_size(address, args[0], args[1], args[2], int(args[3]))
    elif mode == "dns-flood":
        dns_flood(address, args[0], int(args[1]), args[2])
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
