"""Fake pypi.org / files.pythonhosted.org for the end-to-end tests: TLS, HTTP/2 (python3-h2) and
HTTP/1.1 on one asyncio loop, the protocol chosen by ALPN among those given with --alpn.

usage: origin.py --role pypi|files --address IP --cert PEM --key PEM --root DIR --log FILE
                 [--control DIR] [--alpn h2,http/1.1] [--port 443]

--role pypi: behaves like PyPI's warehouse for
  /simple/ and /simple/<project>/  PEP 691 negotiation among text/html,
      application/vnd.pypi.simple.v1+html and application/vnd.pypi.simple.v1+json by the
      client's Accept q-values (no Accept, */* or nothing acceptable → text/html, exactly as
      warehouse's _select_content_type does), Vary: Accept, Accept-Encoding, an ETag per variant,
      gzip when Accept-Encoding allows it, If-None-Match → 304, 301 to the normalized name
      (relative Location, as warehouse's current_route_path) and to the trailing slash
  /pypi/<project>/json, /pypi/<project>/<version>/json  JSON API (301 for non-normalized names)
  Cache-Control: max-age=N, public where N is CONTROL/max-age (default 600), read per request.
--role files: /packages/... from ROOT with Content-Length, ETag, Last-Modified,
  Cache-Control: max-age=365000000, immutable, public, Accept-Ranges: bytes, single ranges
  (a-b, a-, -n), If-Range, 416 with Content-Range: bytes */size, If-None-Match → 304.
Both roles: CONTROL/<role>-status holding e.g. 503 makes every answer that status;
CONTROL/latency-ms delays every response head by that much (the WAN between appliance and PyPI:
this kernel has no netem, so the origin adds it).

Faults (both roles, h2 and HTTP/1.1 alike), for 200 answers with a body: CONTROL/fault-<last
path segment> (one file), else CONTROL/<role>-fault (every file), holding "MODE [AT]". The origin
sends AT bytes of the body (default: half), logs {"event":"fault",…}, waits while CONTROL/hold
exists (so a test can join a second client to the fill), then
  reset    aborts the TCP connection (RST; over h2 every stream on it dies)
  kill     the origin process exits at once (the test starts it again)
  stall    sends nothing more, holding the connection open until the peer gives up
  short    ends the body early: HTTP/1.1 closes the connection, h2 sends END_STREAM
  long     the head declares Content-Length AT (default: 3/4 of the body) and the whole body
           follows anyway; its fault point (log, hold) is at half of AT
  corrupt  the byte at AT is flipped, the rest sent as usual (same length)

Every request is one JSON line in --log when its response head is sent:
  {"event":"request","role":…,"proto":"h2"|"http/1.1","method":…,"path":…,"status":…,"headers":{…}}
and one line when its body ended: {"event":"end","path":…,"sent":N,"complete":true|false,"t":…}.
"""
import argparse
import asyncio
import email.utils
import gzip
import hashlib
import json
import os
import re
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

ARGS = None
LOG = None
GZIP_CACHE = {}

HTML = "text/html"
V1_HTML = "application/vnd.pypi.simple.v1+html"
V1_JSON = "application/vnd.pypi.simple.v1+json"
CONTENT_TYPE = {HTML: "text/html; charset=utf-8", V1_HTML: V1_HTML, V1_JSON: V1_JSON}


def log(record):
    LOG.write(json.dumps(record, separators=(",", ":")) + "\n")
    LOG.flush()


class Response:
    def __init__(self, status, headers=None, body=b"", file=None, start=0, length=0):
        self.status = status
        self.headers = list(headers or [])
        self.body = body            # bytes, or
        self.file = file            # a path, sent from `start` for `length` bytes
        self.start = start
        self.length = length if file else len(body)
        self.fault = None           # (mode, at) for a faulty body
        self.declared = self.length  # the Content-Length sent (differs for the "long" fault)


def control(name, default=None):
    if not ARGS.control:
        return default
    try:
        with open(os.path.join(ARGS.control, name)) as f:
            value = f.read().strip()
            return value or default
    except OSError:
        return default


def parse_accept(value):
    """[(media range, q)] of an Accept header."""
    out = []
    for part in value.split(","):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        out.append((fields[0].lower(), q))
    return out


