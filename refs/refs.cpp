#include "refs/refs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::refs {

namespace fs = std::filesystem;

bool valid_ref_name(std::string_view n) {
    if (n.empty() || n.size() > 200 || n.front() == '/' || n.back() == '/' || n.front() == '-' || n.back() == '.')
        return false;
    if (n.find("..") != std::string_view::npos || n.find("//") != std::string_view::npos ||
        n.find("@{") != std::string_view::npos || n.ends_with(".lock") || n == "HEAD")
        return false;
    for (char c : n)
        if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f || c == '~' || c == '^' || c == ':' || c == '?' ||
            c == '*' || c == '[' || c == '\\')
            return false;
    // no component may start with '.'
    if (n.front() == '.' || n.find("/.") != std::string_view::npos) return false;
    return true;
}

RefStore::RefStore(fs::path dvt_dir) : m_dir(std::move(dvt_dir)) {}

fs::path RefStore::path_of(const std::string& ref) const {
    if (ref == "HEAD") return m_dir / "HEAD";
    bool ok = (ref.starts_with("refs/heads/") && valid_ref_name(ref.substr(11))) ||
              (ref.starts_with("refs/tags/") && valid_ref_name(ref.substr(10))) ||
              (ref.starts_with("refs/remotes/") && valid_ref_name(ref.substr(13)));
    if (!ok) throw Error(ErrorKind::usage, "invalid ref name '" + ref + "'");
    return m_dir / ref;
}

static std::optional<Hash32> parse_value(const std::string& text, const std::string& what) {
    std::string t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    auto h = Hash32::from_hex(t);
    if (!h) throw Error(ErrorKind::corrupt, what + " does not hold a valid commit id");
    return h;
}

std::optional<Hash32> RefStore::read(const std::string& ref) const {
    auto text = util::try_read_text(path_of(ref));
    if (!text) return std::nullopt;
    return parse_value(*text, ref);
}

Head RefStore::head() const {
    auto text = util::try_read_text(m_dir / "HEAD");
    if (!text) throw Error(ErrorKind::corrupt, "HEAD is missing");
    Head h;
    if (text->starts_with("ref: ")) {
        std::string r = text->substr(5);
        while (!r.empty() && (r.back() == '\n' || r.back() == '\r')) r.pop_back();
        h.branch_ref = r;
        h.commit = read(r);
    } else {
        h.commit = parse_value(*text, "HEAD");
    }
    return h;
}

