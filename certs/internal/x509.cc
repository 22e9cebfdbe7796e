#include "certs/internal/x509.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/digest.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <ctime>

namespace pipgate::certs::internal {
namespace {

// The detail carries BoringSSL's first queued error; the queue is cleared so that a later,
// unrelated failure does not report this one.
std::unexpected<Error> ssl_error(Errc code, std::string_view what) {
  std::string detail(what);
  if (std::uint32_t e = ERR_get_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    detail += " (";
    detail += buf;
    detail += ")";
  }
  ERR_clear_error();
  return make_error(code, std::move(detail));
}

std::unexpected<Error> internal_error(std::string_view what) {
  return ssl_error(Errc::kInternal, what);
}

bssl::UniquePtr<BIO> read_bio(std::string_view text) {
  return bssl::UniquePtr<BIO>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_text(const BIO* bio) {
  const std::uint8_t* data = nullptr;
  std::size_t len = 0;
  if (!BIO_mem_contents(bio, &data, &len)) return {};
  return std::string(reinterpret_cast<const char*>(data), len);
}

Result<bssl::UniquePtr<X509>> parse_cert(std::string_view pem) {
  if (pem.size() > (1u << 20)) return make_error(Errc::kCorrupt, "certificate PEM too large");
  auto bio = read_bio(pem);
  if (!bio) return internal_error("BIO_new_mem_buf failed");
  bssl::UniquePtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return ssl_error(Errc::kCorrupt, "not a PEM certificate");
  return cert;
}

Result<bssl::UniquePtr<EVP_PKEY>> parse_key(std::string_view pem) {
  if (pem.size() > (1u << 20)) return make_error(Errc::kCorrupt, "private key PEM too large");
  auto bio = read_bio(pem);
  if (!bio) return internal_error("BIO_new_mem_buf failed");
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return ssl_error(Errc::kCorrupt, "not a PEM private key");
  return key;
}

// Key material comes from BoringSSL's RNG, not the injected Random: a test must never be able to
// predict a private key, and the kernel-seeded DRBG is what BoringSSL is built to use.
Result<bssl::UniquePtr<EVP_PKEY>> new_p256_key() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  if (!ec || !EC_KEY_generate_key(ec.get())) return internal_error("P-256 key generation failed");
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!key || !EVP_PKEY_set1_EC_KEY(key.get(), ec.get())) return internal_error("EVP_PKEY failed");
  return key;
}

Result<std::string> key_pem(EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      !PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return internal_error("cannot encode private key");
  }
  return bio_text(bio.get());
}

Result<std::string> cert_pem(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509(bio.get(), cert)) return internal_error("cannot encode cert");
  return bio_text(bio.get());
}

// RFC 5280 §4.1.2.2: positive, at most 20 octets. 128 random bits (CA/B Forum asks for ≥ 64)
// make a repeated serial practically impossible, even across rotations.
Result<> set_random_serial(X509* cert, Random& random) {
  std::array<std::uint8_t, 16> bytes{};
  random.fill(bytes);
  if (bytes[0] == 0) bytes[0] = 1;  // never zero, and always the full 128 bits
  bssl::UniquePtr<BIGNUM> bn(BN_bin2bn(bytes.data(), bytes.size(), nullptr));
  if (!bn) return internal_error("BN_bin2bn failed");
  bssl::UniquePtr<ASN1_INTEGER> serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial || !X509_set_serialNumber(cert, serial.get())) return internal_error("serial");
  return {};
}

Result<> set_validity(X509* cert, SystemTime not_before, SystemTime not_after) {
  bssl::UniquePtr<ASN1_TIME> nb(
      ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(not_before)));
  bssl::UniquePtr<ASN1_TIME> na(
      ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(not_after)));
  if (!nb || !na || !X509_set1_notBefore(cert, nb.get()) || !X509_set1_notAfter(cert, na.get())) {
    return internal_error("cannot set validity");
  }
  return {};
}

Result<SystemTime> to_system_time(const ASN1_TIME* t) {
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (!epoch || !ASN1_TIME_diff(&days, &seconds, epoch.get(), t)) {
    return ssl_error(Errc::kCorrupt, "bad certificate time");
  }
  return SystemTime{} + std::chrono::seconds(std::int64_t{days} * 86400 + seconds);
}

Result<> set_name(X509_NAME* name, const char* field, std::string_view value) {
  if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                  reinterpret_cast<const std::uint8_t*>(value.data()),
                                  static_cast<int>(value.size()), -1, 0)) {
    return internal_error(std::string("cannot set ") + field);
  }
  return {};
}

// For extensions whose value is a fixed string (no caller-supplied text is ever passed here, so
// the config-string syntax cannot be injected into).
Result<> add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (!ext || !X509_add_ext(cert, ext.get(), -1)) {
    return internal_error(std::string("cannot add extension ") + OBJ_nid2sn(nid));
  }
  return {};
}

