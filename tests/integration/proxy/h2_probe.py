"""Edge-case HTTP/2 client for the proxy tests (Python h2 / hyperframe), printing one result line.

usage: h2_probe.py ADDRESS CAFILE MODE
MODE:
  connect          CONNECT example.com:443          → "status N" or "reset CODE"
  protocol         extended CONNECT (:protocol)     → "status N" or "reset CODE"
  authority NAME   GET / with :authority NAME       → "status N"
  big-headers      a 100 KiB header list            → "status N", "reset CODE" or "goaway CODE"
  rapid-reset N    N streams opened and reset at once → "goaway CODE" or "open"
  continuation N   one HEADERS then N CONTINUATION frames → "goaway CODE", "closed" or "open"
"""
import socket
import ssl
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings
from hyperframe.frame import ContinuationFrame, HeadersFrame


def connect(address, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["h2"])
    sock = socket.create_connection((address, 443), timeout=10)
    tls = ctx.wrap_socket(sock, server_hostname="pypi.org")
    assert tls.selected_alpn_protocol() == "h2"
    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, validate_outbound_headers=False,
                                  normalize_outbound_headers=False, validate_inbound_headers=False))
    conn.initiate_connection()
    tls.sendall(conn.data_to_send())
    return tls, conn


def pump(tls, conn, stream_id=None, until_close=False):
    """Reads until the stream ends / resets, GOAWAY, or the peer closes. One result line."""
    status = None
    while True:
        try:
            data = tls.recv(65536)
        except (ConnectionResetError, ssl.SSLError, socket.timeout) as e:
            return "closed (%s)" % type(e).__name__
        if not data:
            return "closed"
        try:
            events = conn.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            return "closed (protocol error %s)" % e
        for ev in events:
            if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == stream_id:
                status = dict(ev.headers).get(b":status", b"?").decode()
                if not until_close:
                    return "status " + status
            elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == stream_id:
                if not until_close:
                    return "reset %d" % ev.error_code
            elif isinstance(ev, h2.events.ConnectionTerminated):
                return "goaway %d" % ev.error_code
        out = conn.data_to_send()
        if out:
            try:
                tls.sendall(out)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                return "closed"  # the peer ended the connection while we answered it


def main():
    address, cafile, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    arg = sys.argv[4] if len(sys.argv) > 4 else None
    tls, conn = connect(address, cafile)
    if mode == "connect":
        conn.send_headers(1, [(":method", "CONNECT"), (":authority", "example.com:443")],
                          end_stream=True)
    elif mode == "protocol":
        conn.send_headers(1, [(":method", "CONNECT"), (":protocol", "websocket"),
                              (":scheme", "https"), (":path", "/"), (":authority", "pypi.org")],
                          end_stream=True)
    elif mode == "authority":
        conn.send_headers(1, [(":method", "GET"), (":scheme", "https"), (":path", "/simple/"),
                              (":authority", arg)], end_stream=True)
    elif mode == "big-headers":
        conn.max_outbound_frame_size = 16384
        headers = [(":method", "GET"), (":scheme", "https"), (":path", "/simple/"),
                   (":authority", "pypi.org")]
        headers += [("x-filler-%d" % i, "v" * 1000) for i in range(100)]
        conn.send_headers(1, headers, end_stream=True)
    elif mode == "rapid-reset":
        sid = 1
        for _ in range(int(arg)):
            conn.send_headers(sid, [(":method", "GET"), (":scheme", "https"),
                                    (":path", "/simple/"), (":authority", "pypi.org")])
            conn.reset_stream(sid)
            sid += 2
        try:
            tls.sendall(conn.data_to_send())
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            print("closed")  # the server ended the connection while we were still sending
            return
        print(pump(tls, conn, until_close=True))
        return
    elif mode == "continuation":
        tls.sendall(conn.data_to_send())
        block = conn.encoder.encode([(":method", "GET"), (":scheme", "https"),
                                     (":path", "/simple/"), (":authority", "pypi.org")])
        frames = HeadersFrame(1, data=block[:5]).serialize()
        filler = conn.encoder.encode([("x-a", "b")])
        for _ in range(int(arg)):
            frames += ContinuationFrame(1, data=filler).serialize()
        try:
            tls.sendall(frames)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            print("closed")
            return
        tls.settimeout(5)
        print(pump(tls, conn, until_close=True))
        return
    tls.sendall(conn.data_to_send())
    print(pump(tls, conn, stream_id=1))


if __name__ == "__main__":
    main()