std::vector<std::pair<std::string, Hash32>> RefStore::list(const std::string& prefix) const {
    std::vector<std::pair<std::string, Hash32>> out;
    fs::path base = m_dir / prefix;
    std::error_code ec;
    if (!fs::exists(base, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(base, ec); it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (ec) break;
        std::error_code fec;
        if (!it->is_regular_file(fec)) continue;  // includes a file that vanished or cannot be stat'ed meanwhile
        fs::path rel = fs::relative(it->path(), base, fec);
        if (fec) throw_error_code(fec, "cannot list refs in " + base.string());
        std::string name = prefix + rel.string();
        if (name.find("/.tmp-") != std::string::npos || it->path().filename().string().starts_with(".tmp-")) continue;
        try {
            if (auto v = read(name)) out.emplace_back(name, *v);
        } catch (const Error&) {
            // invalid names or damaged files are reported by fsck
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

static std::string hex_or_zero(const std::optional<Hash32>& h) { return h ? h->hex() : std::string(64, '0'); }

void RefStore::append_reflog(const std::string& ref, std::optional<Hash32> old_id, std::optional<Hash32> new_id,
                             const std::string& message) const {
    fs::path p = m_dir / "logs" / ref;
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec) throw_error_code(ec, "cannot create directory " + p.parent_path().string());
    std::string msg = message;
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    std::string line = hex_or_zero(old_id) + " " + hex_or_zero(new_id) + " " + std::to_string(now) + "\t" + msg + "\n";
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("cannot open reflog " + p.string());
    util::Fd guard(fd);
    util::write_all(fd, line.data(), line.size(), p.string());
    util::fsync_fd(fd, p.string());
}

void RefStore::update(const std::string& ref, std::optional<Hash32> expected, std::optional<Hash32> new_value,
                      const std::string& message) {
    fs::path p = path_of(ref);
    auto current = read(ref);
    if (current != expected)
        throw Error(ErrorKind::conflict, ref + " changed concurrently (expected " +
                                             (expected ? expected->hex().substr(0, 12) : "nothing") + ", found " +
                                             (current ? current->hex().substr(0, 12) : "nothing") + ")");
    if (new_value) {
        std::error_code ec;
        fs::create_directories(p.parent_path(), ec);
        if (ec) throw_error_code(ec, "cannot create directory " + p.parent_path().string());
        util::atomic_write_file(p, new_value->hex() + "\n");
    } else if (current) {
        if (::unlink(p.c_str()) != 0) throw_errno("cannot delete " + p.string());
        util::fsync_dir(p.parent_path());
    }
    append_reflog(ref, current, new_value, message);
}

void RefStore::set_head_branch(const std::string& ref, const std::string& message) {
    path_of(ref);  // validates
    Head before = head();
    util::atomic_write_file(m_dir / "HEAD", "ref: " + ref + "\n");
    auto after = read(ref);
    if (before.commit != after) append_reflog("HEAD", before.commit, after, message);
}

void RefStore::set_head_detached(const Hash32& id, const std::string& message) {
    Head before = head();
    util::atomic_write_file(m_dir / "HEAD", id.hex() + "\n");
    append_reflog("HEAD", before.commit, id, message);
}

void RefStore::advance_head(std::optional<Hash32> expected, const Hash32& new_value, const std::string& message) {
    Head h = head();
    if (h.branch_ref) {
        update(*h.branch_ref, expected, new_value, message);
        append_reflog("HEAD", expected, new_value, message);
    } else {
        if (h.commit != expected) throw Error(ErrorKind::conflict, "HEAD changed concurrently");
        set_head_detached(new_value, message);
    }
}

// One reflog line "<old> <new> <time>\t<message>", or nullopt if it does not parse.
static std::optional<ReflogEntry> parse_reflog_line(const std::string& line) {
    if (line.size() < 131 || line[64] != ' ' || line[129] != ' ') return std::nullopt;
    ReflogEntry e;
    auto o = Hash32::from_hex(line.substr(0, 64)), n = Hash32::from_hex(line.substr(65, 64));
    if (!o || !n) return std::nullopt;
    if (!o->is_zero()) e.old_id = o;
    if (!n->is_zero()) e.new_id = n;
    auto tab = line.find('\t', 130);
    try {
        e.time = std::stoll(line.substr(130, tab - 130));
    } catch (...) {
        return std::nullopt;
    }
    if (tab != std::string::npos) e.message = line.substr(tab + 1);
    return e;
}

std::vector<ReflogEntry> RefStore::reflog(const std::string& ref) const {
    std::vector<ReflogEntry> out;
    auto text = util::try_read_text(m_dir / "logs" / ref);
    if (!text) return out;
    std::size_t pos = 0;
    while (pos < text->size()) {
        auto nl = text->find('\n', pos);
        if (nl == std::string::npos) break;  // a torn last line (crash during append) is ignored
        std::string line = text->substr(pos, nl - pos);
        pos = nl + 1;
        if (auto e = parse_reflog_line(line)) out.push_back(std::move(*e));
    }
    return out;
}

std::size_t RefStore::drop_reflog_entries(const std::string& ref,
                                          const std::function<bool(const ReflogEntry&)>& drop) {
    fs::path p = m_dir / "logs" / ref;
    auto text = util::try_read_text(p);
    if (!text) return 0;
    std::string kept;
    std::size_t dropped = 0, pos = 0;
    while (pos < text->size()) {
        auto nl = text->find('\n', pos);
        if (nl == std::string::npos) break;  // a torn last line goes with the rewrite
        std::string line = text->substr(pos, nl - pos);
        pos = nl + 1;
        auto e = parse_reflog_line(line);
        if (e && drop(*e)) {
            ++dropped;
            continue;
        }
        kept += line + "\n";
    }
    if (dropped) util::atomic_write_file(p, kept);
    return dropped;
}

std::vector<std::string> RefStore::reflog_names() const {
    std::vector<std::string> out;
    fs::path base = m_dir / "logs";
    std::error_code ec;
    if (!fs::exists(base, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(base, ec); it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (ec) break;
        std::error_code fec;
        if (!it->is_regular_file(fec)) continue;
        fs::path rel = fs::relative(it->path(), base, fec);
        if (fec) throw_error_code(fec, "cannot list reflogs in " + base.string());
        out.push_back(rel.string());
    }
    return out;
}

}  // namespace dvt::refs
