#pragma once
// A real etcd cluster for tests and the bench: N members of Debian's etcd (3.4) on loopback ports,
// each with its own data dir under one temp dir (on /dev/shm when there is one: fsync there is
// cheap, so a loaded machine does not turn into election timeouts), started and stopped by PID.
//
// Cleanup holds also when the test fails or crashes: the destructor SIGKILLs and reaps every
// member it started and removes the temp dir, and every member is started with
// PR_SET_PDEATHSIG=SIGKILL, so the kernel kills it if this process dies without running its
// destructors. Waiting is polling with deadlines (GET /health), never a fixed sleep.

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/test_pki.hpp"

namespace tend::test {

class EtcdCluster {
 public:
  struct Options {
    int members = 3;
    const TestPki* tls = nullptr;  // clients over https with --client-cert-auth (peers stay http)
    std::filesystem::path base;    // where the temp dir goes; default: /dev/shm if present, else TMPDIR
    std::string etcd = "/usr/bin/etcd";
  };

  EtcdCluster() : EtcdCluster(Options{}) {}

  explicit EtcdCluster(Options options) : options_(std::move(options)) {
    if (::access(options_.etcd.c_str(), X_OK) != 0) {
      throw std::runtime_error("etcd not found at " + options_.etcd + " (Debian package etcd-server)");
    }
    std::filesystem::path base = options_.base;
    if (base.empty()) {
      base = std::filesystem::is_directory("/dev/shm") && ::access("/dev/shm", W_OK) == 0
                 ? std::filesystem::path("/dev/shm")
                 : std::filesystem::temp_directory_path();
    }
    std::string tmpl = (base / "tend-etcd-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    dir = tmpl;
    const auto ports = free_ports(2 * options_.members);
    std::string initial;
    for (int i = 0; i < options_.members; ++i) {
      Member m;
      m.name = "m" + std::to_string(i);
      m.client_port = ports[2 * i];
      m.peer_port = ports[2 * i + 1];
      initial += (i > 0 ? "," : "") + m.name + "=http://127.0.0.1:" + std::to_string(m.peer_port);
      members_.push_back(m);
    }
    for (auto& m : members_) {
      m.initial_cluster = initial;
    }
    for (int i = 0; i < options_.members; ++i) {
      start(i);
    }
  }

  ~EtcdCluster() {
    for (auto& m : members_) {
      if (m.pid > 0) {
        ::kill(m.pid, SIGCONT);  // a paused member dies just as well, but be tidy
        ::kill(m.pid, SIGKILL);
        int status = 0;
        ::waitpid(m.pid, &status, 0);
        m.pid = -1;
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  [[nodiscard]] int size() const { return static_cast<int>(members_.size()); }
  [[nodiscard]] std::string endpoint(int i) const {
    return std::string(options_.tls != nullptr ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(members_.at(static_cast<std::size_t>(i)).client_port);
  }
  [[nodiscard]] std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (int i = 0; i < size(); ++i) {
      out.push_back(endpoint(i));
    }
    return out;
  }
  [[nodiscard]] pid_t pid(int i) const { return members_.at(static_cast<std::size_t>(i)).pid; }
  [[nodiscard]] bool running(int i) const { return pid(i) > 0; }

  /// Start (or restart, on its data dir) member i.
  void start(int i) {
    Member& m = members_.at(static_cast<std::size_t>(i));
    if (m.pid > 0) {
      return;
    }
    const std::string client = endpoint(i);
    const std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
    std::vector<std::string> args = {options_.etcd,
                                     "--name",
                                     m.name,
                                     "--data-dir",
                                     (dir / m.name).string(),
                                     "--listen-client-urls",
                                     client,
                                     "--advertise-client-urls",
                                     client,
                                     "--listen-peer-urls",
                                     peer,
                                     "--initial-advertise-peer-urls",
                                     peer,
                                     "--initial-cluster",
                                     m.initial_cluster,
                                     "--initial-cluster-state",
                                     "new",
                                     "--initial-cluster-token",
                                     "tend-test-" + std::to_string(::getpid()),
                                     "--logger",
                                     "zap",
                                     "--log-outputs",
                                     "stderr"};
    if (options_.tls != nullptr) {
      args.insert(args.end(),
                  {"--cert-file", options_.tls->server_cert.string(), "--key-file", options_.tls->server_key.string(),
                   "--client-cert-auth", "--trusted-ca-file", options_.tls->ca.string()});
    }
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const std::string log = (dir / (m.name + ".log")).string();
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        ::_exit(127);  // the parent died before prctl
      }
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
      }
      const int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) {
        ::dup2(null, 0);
        ::close(null);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    m.pid = pid;
  }

  /// SIGKILL member i and reap it.
  void kill(int i) { end(i, SIGKILL); }
  /// SIGTERM member i and reap it (SIGKILL after 10 s).
  void stop(int i) { end(i, SIGTERM); }
  /// SIGSTOP / SIGCONT member i.
  void pause(int i) { ::kill(pid(i), SIGSTOP); }
  void resume(int i) { ::kill(pid(i), SIGCONT); }

  /// Every running member answers GET /health with "true" (which needs a leader and quorum).
  bool wait_healthy(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (int i = 0; i < size() && all; ++i) {
        if (running(i)) {
          check_alive(i);
          all = get(endpoint(i) + "/health").find("\"true\"") != std::string::npos;
        }
      }
      if (all) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  /// GET `url` with the cluster's client certificate; "" on failure. Blocking: test threads only.
  [[nodiscard]] std::string get(const std::string& url, const std::string& post_body = "") const {
    CURL* e = curl_easy_init();
    if (e == nullptr) {
      return "";
    }
    std::string out;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(
        e, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* u) {
          static_cast<std::string*>(u)->append(d, s * n);
          return s * n;
        });
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
    if (!post_body.empty()) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, post_body.c_str());
    }
    if (options_.tls != nullptr) {
      curl_easy_setopt(e, CURLOPT_CAINFO, options_.tls->ca.c_str());
      curl_easy_setopt(e, CURLOPT_SSLCERT, options_.tls->client_cert.c_str());
      curl_easy_setopt(e, CURLOPT_SSLKEY, options_.tls->client_key.c_str());
    }
    const CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    return rc == CURLE_OK ? out : "";
  }

