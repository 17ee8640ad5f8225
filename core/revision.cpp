#include "core/revision.hpp"

#include <charconv>

namespace dvt::core {

objects::Commit load_commit(Repository& repo, const Hash32& id) {
    auto c = repo.store().read_commit(id);
    if (!c) throw Error(ErrorKind::not_found, "commit " + id.hex() + " is not in this repository");
    return *c;
}

static Hash32 resolve_base(Repository& repo, const std::string& name) {
    auto& refs = repo.refs();
    if (name == "HEAD" || name == "@") {
        auto h = refs.head();
        if (!h.commit) throw Error(ErrorKind::not_found, "HEAD does not name a commit yet (no commits on this branch)");
        return *h.commit;
    }
    if (name.starts_with("refs/")) {
        if (auto v = refs.read(name)) return *v;
        throw Error(ErrorKind::not_found, "unknown ref '" + name + "'");
    }
    std::optional<Hash32> branch, tag;
    if (refs::valid_ref_name(name)) {
        branch = refs.read("refs/heads/" + name);
        tag = refs.read("refs/tags/" + name);
    }
    if (branch && tag && *branch != *tag)
        throw Error(ErrorKind::usage, "'" + name + "' is both a branch and a tag; say refs/heads/" + name +
                                          " or refs/tags/" + name);
    if (branch) return *branch;
    if (tag) return *tag;
    if (name.size() >= 4 && name.size() <= 64 && is_hex(name)) {
        std::string lower = name;
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (lower.size() == 64) {
            auto h = Hash32::from_hex(lower);
            if (repo.store().has_commit(*h)) return *h;
            throw Error(ErrorKind::not_found, "commit " + lower + " is not in this repository");
        }
        std::optional<Hash32> found;
        for (const auto& c : repo.store().list_commits()) {
            if (c.hex().compare(0, lower.size(), lower) == 0) {
                if (found) throw Error(ErrorKind::usage, "commit prefix '" + name + "' is ambiguous");
                found = c;
            }
        }
        if (found) return *found;
    }
    throw Error(ErrorKind::not_found, "unknown revision '" + name + "'");
}

Hash32 resolve_commit(Repository& repo, const std::string& rev) {
    if (rev.empty()) throw Error(ErrorKind::usage, "empty revision");
    auto op = rev.find_first_of("~^");
    Hash32 cur = resolve_base(repo, rev.substr(0, op));
    std::size_t i = op;
    while (i != std::string::npos && i < rev.size()) {
        char kind = rev[i++];
        std::size_t j = i;
        while (j < rev.size() && std::isdigit(static_cast<unsigned char>(rev[j]))) ++j;
        unsigned n = 1;
        if (j > i) {
            auto [p, ec] = std::from_chars(rev.data() + i, rev.data() + j, n);
            if (ec != std::errc()) throw Error(ErrorKind::usage, "bad revision '" + rev + "'");
        }
        if (j < rev.size() && rev[j] != '~' && rev[j] != '^') throw Error(ErrorKind::usage, "bad revision '" + rev + "'");
        if (kind == '~') {
            for (unsigned k = 0; k < n; ++k) {
                auto c = load_commit(repo, cur);
                if (c.parents.empty()) throw Error(ErrorKind::not_found, "revision '" + rev + "' goes past the first commit");
                cur = c.parents[0];
            }
        } else if (n > 0) {
            auto c = load_commit(repo, cur);
            if (c.parents.size() < n) throw Error(ErrorKind::not_found, "revision '" + rev + "' has no such parent");
            cur = c.parents[n - 1];
        }
        i = j;
    }
    return cur;
}

}  // namespace dvt::core
