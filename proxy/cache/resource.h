// What a request path on an intercepted host is, for the cache: which paths are cached, how, and
// under which key. Pure: host and path in, a Resource out.
//
//   files.pythonhosted.org /packages/ab/cd/<60 hex>/f.whl        kFile, digest_hex = abcd<60 hex>
//   files.pythonhosted.org /packages/ab/cd/<60 hex>/f.whl.metadata kFile (PEP 658/714), no digest
//   files.pythonhosted.org /packages/<pyver>/<x>/<name>/<file>    kFile (legacy: a redirect)
//   pypi.org /simple/ and /simple/<project>/                      kSimpleIndex (negotiated)
//   pypi.org /pypi/<project>/json, /pypi/<project>/<version>/json kJsonApi
//   anything else (web UI, search, XML-RPC, uploads)              kUncached
//
//   auto r = classify("pypi.org", "/simple/numpy/");   // kSimpleIndex, project "numpy"
//   std::string key = cache_key("pypi.org", "/simple/numpy/", Variant::kJson);
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pipgate::proxy::cache {

enum class ResourceKind {
  kUncached,     // passed through, never stored
  kFile,         // immutable once stored (distribution files, their .metadata, legacy redirects)
  kSimpleIndex,  // PEP 503/691 pages: freshness from upstream, variants by Accept
  kJsonApi,      // the JSON API: freshness from upstream, one variant
};

// The representations of a simple-index page (PEP 691) that are cached separately.
enum class Variant { kNone, kJson, kHtmlV1, kHtml };

struct Resource {
  ResourceKind kind = ResourceKind::kUncached;
  // kFile in the hashed layout (not .metadata): the BLAKE2b-256 the body must have, as the 64
  // lower-case hex digits of the path.
  std::optional<std::string> digest_hex;
  // The project the path belongs to, normalized (PEP 503), for per-project statistics: from
  // /simple/<p>/, /pypi/<p>/..., or a distribution file name ("numpy-2.0-....whl" → "numpy").
  // Empty when unknown.
  std::string project;
};

// `host`: canonical (lower case, no port); `path`: the request target, query included.
Resource classify(std::string_view host, std::string_view path);

// The store key of a representation: "host/path" plus "#variant" for simple-index pages. Readable,
// because `pipgate cache ls` shows keys to people.
std::string cache_key(std::string_view host, std::string_view path, Variant variant);

// PEP 503 normalization: lower case, runs of -_. become "-".
std::string normalize_project(std::string_view name);

// The project of a distribution file name: wheel "name-ver-...whl", sdist "name-ver.tar.gz";
// PEP 427 escapes "-" in the name as "_", so the name is everything before the first "-" that
// starts a version (a digit). Empty when it cannot tell.
std::string project_of_filename(std::string_view filename);

}  // namespace pipgate::proxy::cache
