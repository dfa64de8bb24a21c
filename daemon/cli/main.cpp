// tend: the command-line client of tendd's status socket (and `tend next` and
// `tend import-crontab`, which need no daemon). The commands are a table: see tend_program.cpp.

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/app.hpp"
#include "cli/commands.hpp"

#ifndef TEND_VERSION
#define TEND_VERSION "0.0.0"
#endif

namespace {

/// `tend --generate man|bash-completion`: what the build installs, from the same table.
int generate(const tend::cli::ProgramSpec& program, const std::string& what) {
  if (what == "man") {
    tend::cli::print_man(std::cout, program, TEND_VERSION, tend::cli::man_date());
  } else if (what == "bash-completion") {
    tend::cli::print_bash_completion(std::cout, program);
  } else {
    return tend::cli::usage_error(program, nullptr, "--generate takes man or bash-completion");
  }
  return tend::cli::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  const auto& program = tend::cli::tend_program();
  const auto parsed = tend::cli::parse(program, std::vector<std::string>(argv + 1, argv + argc));
  if (parsed.exit) {
    return *parsed.exit;
  }
  const auto& inv = parsed.invocation;
  if (inv.has("version")) {
    std::cout << "tend " << TEND_VERSION << "\n";
    return tend::cli::exit_ok;
  }
  if (inv.has("generate")) {
    return generate(program, inv.get("generate"));
  }
  if (inv.has("complete")) {
    return tend::cli::complete_names(inv, inv.get("complete"));
  }
  if (inv.command == nullptr) {
    tend::cli::print_help(std::cerr, program, nullptr);
    return tend::cli::exit_usage;
  }
  return inv.command->run(inv);
}
