#!/usr/bin/env python3
"""Records what real clients send, as seeds for the fuzz corpora (tests/fuzz/corpus/).

    tests/fuzz/capture_seeds.py OUTDIR

Listens on 127.0.0.1 (plain TCP: the bytes a client sends after TLS are the same), runs curl,
nghttp, h2load and pip against it, and writes each connection's bytes to OUTDIR/h1-*.bin or
OUTDIR/h2-*.bin. HTTP/1.1 requests get a 404 with Content-Length: 0 (so pip moves on); h2
connections get the server's SETTINGS and acks, then are read until the client stops. Host and
:authority name pypi.org / files.pythonhosted.org (curl -H Host, nghttp -H :authority; pip's
Host is rewritten). Then OUTDIR/<target>/ get seeds in each target's input layout (see the
comment at the top of tests/fuzz/<target>_fuzz.cc): h1_request, h2_server, http_fields,
cache_policy (from the captured requests and typical PyPI response fields) and config (from
deploy/pipgate.example.toml). Merge them: tests/fuzz/run.sh --merge-from OUTDIR.
"""
import os
import socket
import subprocess
import sys
import threading
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
SETTINGS_ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"


def serve(sock, outdir, counter):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(conn, outdir, counter), daemon=True).start()


def handle(conn, outdir, counter):
    conn.settimeout(0.7)
    data = b""
    h2 = None
    try:
        while True:
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
            if h2 is None and len(data) >= 3:
                h2 = data.startswith(PREFACE[: len(data)]) and data[:3] == b"PRI"
                if h2:
                    conn.sendall(SETTINGS + SETTINGS_ACK)
            if not h2 and b"\r\n\r\n" in data:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    finally:
        conn.close()
    if not data:
        return
    with counter[1]:
        counter[0] += 1
        n = counter[0]
    kind = "h2" if h2 else "h1"
    port = conn_port[0]
    data = data.replace(b"127.0.0.1:%d" % port, b"pypi.org")
    with open(os.path.join(outdir, "%s-%03d.bin" % (kind, n)), "wb") as f:
        f.write(data)


conn_port = [0]


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    conn_port[0] = port
    counter = [0, threading.Lock()]
    threading.Thread(target=serve, args=(sock, outdir, counter), daemon=True).start()
    base = "http://127.0.0.1:%d" % port
    files = "/packages/3d/9d/1e313763bdfb6a48977b65829c6ce2a43eaae29ea2f907c8bbef024a7219/pip-25.0.1-py3-none-any.whl"
    pep691 = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
    runs = [
        ["curl", "-s", "-H", "Host: pypi.org", base + "/simple/pip/"],
        ["curl", "-s", "--compressed", "-H", "Host: pypi.org", "-H", "Accept: " + pep691, base + "/simple/numpy/"],
        ["curl", "-s", "-I", "-H", "Host: pypi.org", base + "/pypi/requests/json"],
        ["curl", "-s", "-r", "0-1023", "-H", "Host: files.pythonhosted.org", base + files],
        ["curl", "-s", "-H", "Host: files.pythonhosted.org", "-H", 'If-None-Match: "b2-abc"', "-H",
         "If-Range: Sun, 06 Nov 1994 08:49:37 GMT", "-r", "-500", base + files],
        ["curl", "-s", "-X", "POST", "-d", "name=x&version=1", "-H", "Host: pypi.org", base + "/legacy/"],
        ["curl", "-s", "-H", "Host: pypi.org", "-H", "Transfer-Encoding: chunked", "-d", "abc", base + "/simple/"],
        ["curl", "-s", "-H", "Host: pypi.org", "-H", "Connection: keep-alive, X-Foo", "-H", "X-Foo: 1",
         "-H", "X-Forwarded-For: 10.0.0.9", "-H", "Via: 1.1 corp", base + "/simple/pip/", base + "/simple/six/"],
        ["curl", "-s", "-H", "Host: pypi.org", "-H", "Expect: 100-continue", "-d", "@/etc/hostname", base + "/simple/"],
        ["curl", "-s", "--http2-prior-knowledge", "-H", "Host: pypi.org", base + "/simple/pip/"],
        ["curl", "-s", "--http2-prior-knowledge", "--compressed", "-H", "Host: pypi.org", "-H", "Accept: " + pep691,
         base + "/simple/numpy/", base + "/simple/six/"],
        ["curl", "-s", "--http2-prior-knowledge", "-r", "100-", "-H", "Host: files.pythonhosted.org", base + files],
        ["curl", "-s", "--http2-prior-knowledge", "-X", "POST", "-d", "name=x", "-H", "Host: pypi.org", base + "/legacy/"],
        ["curl", "-s", "--http2-prior-knowledge", "-I", "-H", "Host: pypi.org", "-H", "Cache-Control: no-cache",
         base + "/pypi/pip/json"],
        ["nghttp", "-n", "-H", ":authority: pypi.org", base + "/simple/pip/"],
        ["nghttp", "-n", "-a", "-H", ":authority: pypi.org", "-H", "accept: " + pep691, base + "/simple/",
         base + "/simple/requests/"],
        ["nghttp", "-n", "-d", "/etc/hostname", "-H", ":authority: pypi.org", base + "/simple/"],
        ["nghttp", "-n", "-w", "16", "-W", "16", "-H", ":authority: files.pythonhosted.org", base + files],
        ["h2load", "-n", "20", "-c", "1", "-m", "10", "-H", ":authority: pypi.org", base + "/simple/pip/"],
        ["pip", "download", "--no-deps", "--retries", "0", "--timeout", "2", "-d", "/tmp/pipgate-capture-dl",
         "--index-url", base + "/simple/", "six"],
    ]
    for cmd in runs:
        try:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            print("skipped:", cmd[0], file=sys.stderr)
        time.sleep(0.8)
    time.sleep(1)
    print("captured %d connections in %s" % (counter[0], outdir))
    make_seeds(outdir)