def select_content_type(accept):
    """warehouse's _select_content_type: acceptable offers by q (stable in offer order), the
    first wins; no acceptable offer → text/html."""
    if accept is None:
        return HTML
    ranges = parse_accept(accept)
    offers = []
    for i, offer in enumerate((HTML, V1_HTML, V1_JSON)):
        best, specificity = None, -1
        for rng, q in ranges:
            if rng == offer:
                s = 2
            elif rng.endswith("/*") and offer.startswith(rng[:-1]):
                s = 1
            elif rng == "*/*":
                s = 0
            else:
                continue
            if s > specificity:
                best, specificity = q, s
        if best is not None and best > 0:
            offers.append((-best, i, offer))
    if not offers:
        return HTML
    return sorted(offers)[0][2]


def accepts_gzip(value):
    for token, q in parse_accept(value or ""):
        if token in ("gzip", "*") and q > 0:
            return True
    return False


def etag_matches(header, etag):
    if header is None:
        return False
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag.removeprefix("W/"):
            return True
    return False


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def text(status, body, extra=()):
    return Response(status, [("content-type", "text/plain; charset=utf-8"), *extra], body.encode())


def pypi(method, path, headers):
    max_age = control("max-age", "600")
    cache = [("cache-control", f"max-age={max_age}, public")]
    cors = [("access-control-allow-origin", "*")]
    if path == "/simple":
        return Response(301, [("location", "/simple/"), *cache, *cors])
    m = re.fullmatch(r"/simple/(?:([^/]+)(/?))?", path)
    if m:
        name, slash = m.group(1), m.group(2)
        if name is None:
            doc = os.path.join(ARGS.root, "simple")
        else:
            doc = os.path.join(ARGS.root, "simple", normalize(name))
            if not os.path.isdir(doc):
                return text(404, "404 Not Found\n", cache)
            if name != normalize(name) or not slash:
                return Response(301, [("location", f"/simple/{normalize(name)}/"), *cache, *cors])
        ctype = select_content_type(headers.get("accept"))
        body = read(os.path.join(doc, "index.json" if ctype == V1_JSON else "index.html"))
        return representation(headers, body, CONTENT_TYPE[ctype], cache + cors + [
            ("vary", "Accept, Accept-Encoding"), ("x-pypi-last-serial", "1234")])
    m = re.fullmatch(r"/pypi/([^/]+)/(?:([^/]+)/)?json/?", path)
    if m:
        name, version = m.group(1), m.group(2)
        rel = [normalize(name)] + ([version] if version else []) + ["json"]
        doc = os.path.join(ARGS.root, "pypi", *rel)
        if not os.path.isfile(doc):
            return text(404, "404 Not Found\n", cache)
        if name != normalize(name):
            return Response(301, [("location", "/pypi/" + "/".join(rel)), *cache, *cors])
        return representation(headers, read(doc), "application/json", cache + cors + [
            ("vary", "Accept-Encoding"), ("x-pypi-last-serial", "1234")])
    return text(404, "404 Not Found\n", cache)


def representation(headers, body, ctype, extra):
    etag = '"%s"' % hashlib.sha256(ctype.encode() + b"\0" + body).hexdigest()[:32]
    fields = [("content-type", ctype), ("etag", etag), *extra]
    if etag_matches(headers.get("if-none-match"), etag):
        return Response(304, fields)
    if accepts_gzip(headers.get("accept-encoding")):
        key = hashlib.sha256(body).digest()
        if key not in GZIP_CACHE:
            GZIP_CACHE[key] = gzip.compress(body, mtime=0)
        return Response(200, fields + [("content-encoding", "gzip")], GZIP_CACHE[key])
    return Response(200, fields, body)