Result<bssl::UniquePtr<GENERAL_NAME>> dns_name(std::string_view name) {
  bssl::UniquePtr<GENERAL_NAME> gen(GENERAL_NAME_new());
  bssl::UniquePtr<ASN1_IA5STRING> ia5(ASN1_IA5STRING_new());
  if (!gen || !ia5 || !ASN1_STRING_set(ia5.get(), name.data(), static_cast<int>(name.size()))) {
    return internal_error("cannot make dNSName");
  }
  GENERAL_NAME_set0_value(gen.get(), GEN_DNS, ia5.release());
  return gen;
}

std::string ia5_text(const ASN1_STRING* s) {
  std::string out(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                  static_cast<std::size_t>(ASN1_STRING_length(s)));
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<> add_name_constraints(X509* cert, const std::vector<std::string>& permitted) {
  bssl::UniquePtr<NAME_CONSTRAINTS> nc(NAME_CONSTRAINTS_new());
  if (!nc) return internal_error("NAME_CONSTRAINTS_new failed");
  nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
  if (!nc->permittedSubtrees) return internal_error("sk_GENERAL_SUBTREE_new_null failed");
  for (const auto& name : permitted) {
    bssl::UniquePtr<GENERAL_SUBTREE> subtree(GENERAL_SUBTREE_new());
    if (!subtree) return internal_error("GENERAL_SUBTREE_new failed");
    auto gen = dns_name(name);
    if (!gen) return std::unexpected(gen.error());
    GENERAL_NAME_free(subtree->base);
    subtree->base = gen->release();
    if (!sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, subtree.get())) {
      return internal_error("sk_GENERAL_SUBTREE_push failed");
    }
    subtree.release();  // now owned by the stack
  }
  // Every IPv4 and IPv6 address excluded (RFC 5280 §4.2.1.10: address and mask, 8 or 32 zero
  // bytes). Permitted DNS subtrees say nothing about other name types: without this, the CA's
  // key could sign a certificate for https://<any address> (IP SAN only) that OpenSSL and
  // Python accept (tests/integration/certs/name_constraints_test.sh).
  nc->excludedSubtrees = sk_GENERAL_SUBTREE_new_null();
  if (!nc->excludedSubtrees) return internal_error("sk_GENERAL_SUBTREE_new_null failed");
  for (int len : {8, 32}) {
    static const std::uint8_t kZero[32] = {};
    bssl::UniquePtr<GENERAL_SUBTREE> subtree(GENERAL_SUBTREE_new());
    bssl::UniquePtr<ASN1_OCTET_STRING> range(ASN1_OCTET_STRING_new());
    if (!subtree || !range || !ASN1_OCTET_STRING_set(range.get(), kZero, len))
      return internal_error("cannot make an excluded iPAddress subtree");
    GENERAL_NAME_set0_value(subtree->base, GEN_IPADD, range.release());
    if (!sk_GENERAL_SUBTREE_push(nc->excludedSubtrees, subtree.get()))
      return internal_error("sk_GENERAL_SUBTREE_push failed");
    subtree.release();  // now owned by the stack
  }
  // Critical: a client that cannot process name constraints must reject the CA rather than trust
  // it for every name (RFC 5280 §4.2.1.10 says conforming CAs MUST mark it critical).
  if (!X509_add1_ext_i2d(cert, NID_name_constraints, nc.get(), 1, X509V3_ADD_DEFAULT)) {
    return internal_error("cannot add nameConstraints");
  }
  return {};
}

Result<> add_san(X509* cert, std::string_view name) {
  bssl::UniquePtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  if (!names) return internal_error("sk_GENERAL_NAME_new_null failed");
  auto gen = dns_name(name);
  if (!gen) return std::unexpected(gen.error());
  if (!sk_GENERAL_NAME_push(names.get(), gen->get())) return internal_error("SAN push failed");
  gen->release();
  if (!X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT)) {
    return internal_error("cannot add subjectAltName");
  }
  return {};
}

std::string name_text(const X509_NAME* name) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  return bio_text(bio.get());
}

std::vector<std::string> permitted_subtrees(const X509* cert, int* critical) {
  std::vector<std::string> out;
  bssl::UniquePtr<NAME_CONSTRAINTS> nc(static_cast<NAME_CONSTRAINTS*>(
      X509_get_ext_d2i(cert, NID_name_constraints, critical, nullptr)));
  if (!nc || !nc->permittedSubtrees) return out;
  for (std::size_t i = 0; i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); ++i) {
    const GENERAL_SUBTREE* st = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i);
    if (st->base && st->base->type == GEN_DNS) out.push_back(ia5_text(st->base->d.dNSName));
  }
  return out;
}

