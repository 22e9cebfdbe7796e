// The request head Beast parsed from an HTTP/1.1 connection, as the proxy::Request both
// protocols fill (proxy/request.h). Sans-IO: H1Session calls it once the head is complete, the
// fuzz target tests/fuzz/h1_request_fuzz.cc on any bytes Beast accepts.
//
//   Parser p; p.put(bytes, ec); if (p.is_header_done()) auto req = h1_request(p, info);
#pragma once

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "common/result.h"
#include "proxy/connection_info.h"
#include "proxy/request.h"

namespace pipgate::proxy::internal {

using H1Parser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

// kInvalidInput (the detail is the 400's text) when the head is unusable: not exactly one Host.
// The absolute-form's authority replaces Host (RFC 9112 §3.2.2); field names are lower-cased.
[[nodiscard]] Result<Request> h1_request(const H1Parser& p, const ConnectionInfo& info);

}  // namespace pipgate::proxy::internal
