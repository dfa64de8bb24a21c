#include "web/router.hpp"

#include <algorithm>

namespace tend::web {
namespace {

AsyncHandler wrap(Handler h) {
  return [h = std::move(h)](const Request& req, const Respond& respond) { respond(h(req)); };
}

}  // namespace

Response Response::make(unsigned status, std::string content_type, std::string body) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::make_shared<const std::string>(std::move(body));
  return r;
}

Response Response::text(unsigned status, std::string body) {
  return make(status, "text/plain; charset=utf-8", std::move(body));
}

Response Response::html(unsigned status, std::string body) {
  return make(status, "text/html; charset=utf-8", std::move(body));
}

void Router::add(std::string path, Handler handler) { add_async(std::move(path), wrap(std::move(handler))); }

void Router::add_async(std::string path, AsyncHandler handler) { exact_[std::move(path)] = std::move(handler); }

void Router::add_prefix(std::string prefix, Handler handler) {
  add_prefix_async(std::move(prefix), wrap(std::move(handler)));
}

void Router::add_prefix_async(std::string prefix, AsyncHandler handler) {
  prefixes_.emplace_back(std::move(prefix), std::move(handler));
  std::stable_sort(prefixes_.begin(), prefixes_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

const AsyncHandler* Router::find(std::string_view path, std::string& rest) const {
  if (auto it = exact_.find(path); it != exact_.end()) {
    rest.clear();
    return &it->second;
  }
  for (const auto& [prefix, handler] : prefixes_) {
    if (path.starts_with(prefix)) {
      rest = path.substr(prefix.size());
      return &handler;
    }
  }
  return nullptr;
}

}  // namespace tend::web