// True when the excluded subtrees hold both 0.0.0.0/0 and ::/0 (8 and 32 zero bytes).
bool excludes_all_ip_addresses(const X509* cert) {
  bssl::UniquePtr<NAME_CONSTRAINTS> nc(static_cast<NAME_CONSTRAINTS*>(
      X509_get_ext_d2i(cert, NID_name_constraints, nullptr, nullptr)));
  if (!nc || !nc->excludedSubtrees) return false;
  bool v4 = false, v6 = false;
  for (std::size_t i = 0; i < sk_GENERAL_SUBTREE_num(nc->excludedSubtrees); ++i) {
    const GENERAL_SUBTREE* st = sk_GENERAL_SUBTREE_value(nc->excludedSubtrees, i);
    if (!st->base || st->base->type != GEN_IPADD) continue;
    const ASN1_OCTET_STRING* range = st->base->d.iPAddress;
    const unsigned char* p = ASN1_STRING_get0_data(range);
    int len = ASN1_STRING_length(range);
    if (std::any_of(p, p + len, [](unsigned char b) { return b != 0; })) continue;
    v4 = v4 || len == 8;
    v6 = v6 || len == 32;
  }
  return v4 && v6;
}

std::vector<std::string> san_dns_names(const X509* cert) {
  std::vector<std::string> out;
  bssl::UniquePtr<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (std::size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names.get(), i);
    if (gen->type == GEN_DNS) out.push_back(ia5_text(gen->d.dNSName));
  }
  return out;
}

std::string upper_hex(const char* hex) {
  std::string out(hex);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<KeyAndCert> make_root(const std::vector<std::string>& permitted,
                             std::string_view common_name, std::string_view organization,
                             SystemTime not_before, SystemTime not_after, Random& random) {
  auto key = new_p256_key();
  if (!key) return std::unexpected(key.error());
  bssl::UniquePtr<X509> cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3)) return internal_error("X509_new");
  if (auto r = set_random_serial(cert.get(), random); !r) return std::unexpected(r.error());
  if (auto r = set_validity(cert.get(), not_before, not_after); !r) {
    return std::unexpected(r.error());
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (auto r = set_name(subject, "O", organization); !r) return std::unexpected(r.error());
  if (auto r = set_name(subject, "CN", common_name); !r) return std::unexpected(r.error());
  if (!X509_set_issuer_name(cert.get(), subject) || !X509_set_pubkey(cert.get(), key->get())) {
    return internal_error("cannot set issuer or public key");
  }
  // pathlen:0: this CA signs leaves only, never another CA (which would not be bound by our
  // reasoning about what it issues, though still by the name constraints).
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto r = add_ext(cert.get(), cert.get(), nid, value); !r) {
      return std::unexpected(r.error());
    }
  }
  if (auto r = add_name_constraints(cert.get(), permitted); !r) return std::unexpected(r.error());
  if (!X509_sign(cert.get(), key->get(), EVP_sha256())) return internal_error("X509_sign failed");
  KeyAndCert out;
  auto kp = key_pem(key->get());
  if (!kp) return std::unexpected(kp.error());
  auto cp = cert_pem(cert.get());
  if (!cp) return std::unexpected(cp.error());
  out.key_pem = std::move(*kp);
  out.cert_pem = std::move(*cp);
  return out;
}

Result<KeyAndCert> sign_server_cert(std::string_view ca_cert_pem, std::string_view ca_key_pem,
                                    std::string_view name, SystemTime not_before,
                                    SystemTime not_after, Random& random) {
  auto ca = parse_cert(ca_cert_pem);
  if (!ca) return std::unexpected(ca.error());
  auto ca_key = parse_key(ca_key_pem);
  if (!ca_key) return std::unexpected(ca_key.error());
  auto key = new_p256_key();
  if (!key) return std::unexpected(key.error());
  bssl::UniquePtr<X509> cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3)) return internal_error("X509_new");
  if (auto r = set_random_serial(cert.get(), random); !r) return std::unexpected(r.error());
  if (auto r = set_validity(cert.get(), not_before, not_after); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = set_name(X509_get_subject_name(cert.get()), "CN", name); !r) {
    return std::unexpected(r.error());
  }
  if (!X509_set_issuer_name(cert.get(), X509_get_subject_name(ca->get())) ||
      !X509_set_pubkey(cert.get(), key->get())) {
    return internal_error("cannot set issuer or public key");
  }
  for (auto [nid, value] :
       {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
        std::pair{NID_key_usage, "critical,digitalSignature"},
        std::pair{NID_ext_key_usage, "serverAuth"}, std::pair{NID_subject_key_identifier, "hash"},
        std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto r = add_ext(cert.get(), ca->get(), nid, value); !r) {
      return std::unexpected(r.error());
    }
  }
  if (auto r = add_san(cert.get(), name); !r) return std::unexpected(r.error());
  if (!X509_sign(cert.get(), ca_key->get(), EVP_sha256())) {
    return internal_error("X509_sign failed");
  }
  KeyAndCert out;
  auto kp = key_pem(key->get());
  if (!kp) return std::unexpected(kp.error());
  auto cp = cert_pem(cert.get());
  if (!cp) return std::unexpected(cp.error());
  out.key_pem = std::move(*kp);
  out.cert_pem = std::move(*cp);
  return out;
}

