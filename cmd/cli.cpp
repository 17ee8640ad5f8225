#include "cmd/cli.hpp"

#include <unistd.h>

#include <cstdio>
#include <cmath>
#include <cstdint>
#include <cstdlib>
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
        {"pin", register_pin},           {"verify", register_verify},   {"mount", register_mount},
        {"hooks", register_hooks},       {"torrent", register_torrent},
        {"doctor", register_doctor},
    };
    return table;
}

std::unique_ptr<core::Repository> Context::open_repo() const {
    core::OpenOptions options;
    if (lock_timeout >= 0)  // checked when parsed: 0 .. kMaxLockTimeout seconds, so it fits an int of milliseconds
        options.lock_timeout_ms = static_cast<int>(checked_seconds(lock_timeout, "--lock-timeout", 0, kMaxLockTimeout).count());
    std::ostream* e = err;
    bool q = quiet;
    options.on_lock_wait = [e, q](const std::string& msg) {
        if (!q) *e << "dvt: " << msg << std::endl;
    };
    options.on_notice = [e, q](const std::string& msg) {
        if (!q) *e << "dvt: note: " << escape_text(msg, false) << std::endl;
    };
    return core::Repository::open(dir.empty() ? "." : dir, std::move(options));
}

// Text from a repository need not be UTF-8 (a message, a file name): such bytes become U+FFFD instead of an exception.
std::string json_text(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

void Context::print_json(const nlohmann::json& j) const { *out << json_text(j) << "\n"; }

void Context::info(const std::string& line) const {
    if (!quiet && !json) *err << line << "\n";
}

void Context::warn(const std::string& line) const {
    if (!quiet) *err << "dvt: warning: " << line << "\n";
}

bool Context::progress_enabled() const { return !quiet && !json && ::isatty(2); }

std::uint64_t parse_count(const std::string& text, const std::string& what, std::uint64_t min, std::uint64_t max) {
    auto bad = [&] {
        return Error(ErrorKind::usage, what + " must be a whole number from " + std::to_string(min) + " to " +
                                           std::to_string(max) + ", not '" + escape_text(text, false) + "'");
    };
    if (text.empty() || text.size() > 20) throw bad();
    std::uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') throw bad();
        auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) throw bad();  // would overflow
        v = v * 10 + d;
    }
    if (v < min || v > max) throw bad();
    return v;
}

static std::string seconds_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    return buf;
}

static Error bad_seconds(const std::string& what, double min, double max, const std::string& text) {
    return Error(ErrorKind::usage, what + " must be a number of seconds from " + seconds_text(min) + " to " +
                                       seconds_text(max) + ", not '" + escape_text(text, false) + "'");
}

double parse_seconds(const std::string& text, const std::string& what, double min, double max) {
    // digits, optionally '.' and more digits: no sign, exponent, hex, "inf" or "nan"
    std::size_t i = 0, digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
    if (i < text.size() && text[i] == '.') {
        ++i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
    }
    if (digits == 0 || i != text.size() || text.size() > 32) throw bad_seconds(what, min, max, text);
    double v = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(v) || v < min || v > max) throw bad_seconds(what, min, max, text);
    return v;
}

std::chrono::milliseconds checked_seconds(double seconds, const std::string& what, double min, double max) {
    if (!std::isfinite(seconds) || seconds < min || seconds > max)
        throw bad_seconds(what, min, max, seconds_text(seconds));
    return std::chrono::milliseconds(std::llround(seconds * 1000));
}

CLI::Validator seconds_validator(double min, double max) {
    return CLI::Validator(
        [min, max](std::string& s) -> std::string {
            try {
                parse_seconds(s, "the value", min, max);
                return {};
            } catch (const Error& e) {
                return e.what();
            }
        },
        "SECONDS");
}

namespace {

// The length of the valid UTF-8 sequence at s[i] (0 if the bytes there are not one) and its code point.
std::size_t utf8_at(const std::string& s, std::size_t i, std::uint32_t& cp) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    std::size_t n;
    if (c < 0x80) {
        cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    // overlong forms, surrogates and code points past U+10FFFF are not valid UTF-8
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

bool is_control(std::uint32_t cp) { return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F); }

}  // namespace

std::string quote_name(const std::string& name) {
    bool plain = true;
    for (std::size_t i = 0; i < name.size() && plain;) {
        std::uint32_t cp = 0;
        std::size_t n = utf8_at(name, i, cp);
        if (n == 0 || is_control(cp) || cp == '"' || cp == '\\') plain = false;
        i += n ? n : 1;
    }
    if (plain) return name;
    std::string out = "\"";
    for (std::size_t i = 0; i < name.size();) {
        std::uint32_t cp = 0;
        std::size_t n = utf8_at(name, i, cp);
        if (n > 0 && !is_control(cp)) {
            if (cp == '"' || cp == '\\') out += '\\';
            out.append(name, i, n);
            i += n;
            continue;
        }
        std::size_t bytes = n ? n : 1;  // a C1 character is escaped byte by byte, as git does
        for (std::size_t k = 0; k < bytes; ++k) {
            unsigned char c = static_cast<unsigned char>(name[i + k]);
            switch (c) {
            case '\a': out += "\\a"; break;
            case '\b': out += "\\b"; break;
            case '\t': out += "\\t"; break;
            case '\n': out += "\\n"; break;
            case '\v': out += "\\v"; break;
            case '\f': out += "\\f"; break;
            case '\r': out += "\\r"; break;
            default: {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\%03o", c);
                out += buf;
            }
            }
        }
        i += bytes;
    }
    return out + "\"";
}

std::string escape_text(const std::string& text, bool keep_newlines) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        std::uint32_t cp = 0;
        std::size_t n = utf8_at(text, i, cp);
        char buf[12];
        if (n == 0) {
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(text[i]));
            out += buf;
            ++i;
            continue;
        }
        if (is_control(cp) && !(keep_newlines && (cp == '\n' || cp == '\t'))) {
            std::snprintf(buf, sizeof buf, cp < 0x80 ? "\\x%02x" : "\\u%04x", static_cast<unsigned>(cp));
            out += buf;
        } else {
            out.append(text, i, n);
        }
        i += n;
    }
    return out;
}

std::string indented_message(const std::string& message) {
    std::string text = escape_text(message), out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        out += "    " + text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos) + "\n";
        if (nl == std::string::npos) break;
        pos = nl + 1;
    }
    return out;
}

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
        j["chunker"] = {{"min", c.chunker->min_size}, {"avg", c.chunker->avg_size}, {"max", c.chunker->max_size},
                        {"tensors", c.chunker->tensors}};
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
    app.add_option("--lock-timeout", ctx.lock_timeout, "Seconds to wait for the repository lock (default 60, at most a week)")
        ->check(seconds_validator(0, kMaxLockTimeout));
    for (const auto& c : command_table()) c.reg(app, ctx);

    auto fail = [&](ErrorKind kind, const std::string& msg) {
        err << "dvt: error: " << escape_text(msg, false) << "\n";  // one line, whatever names the message quotes
        if (ctx.json)
            out << json_text(nlohmann::json{
                       {"error", {{"kind", kind_name(kind)}, {"message", msg}, {"exit_code", exit_code(kind)}}}})
                << "\n";
        return exit_code(kind);
    };
    try {
        if (const char* t = std::getenv("DVT_LOCK_TIMEOUT"); t && *t)  // empty: as if unset
            ctx.lock_timeout = parse_seconds(t, "DVT_LOCK_TIMEOUT", 0, kMaxLockTimeout);
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