# Response fields as PyPI and its CDN send them (and as the store keeps them).
STORED = [
    [b"content-type: application/vnd.pypi.simple.v1+json", b"cache-control: max-age=600, public",
     b'etag: "Yv1Zq5Vd3t6aUu0cvH1d8g"', b"date: Tue, 25 Nov 2025 10:00:00 GMT",
     b"content-encoding: gzip", b"x-pipgate-age: 30", b"vary: Accept, Accept-Encoding"],
    [b"content-type: text/html", b"cache-control: max-age=600, public",
     b"last-modified: Tue, 25 Nov 2025 09:00:00 GMT", b"age: 120", b"x-served-by: cache-fra"],
    [b"content-type: application/octet-stream", b"cache-control: max-age=365000000, immutable, public",
     b'etag: "0xabc"', b"last-modified: Sun, 06 Nov 1994 08:49:37 GMT", b"accept-ranges: bytes"],
    [b"content-type: application/json", b"cache-control: no-cache", b"expires: Thu, 01 Jan 1970 00:00:00 GMT",
     b"date: Tue, 25 Nov 2025 10:00:00 GMT", b"set-cookie: a=b", b"connection: close"],
    [b"location: https://pypi.org/simple/pip/", b"cache-control: s-maxage=60, stale-if-error=3600, private"],
]

FIELD_VALUES = [
    b"bytes=0-1023", b"bytes=-500", b"bytes=100-", b"bytes=0-0,5-9", b"Bytes = 1-2 , 4-", b"items=1-2",
    b"max-age=0", b"no-cache", b'max-age="60", no-store, s-maxage=10, max-stale, min-fresh=5',
    b"Sun, 06 Nov 1994 08:49:37 GMT", b"Sunday, 06-Nov-94 08:49:37 GMT", b"Sun Nov  6 08:49:37 1994",
    b"Fri, 31 Dec 9999 23:59:60 GMT", b'W/"abc"', b'"b2-0123", W/"x", *', b"*",
    b"gzip, deflate, br;q=0.5, identity;q=0, *;q=0", b"text/html;level=1;q=0.7, */*;q=0.001",
]


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def make_seeds(outdir):
    import glob
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    values = list(FIELD_VALUES)
    for path in sorted(glob.glob(os.path.join(outdir, "*.bin"))):
        name = os.path.basename(path)[:-4]
        data = open(path, "rb").read()
        files = b"files.pythonhosted.org" in data
        if name.startswith("h2"):
            frames = data[len(PREFACE):] if data.startswith(PREFACE) else data
            write(os.path.join(outdir, "h2_server"), name, bytes([1 if files else 0]) + frames)
            write(os.path.join(outdir, "h2_server"), name + "-bytewise", bytes([2 | (1 if files else 0)]) + frames)
            continue
        write(os.path.join(outdir, "h1_request"), name, bytes([1 if files else 0]) + data)
        write(os.path.join(outdir, "h1_request"), name + "-pieces", bytes([6 | (1 if files else 0)]) + data)
        head = data.split(b"\r\n\r\n")[0].split(b"\r\n")
        target = head[0].split(b" ")[1] if len(head[0].split(b" ")) > 1 else b"/"
        fields = [l for l in head[1:] if b":" in l and not l.lower().startswith(b"host:")]
        values += [l.split(b":", 1)[1].strip() for l in fields]
        for i, stored in enumerate(STORED):
            # 8 parameter bytes: see cache_policy_fuzz.cc
            b0 = (1 if files else 0) | ((i % 8) << 3) | 64 | (128 if files else 0)
            params = bytes([b0, 0x00, 0x28, 0x00, 0x00, 0x2c, 0x01, i])
            write(os.path.join(outdir, "cache_policy"), "%s-%d" % (name, i),
                  params + target + b"\n" + b"\n".join(fields) + b"\n\n" + b"\n".join(stored))
    for i, v in enumerate(dict.fromkeys(values)):
        write(os.path.join(outdir, "http_fields"), "v%03d" % i, bytes([i % 9]) + v)
    example = open(os.path.join(root, "deploy", "pipgate.example.toml"), "rb").read()
    write(os.path.join(outdir, "config"), "example", example)
    # Each table of the example alone, and the example without comments.
    tables = example.split(b"\n[")
    for i, t in enumerate(tables[1:]):
        write(os.path.join(outdir, "config"), "table-%d" % i, b"[" + t)
    bare = b"\n".join(l for l in example.split(b"\n") if l.strip() and not l.lstrip().startswith(b"#"))
    write(os.path.join(outdir, "config"), "example-bare", bare)


if __name__ == "__main__":
    main()