  /// The index of the member that is raft leader now, or -1.
  [[nodiscard]] int leader() const {
    for (int i = 0; i < size(); ++i) {
      if (!running(i)) {
        continue;
      }
      const std::string status = get(endpoint(i) + "/v3/maintenance/status", "{}");
      const auto member = field(status, "member_id");
      const auto leader = field(status, "leader");
      if (!member.empty() && member == leader) {
        return i;
      }
    }
    return -1;
  }

  /// The last `bytes` of member i's log (for a failing test's message).
  [[nodiscard]] std::string log_tail(int i, std::size_t bytes = 2000) const {
    std::ifstream in(dir / (members_.at(static_cast<std::size_t>(i)).name + ".log"));
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string s = ss.str();
    return s.size() > bytes ? s.substr(s.size() - bytes) : s;
  }

  std::filesystem::path dir;

 private:
  struct Member {
    std::string name;
    std::uint16_t client_port = 0;
    std::uint16_t peer_port = 0;
    std::string initial_cluster;
    pid_t pid = -1;
  };

  static std::string field(const std::string& json, const std::string& name) {
    const std::string needle = "\"" + name + "\":\"";
    const auto p = json.find(needle);
    if (p == std::string::npos) {
      return "";
    }
    const auto start = p + needle.size();
    return json.substr(start, json.find('"', start) - start);
  }

  // Ports the kernel hands out now, all held at once so they differ, then released for etcd.
  static std::vector<std::uint16_t> free_ports(int n) {
    boost::asio::io_context io;
    std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> held;
    std::vector<std::uint16_t> out;
    for (int i = 0; i < n; ++i) {
      auto a = std::make_unique<boost::asio::ip::tcp::acceptor>(
          io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
      out.push_back(a->local_endpoint().port());
      held.push_back(std::move(a));
    }
    return out;
  }

  void check_alive(int i) {
    Member& m = members_.at(static_cast<std::size_t>(i));
    int status = 0;
    if (m.pid > 0 && ::waitpid(m.pid, &status, WNOHANG) == m.pid) {
      m.pid = -1;
      throw std::runtime_error("etcd " + m.name + " exited: " + log_tail(i));
    }
  }

  void end(int i, int sig) {
    Member& m = members_.at(static_cast<std::size_t>(i));
    if (m.pid <= 0) {
      return;
    }
    ::kill(m.pid, SIGCONT);
    ::kill(m.pid, sig);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (::waitpid(m.pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(m.pid, SIGKILL);
        ::waitpid(m.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    m.pid = -1;
  }

  Options options_;
  std::vector<Member> members_;
};

}  // namespace tend::test
