#include "process/prepare.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include "util/env_names.hpp"

namespace tend::process::detail {
namespace {

// Reads the passwd entry with a growing buffer; returns errno-style status.
template <class Lookup>
int lookup_passwd(Lookup lookup, passwd& pw, std::vector<char>& buf, passwd*& found) {
  const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  buf.resize(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
  for (;;) {
    found = nullptr;
    const int err = lookup(&pw, buf.data(), buf.size(), &found);
    if (err == ERANGE && buf.size() < (1U << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    return err;
  }
}

UserInfo from_passwd(const passwd& pw) {
  UserInfo info;
  info.name = pw.pw_name;
  info.uid = pw.pw_uid;
  info.gid = pw.pw_gid;
  info.home = pw.pw_dir != nullptr ? pw.pw_dir : "";
  return info;
}

bool valid_name(const std::string& key) { return !key.empty() && key.find('=') == std::string::npos; }

bool is_locale_name(std::string_view key) {
  return key == "LANG" || key == "LANGUAGE" || key == "TZ" || key.starts_with("LC_");
}

// Whether `as` may execute a file with these attributes (owner, then group, then other bits; root
// needs any execute bit). ACLs are not consulted: exec has the last word anyway.
bool may_execute(const struct stat& st, const UserInfo& as) {
  if (as.uid == 0) {
    return (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
  }
  if (st.st_uid == as.uid) {
    return (st.st_mode & S_IXUSR) != 0;
  }
  if (st.st_gid == as.gid || std::find(as.groups.begin(), as.groups.end(), st.st_gid) != as.groups.end()) {
    return (st.st_mode & S_IXGRP) != 0;
  }
  return (st.st_mode & S_IXOTH) != 0;
}

}  // namespace

Expected<UserInfo> resolve_user(const std::string& user) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf;
  int err = lookup_passwd(
      [&](passwd* out, char* b, std::size_t n, passwd** res) { return ::getpwnam_r(user.c_str(), out, b, n, res); }, pw,
      buf, found);
  if (found == nullptr) {
    uid_t uid = 0;
    const char* end = user.data() + user.size();
    if (auto [ptr, ec] = std::from_chars(user.data(), end, uid); ec == std::errc() && ptr == end && !user.empty()) {
      err = lookup_passwd(
          [&](passwd* out, char* b, std::size_t n, passwd** res) { return ::getpwuid_r(uid, out, b, n, res); }, pw, buf,
          found);
    }
  }
  if (found == nullptr) {
    // glibc reports "not found" as success with no result; other NSS modules use ENOENT and friends.
    const bool missing = err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM;
    return Error{"user " + user + ": " + (missing ? std::string("no such user") : std::strerror(err))};
  }
  UserInfo info = from_passwd(pw);
  int count = 32;
  for (int attempt = 0; attempt < 8; ++attempt) {
    info.groups.resize(static_cast<std::size_t>(count));
    int n = count;
    if (::getgrouplist(info.name.c_str(), info.gid, info.groups.data(), &n) >= 0) {
      info.groups.resize(static_cast<std::size_t>(n));
      return info;
    }
    // -1 means the array was too small and n now holds the size needed.
    count = n > count ? n : count * 2;
  }
  return Error{"user " + user + ": cannot list its groups"};
}

std::optional<UserInfo> account_of(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf;
  lookup_passwd([&](passwd* out, char* b, std::size_t n, passwd** res) { return ::getpwuid_r(uid, out, b, n, res); },
                pw, buf, found);
  if (found == nullptr) {
    return std::nullopt;
  }
  return from_passwd(pw);
}

DaemonEnv snapshot_env(const char* const* environ, const std::vector<std::string>& inherit) {
  DaemonEnv out;
  for (const char* const* p = environ; p != nullptr && *p != nullptr; ++p) {
    const std::string_view entry(*p);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      continue;
    }
    const std::string_view key = entry.substr(0, eq);
    const std::string_view value = entry.substr(eq + 1);
    if (is_locale_name(key)) {
      out.locale.emplace_back(key, value);
    }
    // A name may be listed more than once; the first entry of a name is what getenv() returns.
    if (!is_daemon_only_env(key) && std::find(inherit.begin(), inherit.end(), key) != inherit.end()) {
      out.inherited.emplace(key, value);
    }
  }
  return out;
}

std::vector<std::string> build_env(const DaemonEnv& daemon, const UserInfo* account, const Spec& spec) {
  std::vector<std::string> out;
  std::map<std::string, std::size_t, std::less<>> position;
  auto set = [&](std::string_view key, std::string_view value) {
    std::string entry;
    entry.reserve(key.size() + 1 + value.size());
    entry.append(key).append("=").append(value);
    if (auto it = position.find(key); it != position.end()) {
      out[it->second] = std::move(entry);
      return;
    }
    position.emplace(std::string(key), out.size());
    out.push_back(std::move(entry));
  };
  set("PATH", kChildPath);
  set("SHELL", "/bin/sh");
  if (account != nullptr) {
    set("HOME", account->home);
    set("USER", account->name);
    set("LOGNAME", account->name);
  }
  for (const auto& [key, value] : daemon.locale) {
    if (position.find(key) == position.end()) {  // the first of a repeated name, as getenv()
      set(key, value);
    }
  }
  for (const auto& [key, value] : spec.base_env) {
    set(key, value);
  }
  for (const auto& name : spec.inherit) {
    if (auto it = daemon.inherited.find(name); it != daemon.inherited.end()) {
      set(name, it->second);
    }
  }
  for (const auto& [key, value] : spec.env) {
    set(key, value);
  }
  return out;
}

std::vector<std::string> exec_candidates(const std::string& name, const std::vector<std::string>& env) {
  if (name.empty()) {
    return {};
  }
  if (name.find('/') != std::string::npos) {
    return {name};
  }
  std::string_view path = kChildPath;
  for (const auto& entry : env) {
    if (entry.starts_with("PATH=")) {
      path = std::string_view(entry).substr(5);
    }
  }
  std::vector<std::string> out;
  for (;;) {
    const auto colon = path.find(':');
    const std::string_view dir = path.substr(0, colon);
    if (dir.empty()) {
      out.push_back(name);  // an empty PATH element means the current directory
    } else if (dir.ends_with('/')) {
      out.push_back(std::string(dir) + name);
    } else {
      out.push_back(std::string(dir) + "/" + name);
    }
    if (colon == std::string_view::npos) {
      break;
    }
    path.remove_prefix(colon + 1);
  }
  return out;
}

std::string choose_executable(const std::vector<std::string>& candidates, const std::string& workdir,
                              const UserInfo* as) {
  if (candidates.size() == 1) {
    return candidates.front();  // a path, or a one-directory PATH: exec's own error says it best
  }
  const std::string* existing = nullptr;
  for (const auto& candidate : candidates) {
    // The child execs after its chdir: a relative candidate means one in its working directory.
    const std::string where = candidate.starts_with('/') || workdir.empty() ? candidate : workdir + "/" + candidate;
    struct stat st {};
    if (::stat(where.c_str(), &st) != 0) {
      continue;
    }
    if (existing == nullptr) {
      existing = &candidate;
    }
    if (!S_ISREG(st.st_mode)) {
      continue;
    }
    const bool runnable =
        as != nullptr ? may_execute(st, *as) : ::faccessat(AT_FDCWD, where.c_str(), X_OK, AT_EACCESS) == 0;
    if (runnable) {
      return candidate;
    }
  }
  return existing != nullptr ? *existing : candidates.front();
}

Expected<Prepared> prepare(const Spec& spec, const DaemonEnv& daemon_env, const UserInfo* own) {
  if (spec.argv.empty() || spec.argv.front().empty()) {
    return Error{"empty command"};
  }
  for (const auto* vars : {&spec.base_env, &spec.env}) {
    for (const auto& [key, value] : *vars) {
      if (!valid_name(key)) {
        return Error{"bad environment variable name '" + key + "'"};
      }
    }
  }
  for (const auto& name : spec.inherit) {
    if (!valid_name(name)) {
      return Error{"bad environment variable name '" + name + "'"};
    }
  }
  Prepared p;
  p.argv = spec.argv;
  std::optional<UserInfo> user;
  if (!spec.user.empty()) {
    auto resolved = resolve_user(spec.user);
    if (!resolved) {
      return Error{resolved.error()};
    }
    user = std::move(resolved.value());
  }
  p.env = build_env(daemon_env, user ? &*user : own, spec);
  p.workdir = spec.workdir;
  if (user) {
    if (p.workdir.empty()) {
      p.workdir = user->home;
      p.workdir_optional = true;
    }
    // Running a job as the daemon's own user needs no credential change (and a non-root daemon could
    // not make one).
    if (user->uid != ::geteuid()) {
      p.user = std::move(user);
    }
  }
  p.executable = choose_executable(exec_candidates(spec.argv.front(), p.env), p.workdir, p.user ? &*p.user : nullptr);
  return p;
}

}  // namespace tend::process::detail
