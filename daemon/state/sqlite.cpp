#include "state/sqlite.hpp"

#include <sqlite3.h>

namespace tend::state::sqlite {

namespace {

[[noreturn]] void fail(sqlite3* db, int rc) {
  // sqlite3_errmsg describes the most recent failure on this connection, which is more specific
  // than sqlite3_errstr(rc) ("constraint failed" vs "CHECK constraint failed: attempt >= 1").
  throw Error(rc, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

}  // namespace

Query::~Query() {
  if (stmt_ != nullptr && owned_) {
    sqlite3_finalize(stmt_);
  } else if (stmt_ != nullptr) {
    // reset() repeats the last step's error code; it was already reported by step().
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

void Query::check_bind(int rc) const {
  if (rc != SQLITE_OK) {
    fail(db_, rc);
  }
}

Query& Query::bind(int index, std::int64_t value) {
  check_bind(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Query& Query::bind(int index, int value) {
  check_bind(sqlite3_bind_int(stmt_, index, value));
  return *this;
}

Query& Query::bind(int index, std::string_view value) {
  // SQLITE_TRANSIENT copies: a 64 KiB output costs microseconds, and it makes binding a
  // temporary safe.
  check_bind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Query& Query::bind(int index, std::nullopt_t) {
  check_bind(sqlite3_bind_null(stmt_, index));
  return *this;
}

bool Query::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  fail(db_, rc);
}

void Query::run() {
  while (step()) {
  }
}

bool Query::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::int64_t Query::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

int Query::int32(int column) const { return sqlite3_column_int(stmt_, column); }

std::optional<std::int64_t> Query::opt_int64(int column) const {
  if (is_null(column)) {
    return std::nullopt;
  }
  return int64(column);
}

std::optional<int> Query::opt_int32(int column) const {
  if (is_null(column)) {
    return std::nullopt;
  }
  return int32(column);
}

std::string Query::text(int column) const {
  // Fetch the pointer before the size, as the SQLite docs require for a correct byte count.
  const auto* data = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr) {
    return {};
  }
  return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(size)};
}

void Db::StmtDeleter::operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }

Db::Db(const std::string& path) {
  // NOMUTEX: the connection is used by one thread at a time (the constructor's, then the
  // worker's, with the thread start as the hand-over), so SQLite's own locking is overhead.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw Error(rc, message);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Db::~Db() {
  cache_.clear();  // finalize every statement first, or close would leave a zombie connection
  sqlite3_close_v2(db_);
}

void Db::exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw Error(rc, text);
  }
}

sqlite3_stmt* Db::prepare(const std::string& sql, unsigned flags) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), flags, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    fail(db_, rc);
  }
  return stmt;
}

Query Db::query(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    it = cache_.emplace(sql, std::unique_ptr<sqlite3_stmt, StmtDeleter>(prepare(sql, SQLITE_PREPARE_PERSISTENT))).first;
  }
  return {db_, it->second.get()};
}

Query Db::once(const std::string& sql) { return {db_, prepare(sql, 0), true}; }

bool Db::autocommit() const { return sqlite3_get_autocommit(db_) != 0; }

}  // namespace tend::state::sqlite