Result<CertInfo> inspect(std::string_view pem) {
  auto cert = parse_cert(pem);
  if (!cert) return std::unexpected(cert.error());
  X509* x = cert->get();
  CertInfo info;
  info.subject = name_text(X509_get_subject_name(x));
  info.issuer = name_text(X509_get_issuer_name(x));
  bssl::UniquePtr<BIGNUM> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr));
  if (!serial) return ssl_error(Errc::kCorrupt, "bad serial number");
  char* hex = BN_bn2hex(serial.get());
  if (!hex) return internal_error("BN_bn2hex failed");
  info.serial_hex = upper_hex(hex);
  OPENSSL_free(hex);
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned digest_len = 0;
  if (!X509_digest(x, EVP_sha256(), digest, &digest_len)) return internal_error("X509_digest");
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned i = 0; i < digest_len; ++i) {
    if (i) info.sha256_fingerprint += ':';
    info.sha256_fingerprint += kHex[digest[i] >> 4];
    info.sha256_fingerprint += kHex[digest[i] & 0xf];
  }
  auto nb = to_system_time(X509_get0_notBefore(x));
  if (!nb) return std::unexpected(nb.error());
  auto na = to_system_time(X509_get0_notAfter(x));
  if (!na) return std::unexpected(na.error());
  info.not_before = *nb;
  info.not_after = *na;
  int critical = -1;
  info.dns_names = permitted_subtrees(x, &critical);
  if (critical < 0) info.dns_names = san_dns_names(x);  // -1: no nameConstraints extension
  info.excludes_ip_addresses = excludes_all_ip_addresses(x);
  return info;
}

Result<std::vector<std::uint8_t>> to_der(std::string_view pem) {
  auto cert = parse_cert(pem);
  if (!cert) return std::unexpected(cert.error());
  std::uint8_t* der = nullptr;
  int len = i2d_X509(cert->get(), &der);
  if (len <= 0) return internal_error("i2d_X509 failed");
  std::vector<std::uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

Result<> check_key_matches(std::string_view cert_pem, std::string_view key_pem) {
  auto cert = parse_cert(cert_pem);
  if (!cert) return std::unexpected(cert.error());
  auto key = parse_key(key_pem);
  if (!key) return std::unexpected(key.error());
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return ssl_error(Errc::kInvalidInput, "private key does not match the certificate");
  }
  return {};
}

Result<> check_constrained_ca(std::string_view cert_pem) {
  auto cert = parse_cert(cert_pem);
  if (!cert) return std::unexpected(cert.error());
  X509* x = cert->get();
  bssl::UniquePtr<BASIC_CONSTRAINTS> bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(x, NID_basic_constraints, nullptr, nullptr)));
  if (!bc || !bc->ca) {
    ERR_clear_error();
    return make_error(Errc::kInvalidInput, "certificate is not a CA (no basicConstraints CA:TRUE)");
  }
  if ((X509_get_key_usage(x) & KU_KEY_CERT_SIGN) == 0) {
    return make_error(Errc::kInvalidInput, "CA certificate may not sign certificates (keyUsage)");
  }
  int critical = -1;
  auto names = permitted_subtrees(x, &critical);
  if (critical != 1 || names.empty()) {
    ERR_clear_error();
    return make_error(Errc::kInvalidInput,
                      "CA certificate has no critical nameConstraints permitting DNS names");
  }
  return {};
}

Result<> check_signed_by(std::string_view cert_pem, std::string_view ca_cert_pem) {
  auto cert = parse_cert(cert_pem);
  if (!cert) return std::unexpected(cert.error());
  auto ca = parse_cert(ca_cert_pem);
  if (!ca) return std::unexpected(ca.error());
  if (X509_check_issued(ca->get(), cert->get()) != X509_V_OK) {
    ERR_clear_error();
    return make_error(Errc::kInvalidInput, "certificate was not issued by this CA");
  }
  bssl::UniquePtr<EVP_PKEY> ca_key(X509_get_pubkey(ca->get()));
  if (!ca_key || X509_verify(cert->get(), ca_key.get()) != 1) {
    return ssl_error(Errc::kInvalidInput, "certificate signature does not verify with the CA key");
  }
  return {};
}

}  // namespace pipgate::certs::internal
