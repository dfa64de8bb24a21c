// The one table of builtins. Adding one = its file (defining its Builtin) + one line here.

#include "builtins/builtins.hpp"

namespace tend::builtins {

extern const Builtin digest;

namespace {
const Builtin* const kBuiltins[] = {&digest};
}  // namespace

std::span<const Builtin* const> all() { return kBuiltins; }

std::vector<std::string_view> names() {
  std::vector<std::string_view> out;
  for (const auto* b : kBuiltins) {
    out.push_back(b->name);
  }
  return out;
}

void Runner::run(const std::string& builtin, const std::string& job, entries::BuiltinDone done) {
  for (const auto* b : kBuiltins) {
    if (b->name == builtin) {
      b->run(ctx_, job, std::move(done));
      return;
    }
  }
  done(false, "unknown builtin '" + builtin + "'", "");
}

}  // namespace tend::builtins
