#include "proxy/tls_acceptor.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <array>
#include <map>
#include <mutex>

#include "certs/leaf_store.h"

namespace pipgate::proxy {

namespace asio = boost::asio;

namespace {

constexpr char kTls12Suites[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305";
constexpr unsigned char kAlpn[] = "\x02h2\x08http/1.1";

int select_alpn(SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len,
                void*) {
  uint8_t* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, kAlpn, sizeof kAlpn - 1, in, in_len) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: carry on without ALPN, i.e. HTTP/1.1
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// One session-ticket key for every context of the process: each proxy loop has its own
// TlsAcceptor and SO_REUSEPORT spreads a client's connections over the loops, so a ticket one
// loop issued must resume on another (with per-context keys, half the resumptions failed).
// Random per start, as nginx does by default: a restart rotates it.
const uint8_t* ticket_keys() {
  static const std::array<uint8_t, 48> keys = [] {
    std::array<uint8_t, 48> k{};
    RAND_bytes(k.data(), k.size());
    return k;
  }();
  return keys.data();
}

// Settings every context shares, the SNI-less base and each leaf's.
bool configure(SSL_CTX* ctx) {
  return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
         SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
         SSL_CTX_set_strict_cipher_list(ctx, kTls12Suites) == 1 &&
         (SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr), true) &&
         SSL_CTX_set_session_id_context(ctx, reinterpret_cast<const uint8_t*>("pipgate"), 7) == 1 &&
         SSL_CTX_set_tlsext_ticket_keys(ctx, ticket_keys(), 48) == 1;
}

using CtxPtr = std::shared_ptr<SSL_CTX>;

// Marks a connection whose ClientHello the SNI callback refused, so the log can say why.
int refused_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

Result<CtxPtr> leaf_context(const certs::Leaf& leaf) {
  CtxPtr ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  if (!ctx || !configure(ctx.get())) return make_error(Errc::kInternal, "SSL_CTX for leaf");
  bssl::UniquePtr<BIO> chain(BIO_new_mem_buf(leaf.chain_pem.data(), leaf.chain_pem.size()));
  bssl::UniquePtr<X509> cert(PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr));
  if (!cert || SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1)
    return make_error(Errc::kInternal, "leaf certificate for " + leaf.name + " does not load");
  while (bssl::UniquePtr<X509> extra{PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr)})
    SSL_CTX_add1_chain_cert(ctx.get(), extra.get());
  ERR_clear_error();  // the loop ends on a "no start line" error
  bssl::UniquePtr<BIO> key_bio(BIO_new_mem_buf(leaf.key_pem.data(), leaf.key_pem.size()));
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key || SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1)
    return make_error(Errc::kInternal, "leaf key for " + leaf.name + " does not load");
  return ctx;
}

}  // namespace

struct TlsAcceptor::State {
  const certs::LeafStore* leaves = nullptr;
  CtxPtr base;
  std::mutex mu;
  // Keyed by the Leaf object, which the entry keeps alive so its address is not reused.
  std::map<const certs::Leaf*, std::pair<std::shared_ptr<const certs::Leaf>, CtxPtr>> contexts;

  // The context for `name`, or null when it is not served.
  CtxPtr context_for(const char* name) {
    if (!name) return nullptr;
    auto leaf = leaves->current(name);
    if (!leaf) return nullptr;
    std::lock_guard lock(mu);
    if (auto it = contexts.find(leaf.get()); it != contexts.end()) return it->second.second;
    auto ctx = leaf_context(*leaf);
    if (!ctx) return nullptr;
    std::erase_if(contexts, [&](const auto& e) { return e.second.first->name == leaf->name; });
    contexts.emplace(leaf.get(), std::make_pair(leaf, *ctx));
    return *ctx;
  }

  static int on_server_name(SSL* ssl, int* alert, void* arg) {
    auto* self = static_cast<State*>(arg);
    auto ctx = self->context_for(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
    if (!ctx) {
      SSL_set_ex_data(ssl, refused_index(), self);
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    SSL_set_SSL_CTX(ssl, ctx.get());
    return SSL_TLSEXT_ERR_OK;
  }
};

Result<std::unique_ptr<TlsAcceptor>> TlsAcceptor::create(const certs::LeafStore& leaves) {
  auto state = std::make_unique<State>();
  state->leaves = &leaves;
  state->base.reset(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  if (!state->base || !configure(state->base.get()))
    return make_error(Errc::kInternal, "cannot create the TLS server context");
  SSL_CTX_set_tlsext_servername_callback(state->base.get(), State::on_server_name);
  SSL_CTX_set_tlsext_servername_arg(state->base.get(), state.get());
  return std::unique_ptr<TlsAcceptor>(new TlsAcceptor(std::move(state)));
}

TlsAcceptor::TlsAcceptor(std::unique_ptr<State> state) : state_(std::move(state)) {}
TlsAcceptor::~TlsAcceptor() = default;

asio::awaitable<Result<std::unique_ptr<TlsStream>>> TlsAcceptor::accept(
    asio::ip::tcp::socket socket, MonotonicTime deadline) {
  auto tls = TlsStream::make(std::move(socket), state_->base.get());
  if (!tls) co_return std::unexpected(tls.error());
  if (auto r = co_await (*tls)->accept(deadline); !r) {
    if (SSL_get_ex_data((*tls)->native_handle(), refused_index()) == nullptr)
      co_return std::unexpected(r.error());
    auto name = (*tls)->server_name();
    co_return make_error(
        Errc::kInvalidInput,
        name.empty() ? "TLS handshake refused: no SNI (only intercepted names are served)"
                     : "TLS handshake refused: SNI \"" + name + "\" is not an intercepted name");
  }
  co_return std::move(*tls);
}

}  // namespace pipgate::proxy
