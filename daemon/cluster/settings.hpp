#pragma once
// What cluster mode needs to know, as a plain struct: the config reader fills it from the
// `cluster:` section (SPEC "Cluster mode") and checks it with validate(); the rest are tuning
// values with defaults that the YAML does not expose.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tend::cluster {

using namespace std::chrono_literals;

struct Tls {
  std::string ca;    // PEM file of the CA that signs etcd's certificates; "": the system's CAs
  std::string cert;  // client certificate (etcd --client-cert-auth); "": none
  std::string key;   // its private key
};

struct Settings {
  std::vector<std::string> endpoints;        // "http://10.0.0.1:2379", "https://..."; tried in order, failing over
  std::string prefix = "/tend/";             // one job table per prefix; normalised to end with "/"
  std::string node;                          // this host's name in the cluster (default: daemon.host)
  std::chrono::milliseconds lease_ttl{10s};  // whole seconds, at least 2s (etcd's minimum with its defaults)
  Tls tls;

  // Tuning (not in the YAML); zero means "derived from lease_ttl".
  std::chrono::milliseconds request_timeout{0};  // one HTTP attempt; default clamp(ttl/5, 500ms, 5s)
  std::chrono::milliseconds op_timeout{0};       // one operation with its fail-overs; default ttl/3
  std::chrono::milliseconds sweep_interval{0};   // take-over scan; default clamp(ttl/10, 100ms, 1s)
  // A claim left unstarted this long is stolen by another host (its claimer is slow, starved or
  // dead: etcd's compare keeps it exactly once), and a claim or fenced write that failed is
  // retried for this long; default ttl/2.
  std::chrono::milliseconds claim_grace{0};
  std::chrono::milliseconds run_retention{1h};           // run records kept this long after their tick
  std::chrono::milliseconds notification_retention{1h};  // notification claims live 1/2..1 of this
  std::chrono::milliseconds cleanup_interval{1min};      // how often old run records are deleted
  std::chrono::milliseconds compaction_interval{5min};   // etcd compaction; 0: never (etcd's operator does it)
};

/// One thing wrong with a Settings: the key of `cluster:` it is about ("etcd", "tls.key"; "" for
/// the section) and what is wrong.
struct Problem {
  std::string key;
  std::string message;
};

/// Everything wrong with `s`, in key order (the config reader reports each at its key).
std::vector<Problem> problems(const Settings& s);

/// What is wrong with one etcd endpoint URL, or nothing.
std::optional<std::string> endpoint_problem(const std::string& url);

/// The first thing wrong with `s` ("cluster.etcd: ..."), or nothing.
std::optional<std::string> validate(const Settings& s);

/// `s` with the prefix normalised and every derived value filled in.
Settings resolve(Settings s);

}  // namespace tend::cluster
