#include "cmd/cli.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <algorithm>
#include <iostream>

#include "util/error.hpp"

namespace dvt::cmd {

const std::vector<CommandEntry>& command_table() {
    static const std::vector<CommandEntry> table = {
        {"init", register_init},         {"commit", register_commit},   {"status", register_status},
        {"log", register_log},           {"diff", register_diff},       {"checkout", register_checkout},
        {"branch", register_branch},     {"tag", register_tag},         {"show", register_show},
        {"ls-tree", register_ls_tree},   {"cat-object", register_cat_object}, {"rev-parse", register_rev_parse},
        {"fsck", register_fsck},         {"gc", register_gc},           {"config", register_config},
        {"serve", register_serve},       {"clone", register_clone},     {"pull", register_pull},
        {"remote", register_remote},     {"push", register_push},       {"key", register_key},
        {"pin", register_pin},         {"verify", register_verify},
        {"hooks", register_hooks},
    };
    return table;
}

std::unique_ptr<core::Repository> Context::open_repo() const {
    core::OpenOptions options;
    if (lock_timeout >= 0) options.lock_timeout_ms = static_cast<int>(lock_timeout * 1000);
    std::ostream* e = err;
    bool q = quiet;
    options.on_lock_wait = [e, q](const std::string& msg) {
        if (!q) *e << "dvt: " << msg << std::endl;
    };
    return core::Repository::open(dir.empty() ? "." : dir, std::move(options));
}

void Context::print_json(const nlohmann::json& j) const { *out << j.dump() << "\n"; }

void Context::info(const std::string& line) const {
    if (!quiet && !json) *err << line << "\n";
}

void Context::warn(const std::string& line) const {
    if (!quiet) *err << "dvt: warning: " << line << "\n";
}

bool Context::progress_enabled() const { return !quiet && !json && ::isatty(2); }

std::string human_bytes(std::uint64_t n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
    else
        std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

static std::tm to_tm(std::int64_t t, int tz_minutes) {
    std::time_t shifted = static_cast<std::time_t>(t + tz_minutes * 60);
    std::tm tm{};
    ::gmtime_r(&shifted, &tm);
    return tm;
}

std::string format_time(std::int64_t t, int tz) {
    std::tm tm = to_tm(t, tz);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
    char z[32];
    int a = tz < 0 ? -tz : tz;
    std::snprintf(z, sizeof z, " %c%02d%02d", tz < 0 ? '-' : '+', a / 60, a % 60);
    return std::string(buf) + z;
}

std::string iso_time(std::int64_t t, int tz) {
    std::tm tm = to_tm(t, tz);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char z[32];
    int a = tz < 0 ? -tz : tz;
    std::snprintf(z, sizeof z, "%c%02d:%02d", tz < 0 ? '-' : '+', a / 60, a % 60);
    return std::string(buf) + z;
}

nlohmann::json commit_json(const Hash32& id, const objects::Commit& c) {
    nlohmann::json parents = nlohmann::json::array();
    for (const auto& p : c.parents) parents.push_back(p.hex());
    nlohmann::json packs = nlohmann::json::array();
    for (const auto& p : c.packs)
        packs.push_back({{"id", p.id.hex()}, {"length", p.length}, {"index_offset", p.index_offset}});
    nlohmann::json j = {{"id", id.hex()},
                        {"tree", c.tree.hex()},
                        {"parents", parents},
                        {"author", {{"name", c.author_name}, {"email", c.author_email}}},
                        {"time", c.time},
                        {"date", iso_time(c.time, c.tz_offset_minutes)},
                        {"message", c.message},
                        {"files", c.files},
                        {"bytes", c.bytes},
                        {"packs", packs}};
    j["format"] = c.format;
    if (c.chunker)
        j["chunker"] = {{"min", c.chunker->min_size}, {"avg", c.chunker->avg_size}, {"max", c.chunker->max_size}};
    if (c.git_commit) j["git_commit"] = *c.git_commit;
    if (c.git_dirty) j["git_dirty"] = *c.git_dirty;
    return j;
}

const char* status_word(char s) {
    switch (s) {
    case 'A': return "added";
    case 'D': return "deleted";
    case 'T': return "typechange";
    default: return "modified";
    }
}

int run(int argc, char** argv, std::ostream& out, std::ostream& err) {
    Context ctx;
    ctx.out = &out;
    ctx.err = &err;
    CLI::App app{"dvt: git for datasets, carried by BitTorrent", "dvt"};
    app.set_version_flag("--version", std::string("dvt ") + DVT_VERSION);
    app.require_subcommand(1);
    app.fallthrough();
    app.add_option("-C", ctx.dir, "Run as if dvt was started in this directory");
    app.add_flag("--json", ctx.json, "Print machine-readable JSON (one document) on stdout");
    app.add_flag("-q,--quiet", ctx.quiet, "Print only the result");
    app.add_option("--lock-timeout", ctx.lock_timeout, "Seconds to wait for the repository lock (default 60)");
    for (const auto& c : command_table()) c.reg(app, ctx);

    auto fail = [&](ErrorKind kind, const std::string& msg) {
        err << "dvt: error: " << msg << "\n";
        if (ctx.json)
            out << nlohmann::json{{"error", {{"kind", kind_name(kind)}, {"message", msg}, {"exit_code", exit_code(kind)}}}}
                       .dump()
                << "\n";
        return exit_code(kind);
    };
    try {
        if (const char* t = std::getenv("DVT_LOCK_TIMEOUT")) ctx.lock_timeout = std::atof(t);
        std::vector<std::string> args;
        bool after = false;
        for (int i = argc - 1; i >= 1; --i) args.push_back(argv[i]);  // CLI11 wants them reversed
        std::vector<std::string> kept;
        for (auto it = args.rbegin(); it != args.rend(); ++it) {
            if (!after && *it == "--") {
                after = true;
                continue;
            }
            (after ? ctx.pathspec : kept).push_back(*it);
        }
        std::reverse(kept.begin(), kept.end());
        app.parse(kept);
        return ctx.exit_status;
    } catch (const CLI::CallForHelp&) {
        out << app.help();
        return 0;
    } catch (const CLI::CallForAllHelp&) {
        out << app.help("", CLI::AppFormatMode::All);
        return 0;
    } catch (const CLI::CallForVersion&) {
        out << "dvt " << DVT_VERSION << "\n";
        return 0;
    } catch (const CLI::ParseError& e) {
        std::string msg = e.what();
        if (msg.empty()) msg = "invalid command line";
        if (auto* sub = app.get_subcommands().empty() ? nullptr : app.get_subcommands().front())
            if (std::string(e.get_name()) == "CallForHelp") {
                out << sub->help();
                return 0;
            }
        return fail(ErrorKind::usage, msg + " (see 'dvt --help')");
    } catch (const Error& e) {
        return fail(e.kind(), e.what());
    } catch (const std::filesystem::filesystem_error& e) {
        return fail(ErrorKind::io, e.what());
    } catch (const std::bad_alloc&) {
        return fail(ErrorKind::internal, "out of memory");
    } catch (const std::exception& e) {
        return fail(ErrorKind::internal, e.what());
    }
}

}  // namespace dvt::cmd
