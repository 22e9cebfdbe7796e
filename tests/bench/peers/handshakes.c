// New TLS connections per second against one server (scenario 3 of tests/bench/run.sh).
// Each connection: TCP connect, TLS 1.3 handshake (SNI, ALPN http/1.1, TLS_AES_128_GCM_SHA256,
// the certificate verified against CAFILE for the name, as pip does), one
// "GET PATH HTTP/1.1 / Connection: close", the whole answer read, close_notify, close.
// MODE full: every handshake is a full one (no session kept).
// MODE resume: each connection offers the session ticket the previous one received (TLS 1.3 PSK
// with ECDHE, OpenSSL's default), so the server skips the certificate and its signature.
// PROCS client processes run in parallel for SECONDS; prints one JSON line with the totals.
//
//   handshakes IP PORT SNI CAFILE PATH SECONDS full|resume PROCS
// Built by run.sh: cc -O2 -o handshakes handshakes.c -lssl -lcrypto (Debian's OpenSSL 3).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct counts {
  long ok, reused, errors;
};

static int one(SSL_CTX* ctx, const struct sockaddr_in* addr, const char* sni, const char* req,
               SSL_SESSION** session, struct counts* c) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (const struct sockaddr*)addr, sizeof *addr) != 0) {
    close(fd);
    return -1;
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, sni);
  SSL_set1_host(ssl, sni);
  if (session && *session) SSL_set_session(ssl, *session);
  int rc = -1;
  if (SSL_connect(ssl) == 1 && SSL_write(ssl, req, (int)strlen(req)) > 0) {
    char buf[16384];
    long got = 0;
    int n, status_ok = 0;
    while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) {
      if (got == 0 && n >= 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0) status_ok = 1;
      got += n;
    }
    if (status_ok) {
      rc = 0;
      c->ok++;
      if (SSL_session_reused(ssl)) c->reused++;
      if (session) {
        // A fresh ticket replaces the one offered; OpenSSL marks a TLS 1.3 session that was
        // just resumed without a new ticket not resumable: then the old ticket is offered again.
        SSL_SESSION* s = SSL_get1_session(ssl);
        if (s && SSL_SESSION_is_resumable(s)) {
          if (*session) SSL_SESSION_free(*session);
          *session = s;
        } else if (s) {
          SSL_SESSION_free(s);
        }
      }
    }
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  close(fd);
  return rc;
}

int main(int argc, char** argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: %s IP PORT SNI CAFILE PATH SECONDS full|resume PROCS\n", argv[0]);
    return 2;
  }
  const char* ip = argv[1];
  int port = atoi(argv[2]);
  const char* sni = argv[3];
  const char* cafile = argv[4];
  const char* path = argv[5];
  double seconds = atof(argv[6]);
  int resume = strcmp(argv[7], "resume") == 0;
  int procs = atoi(argv[8]);
  if (procs < 1 || procs > 64 || seconds <= 0 || seconds > 600) return 2;

  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) return 2;
  char req[1024];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\nConnection: close\r\n\r\n",
           path, sni);

  int fds[2];
  if (pipe(fds) != 0) return 1;
  double t0 = now();
  for (int p = 0; p < procs; p++) {
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
      SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
      SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
      SSL_CTX_set_alpn_protos(ctx, (const unsigned char*)"\x08http/1.1", 9);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
      if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) _exit(3);
      // Client-side cache off: the session to offer is passed by hand (resume mode only).
      SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
      struct counts c = {0, 0, 0};
      SSL_SESSION* session = NULL;
      double deadline = t0 + seconds;
      int consecutive_errors = 0;
      while (now() < deadline) {
        if (one(ctx, &addr, sni, req, resume ? &session : NULL, &c) != 0) {
          c.errors++;
          if (++consecutive_errors > 1000) break;  // bounded: a dead server ends the run
        } else {
          consecutive_errors = 0;
        }
      }
      if (write(fds[1], &c, sizeof c) != sizeof c) _exit(1);
      _exit(0);
    }
  }
  close(fds[1]);
  struct counts total = {0, 0, 0}, c;
  while (read(fds[0], &c, sizeof c) == sizeof c) {
    total.ok += c.ok;
    total.reused += c.reused;
    total.errors += c.errors;
  }
  while (wait(NULL) > 0) {
  }
  double elapsed = now() - t0;
  printf("{\"mode\":\"%s\",\"procs\":%d,\"seconds\":%.3f,\"connections\":%ld,\"per_s\":%.1f,"
         "\"reused\":%ld,\"errors\":%ld}\n",
         resume ? "resume" : "full", procs, elapsed, total.ok, total.ok / elapsed, total.reused,
         total.errors);
  return total.ok > 0 ? 0 : 1;
}
