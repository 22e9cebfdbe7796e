#include "proxy/backend.h"

namespace pipgate::proxy {

Response text_response(boost::asio::any_io_executor ex, int status, std::string text) {
  Response r;
  r.head.status = status;
  r.head.headers = {{"content-type", "text/plain; charset=utf-8"}, {"cache-control", "no-store"}};
  r.head.content_length = text.size();
  if (!text.empty()) {
    r.body = std::make_shared<BodyPipe>(ex, text.size() + 1);
    r.body->push(std::move(text));
    r.body->finish();
  }
  return r;
}

}  // namespace pipgate::proxy
