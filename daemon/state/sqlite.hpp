#pragma once
// A thin RAII layer over the SQLite C API for the state worker: one connection, a cache of
// prepared statements, values bound as parameters only. Errors throw sqlite::Error; the worker
// catches them at each task boundary, so nothing escapes its thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace tend::state::sqlite {

/// A failed SQLite call: what() is SQLite's message; code() its (extended) result code.
class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  /// The SQLite result code.
  [[nodiscard]] int code() const { return code_; }

 private:
  int code_;
};

/// A prepared statement borrowed from the cache; destruction resets it and clears its bindings,
/// so it holds no read snapshot and no stale value once the caller is done. An owned one
/// (Db::once) is finalized instead.
class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* stmt, bool owned = false) : db_(db), stmt_(stmt), owned_(owned) {}
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query(Query&& other) noexcept : db_(other.db_), stmt_(other.stmt_), owned_(other.owned_) { other.stmt_ = nullptr; }
  Query& operator=(Query&&) = delete;

  /// Bind parameter `index` (1-based). Text is copied by SQLite, so temporaries are safe.
  Query& bind(int index, std::int64_t value);
  Query& bind(int index, int value);
  Query& bind(int index, std::string_view value);
  Query& bind(int index, std::nullopt_t);
  template <class T>
  Query& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, std::nullopt);
  }

  /// Advance: true when a row is available, false when the statement is done.
  bool step();
  /// Step to completion (for statements that return no rows).
  void run();

  /// Column accessors for the current row (0-based).
  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] std::int64_t int64(int column) const;
  [[nodiscard]] int int32(int column) const;
  [[nodiscard]] std::optional<std::int64_t> opt_int64(int column) const;
  [[nodiscard]] std::optional<int> opt_int32(int column) const;
  /// Exact bytes (embedded NULs and invalid UTF-8 survive).
  [[nodiscard]] std::string text(int column) const;

 private:
  void check_bind(int rc) const;

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool owned_;
};

/// One connection. Not thread-safe: the owner serialises all use (the state worker thread).
class Db {
 public:
  /// Open or create `path` (parent directory must exist). Throws Error.
  explicit Db(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  /// Run one or more statements without parameters (DDL, BEGIN/COMMIT, pragmas).
  void exec(const char* sql);
  /// The cached prepared statement for `sql` (prepared on first use).
  Query query(const std::string& sql);
  /// A statement prepared for this use only and finalized after it: for what runs once (loading
  /// the state at start) or rarely (the hourly prune), whose compiled programs would otherwise
  /// stay in the cache for good (tens of kB: issue 14).
  Query once(const std::string& sql);
  /// True when no transaction is open (SQLite rolls some errors back on its own).
  [[nodiscard]] bool autocommit() const;
  /// The raw handle, for calls this wrapper does not cover.
  [[nodiscard]] sqlite3* handle() const { return db_; }

 private:
  struct StmtDeleter {
    void operator()(sqlite3_stmt* s) const;
  };
  /// sqlite3_prepare_v3 with `flags`; throws Error.
  sqlite3_stmt* prepare(const std::string& sql, unsigned flags);

  sqlite3* db_ = nullptr;
  // Keyed by the SQL text: statements are few and fixed, and re-preparing a put_run insert
  // thousands of times a second would dominate the cost of the write itself.
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, StmtDeleter>> cache_;
};

}  // namespace tend::state::sqlite
