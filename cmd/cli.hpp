// The command-line front end: global options, the command table, output helpers, and the single place where errors
// become a one-line message and an exit code (util/error.hpp has the numbers; docs/cli.md documents them).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "core/repository.hpp"

namespace dvt::cmd {

struct Context {
    std::string dir;        // -C
    bool json = false;      // --json
    bool quiet = false;     // -q
    double lock_timeout = -1;
    std::vector<std::string> pathspec;  // everything after "--"
    int exit_status = 0;                // set by a command that printed its own result but must fail (fsck)
    std::ostream* out;
    std::ostream* err;

    std::unique_ptr<core::Repository> open_repo() const;
    void print_json(const nlohmann::json& j) const;
    void info(const std::string& line) const;  // human message on stderr unless -q or --json
    void warn(const std::string& line) const;  // "dvt: warning: ..." on stderr unless -q
    bool progress_enabled() const;             // stderr is a TTY and neither -q nor --json
};

using Register = std::function<void(CLI::App&, Context&)>;
struct CommandEntry {
    const char* name;
    Register reg;
};

// One line per command file (cmd/cmd_*.cpp).
void register_init(CLI::App&, Context&);
void register_commit(CLI::App&, Context&);
void register_status(CLI::App&, Context&);
void register_log(CLI::App&, Context&);
void register_diff(CLI::App&, Context&);
void register_checkout(CLI::App&, Context&);
void register_branch(CLI::App&, Context&);
void register_tag(CLI::App&, Context&);
void register_show(CLI::App&, Context&);
void register_ls_tree(CLI::App&, Context&);
void register_cat_object(CLI::App&, Context&);
void register_rev_parse(CLI::App&, Context&);
void register_fsck(CLI::App&, Context&);
void register_gc(CLI::App&, Context&);
void register_config(CLI::App&, Context&);
void register_serve(CLI::App&, Context&);
void register_clone(CLI::App&, Context&);
void register_pull(CLI::App&, Context&);
void register_remote(CLI::App&, Context&);
void register_push(CLI::App&, Context&);
void register_key(CLI::App&, Context&);
void register_pin(CLI::App&, Context&);
void register_verify(CLI::App&, Context&);
void register_hooks(CLI::App&, Context&);

const std::vector<CommandEntry>& command_table();

int run(int argc, char** argv, std::ostream& out, std::ostream& err);

// output helpers
std::string human_bytes(std::uint64_t n);
std::string format_time(std::int64_t t, int tz_minutes);
std::string iso_time(std::int64_t t, int tz_minutes);
nlohmann::json commit_json(const Hash32& id, const objects::Commit& c);
const char* status_word(char status);

}  // namespace dvt::cmd
