#include "core/version_check.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/tree.hpp"
#include "core/worktree.hpp"
#include "util/error.hpp"

namespace dvt::core {

using namespace dvt::objects;

void check_path_fits(std::string_view path) {
    if (path.size() > kMaxPathBytes)
        throw Error(ErrorKind::corrupt, "path '" + std::string(path.substr(0, 64)) + "...' is " +
                                            std::to_string(path.size()) + " bytes long (a path may have at most " +
                                            std::to_string(kMaxPathBytes) + ")");
    for (std::size_t start = 0; start <= path.size();) {
        auto slash = path.find('/', start);
        std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        if (end - start > kMaxNameBytes)
            throw Error(ErrorKind::corrupt, "name '" + std::string(path.substr(start, 64)) + "...' is " +
                                                std::to_string(end - start) + " bytes long (a name may have at most " +
                                                std::to_string(kMaxNameBytes) + ")");
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
}

namespace {

// What the packs a commit names hold: each object's index entry, sorted by id.
struct NamedObject {
    Hash32 id;
    std::uint32_t raw_len;
    bool partial;  // in a partial pack here: present only if its row says so (`fetched`)
};

class NamedPacks {
public:
    NamedPacks(const ObjectStore& store, const Commit& c) {
        for (const auto& p : c.packs) {
            auto info = store.pack_by_id(p.id);
            auto entries = store.pack_entries(p.id);
            if (!entries)
                throw Error(ErrorKind::not_found, "the commit names pack " + p.id.hex() + ", which is not here");
            if (info && (info->ref.length != p.length || info->ref.index_offset != p.index_offset))
                throw Error(ErrorKind::corrupt, "the commit names pack " + p.id.hex() +
                                                    " with another length or index offset than the pack has");
            bool partial = info && info->partial && !store.is_staged(p.id);
            if (partial)
                for (const auto& id : store.objects_in_pack(info->num)) m_fetched.insert(id);
            for (const auto& e : *entries) m_objects.push_back(NamedObject{e.id, e.raw_len, partial});
        }
        std::sort(m_objects.begin(), m_objects.end(), [](const NamedObject& a, const NamedObject& b) { return a.id < b.id; });
    }

    // The object's entry in a named pack (a complete one first), or nullptr.
    const NamedObject* find(const Hash32& id) const {
        auto it = std::lower_bound(m_objects.begin(), m_objects.end(), id,
                                   [](const NamedObject& o, const Hash32& h) { return o.id < h; });
        const NamedObject* found = nullptr;
        for (; it != m_objects.end() && it->id == id; ++it) {
            if (!it->partial) return &*it;
            found = &*it;
        }
        return found;
    }
    // Present here: in a complete or staged named pack, or fetched into a partial one.
    bool present(const NamedObject& o) const { return !o.partial || m_fetched.count(o.id); }

private:
    std::vector<NamedObject> m_objects;
    std::unordered_set<Hash32, Hash32Hasher> m_fetched;
};

std::string short_id(const Hash32& h) { return h.hex().substr(0, 12); }

}  // namespace

void check_version(const ObjectStore& store, const Commit& c, const VersionCheckOptions& opts) {
    NamedPacks named(store, c);
    const auto& limits = opts.paths;
    // The object `id`: its entry in a named pack. (The type a record was stored with does not matter: the same bytes
    // are the same object, and the decoders decide whether they are a tree or a file object.)
    auto lookup = [&](const Hash32& id, const std::string& what) -> const NamedObject& {
        const NamedObject* o = named.find(id);
        if (!o) throw Error(ErrorKind::corrupt, what + " " + id.hex() + " lies in no pack the commit names");
        return *o;
    };
    // Whether it can be read: present, or absent and excused (false); absent otherwise is not_found.
    auto readable = [&](const NamedObject& o, const std::string& what) {
        if (named.present(o)) return true;
        if (opts.allow_not_fetched) return false;
        throw Error(ErrorKind::not_found, what + " " + o.id.hex() + " is not here");
    };

    // 1. The trees, each once, iteratively; the file objects they name (below the paths) with the sizes named.
    struct Visit {
        Hash32 id;
        std::string path;
        bool inside;  // the whole subtree is below the paths
    };
    std::vector<Visit> stack{{c.tree, "", limits.empty()}};
    std::unordered_set<Hash32, Hash32Hasher> visited;  // trees visited whole
    std::unordered_map<Hash32, std::uint64_t, Hash32Hasher> files;  // file object -> size its entries give
    std::vector<Hash32> file_order;
    bool all_trees_here = true;
    while (!stack.empty()) {
        Visit v = std::move(stack.back());
        stack.pop_back();
        if (v.inside && !visited.insert(v.id).second) continue;
        std::string where = v.path.empty() ? "root tree" : "tree of '" + v.path + "'";
        if (!readable(lookup(v.id, where), where)) {
            all_trees_here = false;
            continue;
        }
        Tree t = store.read_tree(v.id);
        for (const auto& e : t.entries) {
            if (e.name.size() > kMaxNameBytes) check_path_fits(e.name);  // throws
            std::string path = v.path.empty() ? e.name : v.path + "/" + e.name;
            bool inside = v.inside || path_in_limits(path, limits);
            if (e.kind == EntryKind::directory) {
                bool above = !inside && std::any_of(limits.begin(), limits.end(), [&](const std::string& l) {
                    return l.size() > path.size() && l.compare(0, path.size(), path) == 0 && l[path.size()] == '/';
                });
                if (inside || above) stack.push_back(Visit{e.id, path, inside});
                continue;
            }
            if (e.kind == EntryKind::symlink) {
                if (e.target.size() > kMaxPathBytes)
                    throw Error(ErrorKind::corrupt, "symlink '" + path + "' has a target of " +
                                                        std::to_string(e.target.size()) + " bytes");
                continue;
            }
            if (!inside) continue;
            auto [it, fresh] = files.try_emplace(e.id, e.size);
            if (fresh) file_order.push_back(e.id);
            else if (it->second != e.size)
                throw Error(ErrorKind::corrupt, "file object " + e.id.hex() + " is named with sizes " +
                                                    std::to_string(it->second) + " and " + std::to_string(e.size));
        }
    }

    // 2. The file objects (several threads: each is a read, a hash and a decode) and their chunks.
    std::atomic<std::size_t> next{0};
    std::mutex mu;
    std::exception_ptr error;
    auto work = [&] {
        try {
            for (std::size_t i = next++; i < file_order.size(); i = next++) {
                {
                    std::lock_guard g(mu);
                    if (error) return;
                }
                const Hash32& fid = file_order[i];
                std::uint64_t size = files.at(fid);
                if (!readable(lookup(fid, "file object"), "file object")) continue;
                FileObject f = store.read_file_object(fid);
                if (f.size != size)
                    throw Error(ErrorKind::corrupt, "file object " + fid.hex() + " holds " + std::to_string(f.size) +
                                                        " bytes, its tree entry says " + std::to_string(size));
                std::uint64_t sum = 0;
                for (const auto& ch : f.chunks) {
                    sum += ch.size;  // cannot overflow: a file object has fewer than 2^32 chunks of < 2^32 bytes
                    std::string what = "chunk of file object " + short_id(fid) + ":";
                    const NamedObject& o = lookup(ch.id, what);
                    readable(o, what);
                    if (o.raw_len != ch.size)
                        throw Error(ErrorKind::corrupt, "chunk " + ch.id.hex() + " is " + std::to_string(o.raw_len) +
                                                            " bytes, file object " + fid.hex() + " says " +
                                                            std::to_string(ch.size));
                }
                if (sum != f.size)
                    throw Error(ErrorKind::corrupt, "the chunks of file object " + fid.hex() + " add up to " +
                                                        std::to_string(sum) + " bytes, not " + std::to_string(f.size));
            }
        } catch (...) {
            std::lock_guard g(mu);
            if (!error) error = std::current_exception();
        }
    };
    unsigned n = std::min<unsigned>(std::max(1u, std::thread::hardware_concurrency()), 8);
    if (file_order.size() < 64) n = 1;
    std::vector<std::thread> threads;
    for (unsigned t = 1; t < n; ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);

    // 3. The paths, as a checkout will see them (flatten_tree applies the depth and entry limits).
    if (all_trees_here)
        for (const auto& [path, e] : flatten_tree(store, c.tree, limits)) check_path_fits(path);
}

}  // namespace dvt::core
