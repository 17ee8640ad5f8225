#include "hooks/lockfile.hpp"

#include <cstdlib>
#include <sstream>

#include "hooks/git.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::hooks {

namespace fs = std::filesystem;

namespace {

bool is_hex64(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

bool safe_value(const std::string& v) {
    for (char c : v)
        if (c == '\n' || c == '\r' || c == '\0') return false;
    return !v.empty();
}

// Both absolute and normalised.
bool is_within(const fs::path& p, const fs::path& dir) {
    fs::path rel = p.lexically_relative(dir);
    return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

std::optional<std::string> lock_path_problem(const std::string& path) {
    if (path.empty()) return "path is empty";
    if (path.size() > 4096) return "path is longer than 4096 bytes";
    if (path[0] == '/') return "path must be relative to the lock file's directory, not absolute";
    for (char c : path)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "path contains a control character";
    std::size_t start = 0;
    while (start <= path.size()) {
        auto slash = path.find('/', start);
        std::string comp = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (comp == "..") return "path must not contain '..' (the dataset lies at or below the lock file's directory)";
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return std::nullopt;
}

LockFile parse_lock_file(const std::string& text) {
    LockFile l;
    bool have_version = false, have_commit = false, have_path = false;
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        auto sp = line.find(' ');
        std::string key = line.substr(0, sp), value = sp == std::string::npos ? "" : line.substr(sp + 1);
        auto bad = [&](const std::string& why) {
            return Error(ErrorKind::corrupt, "dvt.lock line " + std::to_string(n) + ": " + why);
        };
        if (!have_version) {
            if (key != "dvt-lock") throw bad("expected 'dvt-lock 1' first");
            if (value != "1") throw Error(ErrorKind::unsupported, "dvt.lock format version '" + value + "' is not known to this dvt");
            have_version = true;
        } else if (key == "commit") {
            if (have_commit) throw bad("more than one commit");
            if (!is_hex64(value)) throw bad("commit must be 64 lowercase hex digits");
            l.commit = value;
            have_commit = true;
        } else if (key == "path") {
            if (have_path) throw bad("more than one path");
            if (auto why = lock_path_problem(value)) throw bad(*why);
            l.path = value;
            have_path = true;
        } else if (key == "peer") {
            if (value.empty()) throw bad("empty peer");
            l.peers.push_back(value);
        } else if (key == "tracker") {
            if (value.empty()) throw bad("empty tracker");
            l.trackers.push_back(value);
        } else {
            throw Error(ErrorKind::unsupported, "dvt.lock line " + std::to_string(n) + ": unknown item '" + key +
                                                    "' (written by a newer dvt?)");
        }
    }
    if (!have_version) throw Error(ErrorKind::corrupt, "dvt.lock is empty");
    if (!have_commit) throw Error(ErrorKind::corrupt, "dvt.lock names no commit");
    if (!have_path) throw Error(ErrorKind::corrupt, "dvt.lock names no path");
    return l;
}

std::string format_lock_file(const LockFile& l) {
    if (!is_hex64(l.commit)) throw Error(ErrorKind::internal, "lock file commit is not 64 hex digits");
    if (auto why = lock_path_problem(l.path))
        throw Error(ErrorKind::usage, "the dataset path '" + l.path + "' cannot be written to dvt.lock: " + *why);
    std::string s =
        "# dvt.lock: the dataset version this code uses. Written by `dvt pin`; commit it to git.\n"
        "# `dvt pull` (no arguments) fetches and checks out exactly this commit; `dvt verify` checks the data.\n"
        "dvt-lock 1\n";
    s += "commit " + l.commit + "\n";
    s += "path " + l.path + "\n";
    for (const auto& p : l.peers) {
        if (!safe_value(p)) throw Error(ErrorKind::usage, "peer cannot be written to dvt.lock");
        s += "peer " + p + "\n";
    }
    for (const auto& t : l.trackers) {
        if (!safe_value(t)) throw Error(ErrorKind::usage, "tracker cannot be written to dvt.lock");
        s += "tracker " + t + "\n";
    }
    return s;
}

std::optional<fs::path> lock_file_path(const fs::path& start) {
    if (const char* f = std::getenv("DVT_PIN_FILE"); f && *f) {
        std::error_code ec;
        fs::path p = fs::absolute(f, ec);
        if (ec) throw_error_code(ec, std::string("cannot resolve DVT_PIN_FILE ") + f);
        return p.lexically_normal();
    }
    auto git = find_git_work_tree(start);
    if (!git) return std::nullopt;
    return git->work_dir / kLockFileName;
}

LockFile read_lock_file(const fs::path& p) {
    auto text = util::try_read_text(p);
    if (!text) throw Error(ErrorKind::not_found, "no lock file " + p.string() + " (run 'dvt pin' in the dataset first)");
    try {
        return parse_lock_file(*text);
    } catch (const Error& e) {
        throw Error(e.kind(), p.string() + ": " + e.what());
    }
}

void write_lock_file(const fs::path& p, const LockFile& lock) { util::atomic_write_file(p, format_lock_file(lock)); }

fs::path dataset_dir(const fs::path& lock_path, const LockFile& lock) {
    if (auto why = lock_path_problem(lock.path))  // parse_lock_file refuses these; a LockFile made in code may not
        throw Error(ErrorKind::corrupt, lock_path.string() + ": " + *why);
    std::error_code ec;
    fs::path lock_abs = fs::absolute(lock_path, ec);
    if (ec) throw_error_code(ec, "cannot resolve " + lock_path.string());
    fs::path d = (lock_abs.parent_path() / lock.path).lexically_normal();
    if (d.has_parent_path() && d.filename().empty()) d = d.parent_path();  // "dir/." normalises to "dir/"
    // The path has no '..', but a symlink on the way (committed to git as easily as the lock file) could still lead
    // elsewhere: the directory it resolves to must lie inside the lock file's directory as it resolves.
    fs::path real_dir = fs::weakly_canonical(lock_abs.parent_path(), ec);
    fs::path real_d;
    if (!ec) real_d = fs::weakly_canonical(d, ec);
    if (ec) throw_error_code(ec, "cannot resolve the dataset path '" + lock.path + "' of " + lock_path.string());
    if (!is_within(real_d, real_dir))
        throw Error(ErrorKind::corrupt, lock_path.string() + ": path '" + lock.path + "' leads to " + real_d.string() +
                                            " through a symlink, outside " + real_dir.string() +
                                            " (the dataset must lie at or below the lock file's directory)");
    return d;
}

}  // namespace dvt::hooks
