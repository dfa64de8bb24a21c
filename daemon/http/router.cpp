// The probes' client: plain http:// requests to the plain client, everything else to curl.

#include <boost/asio/io_context.hpp>
#include <memory>
#include <utility>

#include "http/client.hpp"
#include "http/plain_detail.hpp"

namespace tend::http {
namespace {

class Router final : public Client {
 public:
  Router(std::unique_ptr<Client> plain, std::unique_ptr<Client> curl)
      : plain_(std::move(plain)), curl_(std::move(curl)) {}

  std::unique_ptr<Handle> send(Request req, Callback done) override {
    Client& to = detail::plain_serves(req) ? *plain_ : *curl_;
    return to.send(std::move(req), std::move(done));
  }

 private:
  std::unique_ptr<Client> plain_;
  std::unique_ptr<Client> curl_;
};

}  // namespace

std::unique_ptr<Client> make_router(std::unique_ptr<Client> plain, std::unique_ptr<Client> curl) {
  return std::make_unique<Router>(std::move(plain), std::move(curl));
}

std::unique_ptr<Client> make_client(boost::asio::io_context& io) {
  return make_router(make_plain_client(io), make_curl_client(io));
}

}  // namespace tend::http
