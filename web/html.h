// HTML (and XML) text escaping for everything dynamic that the web pages print.
//
//   out += "<code>" + html_escape(facts.ca_fingerprint) + "</code>";
#pragma once

#include <string>
#include <string_view>

namespace pipgate::web {

// Escapes & < > " ' so the result is safe in element text and in quoted attribute values, in
// HTML and in XML. Other bytes (UTF-8 included) pass through.
std::string html_escape(std::string_view text);

}  // namespace pipgate::web