def parse_range(value, size):
    """(start, end) inclusive, "unsatisfiable", or None (ignore: not a single bytes range)."""
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value or "")
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    first, last = m.group(1), m.group(2)
    if first == "":
        n = int(last)
        if n == 0:
            return "unsatisfiable"
        return (max(0, size - n), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return (start, min(end, size - 1))


def files(method, path, headers):
    if not path.startswith("/packages/") or "/../" in path or "/./" in path:
        return text(404, "Not Found\n")
    local = os.path.join(ARGS.root, path.lstrip("/"))
    if not os.path.isfile(local):
        return text(404, "Not Found\n")
    st = os.stat(local)
    size = st.st_size
    etag = '"%s"' % hashlib.md5(f"{path}:{size}:{st.st_mtime_ns}".encode()).hexdigest()
    last_modified = email.utils.formatdate(st.st_mtime, usegmt=True)
    fields = [("content-type", "application/octet-stream"), ("etag", etag),
              ("last-modified", last_modified),
              ("cache-control", "max-age=365000000, immutable, public"),
              ("accept-ranges", "bytes")]
    if etag_matches(headers.get("if-none-match"), etag):
        return Response(304, fields)
    rng = headers.get("range")
    if_range = headers.get("if-range")
    if rng is not None and if_range is not None and if_range not in (etag, last_modified):
        rng = None
    r = parse_range(rng, size) if rng is not None else None
    if r == "unsatisfiable":
        return Response(416, fields + [("content-range", f"bytes */{size}")])
    if r is None:
        return Response(200, fields, file=local, start=0, length=size)
    start, end = r
    return Response(206, fields + [("content-range", f"bytes {start}-{end}/{size}")],
                    file=local, start=start, length=end - start + 1)


async def handle(method, path, headers, proto):
    latency = int(control("latency-ms", "0"))
    if latency > 0:
        await asyncio.sleep(latency / 1000)
    status = control(f"{ARGS.role}-status")
    if status:
        resp = text(int(status), f"origin answers {status}\n")
    elif method not in ("GET", "HEAD"):
        resp = text(405, "405 Method Not Allowed\n", [("allow", "GET, HEAD")])
    else:
        resp = (pypi if ARGS.role == "pypi" else files)(method, path.split("?", 1)[0], headers)
    if resp.status == 200 and has_body(method, resp) and resp.length > 1:
        resp.fault = fault_for(path, resp.length)
        if resp.fault and resp.fault[0] == "long":  # declares AT, holds before the proxy has it
            resp.declared = resp.fault[1]
            resp.fault = ("long", resp.fault[1] // 2)
    log({"event": "request", "t": round(time.time(), 6), "role": ARGS.role, "proto": proto,
         "method": method, "path": path, "status": resp.status, "headers": headers,
         **({"fault": resp.fault[0]} if resp.fault else {})})
    return resp


FAULTS = ("reset", "kill", "stall", "short", "long", "corrupt")
FAULT = object()  # the marker body_chunks yields where the fault happens


def fault_for(path, length):
    """(mode, at) from CONTROL/fault-<last segment> or CONTROL/<role>-fault, or None."""
    name = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    spec = control(f"fault-{name}") or control(f"{ARGS.role}-fault")
    if not spec:
        return None
    words = spec.split()
    if words[0] not in FAULTS:
        sys.stderr.write(f"origin: unknown fault {spec!r}\n")
        return None
    default = length * 3 // 4 if words[0] == "long" else length // 2
    at = int(words[1]) if len(words) > 1 else default
    return (words[0], max(2, min(at, length - 1)))


async def at_fault(resp, path, sent):
    """The fault point: log it, wait while CONTROL/hold exists, exit for "kill"."""
    mode = resp.fault[0]
    log({"event": "fault", "path": path, "mode": mode, "sent": sent, "t": round(time.time(), 6)})
    deadline = time.monotonic() + 120
    while ARGS.control and os.path.exists(os.path.join(ARGS.control, "hold")) \
            and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if mode == "kill":
        LOG.flush()
        os._exit(3)


def abort_with_rst(writer):
    """Closes the TCP connection with a RST (no TLS close_notify, no FIN)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def body_chunks(resp, chunk=256 << 10):
    """The body in chunks; with a fault, FAULT where it happens (after `at` bytes), then for
    "long" and "corrupt" the rest (the first byte after FAULT flipped for "corrupt")."""
    if resp.fault is None:
        yield from plain_chunks(resp, chunk)
        return
    mode, at = resp.fault
    flip = False  # "corrupt" with the fault at a chunk's end: flip the next chunk's first byte
    pos = 0
    for data in plain_chunks(resp, chunk):
        start, pos = pos, pos + len(data)
        if flip:
            data, flip = bytes([data[0] ^ 0xFF]) + data[1:], False
        if start < at <= pos:
            cut = at - start
            yield data[:cut]
            yield FAULT
            if mode not in ("long", "corrupt"):
                return
            data = data[cut:]
            if mode == "corrupt":
                if data:
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                else:
                    flip = True
        if data:
            yield data


def plain_chunks(resp, chunk):
    if resp.file is None:
        if resp.body:
            yield resp.body
        return
    with open(resp.file, "rb") as f:
        f.seek(resp.start)
        left = resp.length
        while left > 0:
            data = f.read(min(chunk, left))
            if not data:
                return
            left -= len(data)
            yield data


def has_body(method, resp):
    return method != "HEAD" and resp.status not in (204, 304) and not 100 <= resp.status < 200


# --- HTTP/1.1 -------------------------------------------------------------------------------

async def serve_h1(reader, writer):
    while True:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 120)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
                ConnectionError):
            return
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            return
        headers = {}
        for line in lines[1:]:
            if not line:
                continue
            k, _, v = line.partition(":")
            k, v = k.strip().lower(), v.strip()
            headers[k] = f"{headers[k]}, {v}" if k in headers else v
        if int(headers.get("content-length", "0") or 0) > 0:
            await reader.readexactly(int(headers["content-length"]))
        resp = await handle(method, target, headers, "http/1.1")
        keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        out = [f"HTTP/1.1 {resp.status} {status_text(resp.status)}",
               f"date: {email.utils.formatdate(usegmt=True)}"]
        out += [f"{k}: {v}" for k, v in resp.headers]
        if resp.status != 304:
            out.append(f"content-length: {resp.declared}")
        if not keep:
            out.append("connection: close")
        writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
        sent = 0
        try:
            if has_body(method, resp):
                for data in body_chunks(resp):
                    if data is FAULT:
                        await at_fault(resp, target, sent)
                        if resp.fault[0] in ("long", "corrupt"):
                            continue
                        if resp.fault[0] == "reset":
                            abort_with_rst(writer)
                        elif resp.fault[0] == "stall":
                            await h1_peer_gone(reader, writer)
                        log({"event": "end", "path": target, "sent": sent, "complete": False,
                             "t": round(time.time(), 6)})
                        return  # "short": on_connection closes the connection
                    writer.write(data)
                    sent += len(data)
                    await writer.drain()
            else:
                await writer.drain()
        except ConnectionError:
            log({"event": "end", "path": target, "sent": sent, "complete": False,
                 "t": round(time.time(), 6)})
            return
        if has_body(method, resp):
            log({"event": "end", "path": target, "sent": sent, "complete": sent == resp.length,
                 "t": round(time.time(), 6)})
        if not keep:
            return


async def h1_peer_gone(reader, writer, limit=300):
    """Waits (sending nothing) until the peer closes the connection, at most `limit` s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not (
            reader.at_eof() or reader.exception() is not None or writer.is_closing()):
        try:
            if not await asyncio.wait_for(reader.read(65536), 0.2):
                return
        except asyncio.TimeoutError:
            pass
        except (ConnectionError, ssl.SSLError):
            return


def status_text(code):
    return {200: "OK", 206: "Partial Content", 301: "Moved Permanently", 304: "Not Modified",
            404: "Not Found", 405: "Method Not Allowed", 416: "Range Not Satisfiable",
            500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}.get(code, "Status")


# --- HTTP/2 ---------------------------------------------------------------------------------

class H2Connection:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.window = asyncio.Event()
        self.reset = set()
        self.tasks = set()

    async def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def run(self):
        self.conn.initiate_connection()
        await self.flush()
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                for ev in self.conn.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        task = asyncio.create_task(self.respond(ev.stream_id, ev.headers))
                        self.tasks.add(task)
                        task.add_done_callback(self.tasks.discard)
                    elif isinstance(ev, h2.events.DataReceived):
                        self.conn.acknowledge_received_data(ev.flow_controlled_length,
                                                            ev.stream_id)
                    elif isinstance(ev, h2.events.WindowUpdated):
                        self.window.set()
                    elif isinstance(ev, h2.events.RemoteSettingsChanged):
                        self.window.set()
                    elif isinstance(ev, h2.events.StreamReset):
                        self.reset.add(ev.stream_id)
                        self.window.set()
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        await self.flush()
                        return
                await self.flush()
        except (ConnectionError, h2.exceptions.ProtocolError, asyncio.IncompleteReadError):
            pass
        finally:
            for task in list(self.tasks):
                task.cancel()

    async def respond(self, sid, raw):
        pseudo = {k: v for k, v in raw if k.startswith(":")}
        headers = {}
        for k, v in raw:
            if not k.startswith(":"):
                headers[k] = f"{headers[k]}, {v}" if k in headers else v
        headers[":authority"] = pseudo.get(":authority", "")
        method, path = pseudo.get(":method", "GET"), pseudo.get(":path", "/")
        resp = await handle(method, path, headers, "h2")
        fields = [(":status", str(resp.status)), ("date", email.utils.formatdate(usegmt=True))]
        fields += resp.headers
        if resp.status != 304:
            fields.append(("content-length", str(resp.declared)))
        body = has_body(method, resp)
        sent = 0
        try:
            self.conn.send_headers(sid, fields, end_stream=not body)
            await self.flush()
            if not body:
                return
            for data in body_chunks(resp):
                if data is FAULT:
                    await at_fault(resp, path, sent)
                    mode = resp.fault[0]
                    if mode in ("long", "corrupt"):
                        continue
                    if mode == "reset":
                        abort_with_rst(self.writer)
                    elif mode == "stall":
                        while sid not in self.reset and not self.writer.is_closing():
                            await asyncio.sleep(0.1)
                    elif mode == "short":
                        self.conn.end_stream(sid)
                        await self.flush()
                    log({"event": "end", "path": path, "sent": sent, "complete": False,
                         "t": round(time.time(), 6)})
                    return
                view = memoryview(data)
                while view:
                    while sid not in self.reset:
                        window = min(self.conn.local_flow_control_window(sid),
                                     self.conn.max_outbound_frame_size)
                        if window > 0:
                            break
                        self.window.clear()
                        await self.window.wait()
                    if sid in self.reset:
                        raise h2.exceptions.StreamClosedError(sid)
                    n = min(window, len(view))
                    self.conn.send_data(sid, view[:n].tobytes())
                    view = view[n:]
                    sent += n
                    await self.flush()
            self.conn.end_stream(sid)
            await self.flush()
            log({"event": "end", "path": path, "sent": sent, "complete": sent == resp.length,
                 "t": round(time.time(), 6)})
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, ConnectionError):
            log({"event": "end", "path": path, "sent": sent, "complete": False,
                 "t": round(time.time(), 6)})
        except asyncio.CancelledError:  # the connection ended (run() cancels its streams)
            log({"event": "end", "path": path, "sent": sent, "complete": False,
                 "t": round(time.time(), 6)})
            raise


# --- server ---------------------------------------------------------------------------------

async def on_connection(reader, writer):
    proto = writer.get_extra_info("ssl_object").selected_alpn_protocol()
    allowed = ARGS.alpn.split(",")
    try:
        if proto == "h2":
            await H2Connection(reader, writer).run()
        elif proto == "http/1.1" or (proto is None and "http/1.1" in allowed):
            await serve_h1(reader, writer)
        # else: an h2-only origin drops clients that did not negotiate h2 (as nghttpd does)
    except Exception as e:  # noqa: BLE001 - one broken connection must not stop the origin
        sys.stderr.write(f"origin: connection error: {e!r}\n")
    finally:
        writer.close()


async def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    ctx.set_alpn_protocols(ARGS.alpn.split(","))
    server = await asyncio.start_server(on_connection, ARGS.address, ARGS.port, ssl=ctx,
                                        reuse_address=True, backlog=256)
    sys.stderr.write(f"origin {ARGS.role} on {ARGS.address}:{ARGS.port} alpn {ARGS.alpn}\n")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--role", choices=("pypi", "files"), required=True)
    p.add_argument("--address", required=True)
    p.add_argument("--port", type=int, default=443)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--control")
    p.add_argument("--alpn", default="h2,http/1.1")
    ARGS = p.parse_args()
    LOG = open(ARGS.log, "a", encoding="utf-8")
    asyncio.run(main())
