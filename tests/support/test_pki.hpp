#pragma once
// A throwaway certificate authority for TLS tests: a CA, a server certificate for 127.0.0.1 and
// localhost, and a client certificate, all signed by the CA and made with the openssl command-line
// tool (P-256 keys, valid 3 days). Mutual TLS tests use it: the http client's tls_ca / tls_cert /
// tls_key against `openssl s_server -Verify`, and the cluster tests against etcd with
// --client-cert-auth.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace tend::test {

struct TestPki {
  std::filesystem::path ca;           // CA certificate (PEM)
  std::filesystem::path server_cert;  // CN=127.0.0.1, SAN IP:127.0.0.1, DNS:localhost
  std::filesystem::path server_key;
  std::filesystem::path client_cert;  // CN=tend-client, clientAuth
  std::filesystem::path client_key;
  std::filesystem::path other_ca;  // a second, unrelated CA (certificates it did not sign)
};

/// Make the files under `dir`; false when openssl failed.
inline bool make_test_pki(const std::filesystem::path& dir, TestPki& out) {
  const std::string d = dir.string();
  {
    std::ofstream ext(dir / "ext.cnf");
    ext << "[server]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
           "[client]\nextendedKeyUsage=clientAuth\n";
  }
  const std::string key = "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
  const std::string quiet = " >/dev/null 2>&1";
  const std::string commands[] = {
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3 -subj /CN=tend-test-ca "
      "-keyout " +
          d + "/ca.key -out " + d + "/ca.pem" + quiet,
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3 -subj /CN=other-ca "
      "-keyout " +
          d + "/other.key -out " + d + "/other.pem" + quiet,
      key + "-subj /CN=127.0.0.1 -keyout " + d + "/server.key -out " + d + "/server.csr" + quiet,
      "openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d +
          "/ca.key -CAcreateserial -days 3 " + "-extfile " + d + "/ext.cnf -extensions server -out " + d +
          "/server.pem" + quiet,
      key + "-subj /CN=tend-client -keyout " + d + "/client.key -out " + d + "/client.csr" + quiet,
      "openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.pem -CAkey " + d +
          "/ca.key -CAcreateserial -days 3 " + "-extfile " + d + "/ext.cnf -extensions client -out " + d +
          "/client.pem" + quiet,
  };
  for (const auto& c : commands) {
    if (std::system(c.c_str()) != 0) {
      return false;
    }
  }
  out.ca = dir / "ca.pem";
  out.other_ca = dir / "other.pem";
  out.server_cert = dir / "server.pem";
  out.server_key = dir / "server.key";
  out.client_cert = dir / "client.pem";
  out.client_key = dir / "client.key";
  return true;
}

}  // namespace tend::test
