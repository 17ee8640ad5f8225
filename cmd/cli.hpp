// The command-line front end: global options, the command table, output helpers, and the single place where errors
// become a one-line message and an exit code (util/error.hpp has the numbers; docs/cli.md documents them).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
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
void register_mount(CLI::App&, Context&);
void register_torrent(CLI::App&, Context&);
void register_doctor(CLI::App&, Context&);

const std::vector<CommandEntry>& command_table();

int run(int argc, char** argv, std::ostream& out, std::ostream& err);

// Numbers from the command line or the environment, parsed strictly (docs/cli.md, "Numbers and durations"):
// decimal digits only (no sign, exponent, "inf" or "nan"), within [min, max]; anything else is a usage error that
// names `what` (the option or variable).
std::uint64_t parse_count(const std::string& text, const std::string& what, std::uint64_t min, std::uint64_t max);
// Seconds: digits with an optional fraction ("60", "0.5"), within [min, max].
double parse_seconds(const std::string& text, const std::string& what, double min, double max);
// A duration CLI11 already parsed as a double: finite and within [min, max], else a usage error naming `what`.
std::chrono::milliseconds checked_seconds(double seconds, const std::string& what, double min, double max);
// A CLI11 validator for parse_seconds (so a bad value fails while the command line is parsed, before any command runs).
CLI::Validator seconds_validator(double min, double max);

constexpr double kMaxLockTimeout = 7 * 86400;  // --lock-timeout / DVT_LOCK_TIMEOUT: 0 .. one week
constexpr double kMaxNetworkTimeout = 1e7;     // --timeout, --follow-interval: up to ~115 days

// Text from a repository (names, messages, authors) is hostile until shown otherwise: what reaches a terminal goes
// through these (docs/cli.md, "Names and text in the output").
// quote_name: a file name or symlink target as git prints it: unchanged when it holds no control character (C0, DEL,
// C1), no '"' and no '\\' and is valid UTF-8; else in double quotes with C escapes (\n, \t, \", \\, ...) and octal
// (\033) for the other bytes.
std::string quote_name(const std::string& name);
// escape_text: free text (a commit message, an author) with every control character other than '\n' and '\t' (or
// every one, when keep_newlines is false) and every byte that is not valid UTF-8 shown as \xHH (C1 characters as
// \u0080..\u009f), so that nothing printed can move the cursor or reprogram the terminal.
std::string escape_text(const std::string& text, bool keep_newlines = true);
// A commit message as log and show print it: each line indented by four spaces, escaped (escape_text).
std::string indented_message(const std::string& message);

// output helpers
std::string json_text(const nlohmann::json& j);  // one line; bytes that are not UTF-8 become U+FFFD (never throws)
std::string human_bytes(std::uint64_t n);
std::string format_time(std::int64_t t, int tz_minutes);
std::string iso_time(std::int64_t t, int tz_minutes);
nlohmann::json commit_json(const Hash32& id, const objects::Commit& c);
const char* status_word(char status);

}  // namespace dvt::cmd
