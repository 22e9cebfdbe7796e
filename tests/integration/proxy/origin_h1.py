"""HTTP/1.1-only TLS origin for the proxy tests (ALPN offers only http/1.1).

usage: origin_h1.py ADDRESS PORT CERT KEY DOCROOT
Paths besides the files under DOCROOT:
  /echo-headers       200, JSON object of the request's header fields (lower-case names)
  /redirect           301 to https://pypi.org/simple/tinypkg/ (passed back unchanged)
  /die-mid-body       200 declaring 64 MiB, sends 1 MiB, then drops the connection
  /die-mid-chunked    200 chunked, sends 1 MiB in chunks, then drops the connection (no last chunk)
  /chunked            200 chunked response of 3 chunks
  POST, PUT (any)     200 echoing the request body (Content-Length or chunked)
"""
import http.server
import json
import socket
import socketserver
import ssl
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=DOCROOT, **kwargs)

    def log_message(self, fmt, *args):
        sys.stderr.write("origin-h1: " + (fmt % args) + "\n")

    def _send(self, status, body, ctype="application/octet-stream", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop(self):
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def do_GET(self):
        if self.path.startswith("/echo-headers"):
            fields = {k.lower(): v for k, v in self.headers.items()}
            return self._send(200, json.dumps(fields).encode(), "application/json")
        if self.path.startswith("/redirect"):
            return self._send(301, b"", extra=[("Location", "https://pypi.org/simple/tinypkg/")])
        if self.path.startswith("/die-mid-body"):
            self.send_response(200)
            self.send_header("Content-Length", str(64 << 20))
            self.end_headers()
            self.wfile.write(b"x" * (1 << 20))
            return self._drop()
        if self.path.startswith("/die-mid-chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(16):
                self.wfile.write(b"10000\r\n" + b"y" * 65536 + b"\r\n")
            return self._drop()
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"one,", b"two,", b"three"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return None
        return super().do_GET()

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_POST(self):
        body = self._read_body()
        self._send(200, body, self.headers.get("Content-Type", "application/octet-stream"))

    do_PUT = do_POST


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    address, port, cert, key, DOCROOT = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    server = Server((address, port), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
