#include "core/walk.hpp"

#include <algorithm>

#include "core/version.hpp"
#include "objects/limits.hpp"

namespace dvt::core {

using namespace dvt::objects;

namespace {

// A batch of files to hash: hashed together (Ingest::add_files spreads them over its workers) when it reaches
// either bound, when the stat cache holds back too many rows behind it, and when a directory that has files in it
// is finished (its tree needs their ids).
constexpr std::size_t kBatchFiles = 4096;
constexpr std::uint64_t kBatchBytes = 256ull << 20;
constexpr std::size_t kMaxWaiting = 1u << 16;

struct Item {
    WorkEntry work;
    std::optional<TreeEntry> base;  // the stored entry of the same name
    Hash32 id;                      // file: its id once known; directory: its tree
    std::uint64_t size = 0;         // directory: bytes below
    bool known = false;             // id known (files), or the directory holds something (directories)
};

struct Miss {
    std::size_t item;
    std::optional<std::size_t> slot;  // in the stat cache update
};

struct Frame {
    std::vector<Item> items;
    std::vector<Miss> misses;
};

std::string_view name_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string_view(path) : std::string_view(path).substr(slash + 1);
}

FlatEntry flat(const TreeEntry& e) { return FlatEntry{e.kind, e.size, e.id, e.target}; }
FlatEntry flat(const WorkEntry& e, const Hash32& id) { return FlatEntry{e.kind, e.size, id, e.target}; }

class Walker {
public:
    Walker(Repository& repo, Ingest& ingest, const WalkOptions& o) : m_repo(repo), m_ingest(ingest), m_o(o) {
        if (o.use_cache) m_cache.emplace(repo);
    }

    WalkResult run(const std::optional<Hash32>& base) {
        util::Fd root = open_worktree_root(m_repo.root());
        std::optional<Tree> t;
        if (base) t = m_repo.store().read_tree(*base);
        auto top = directory(root.get(), "", t, 0);
        if (m_o.build) {
            if (top) {
                m_res.built.root = top->id;
            } else {  // nothing at all: the empty tree
                m_res.built.root = m_ingest.put_meta(ObjectType::tree, Tree{}.encode());
            }
        }
        if (m_cache) {
            try {
                m_cache->finish();
            } catch (const Error&) {
                // the cache is an optimisation: a read-only or full .dvt must not fail status or commit
            }
        }
        std::sort(m_res.changes.begin(), m_res.changes.end(),
                  [](const DiffEntry& a, const DiffEntry& b) { return a.path < b.path; });
        return std::move(m_res);
    }

private:
    void change(char status, const std::string& path, std::optional<FlatEntry> before, std::optional<FlatEntry> after) {
        if (status == 'A') ++m_res.added;
        else if (status == 'D') ++m_res.deleted;
        else ++m_res.modified;
        if (m_o.record_changes) m_res.changes.push_back(DiffEntry{path, status, std::move(before), std::move(after)});
    }

    void deleted_tree(const Hash32& id, const std::string& prefix) {
        for (const auto& [p, e] : flatten_tree(m_repo.store(), id)) change('D', prefix + "/" + p, e, std::nullopt);
    }

    [[noreturn]] static void too_big(const std::string& what) {
        throw Error(ErrorKind::unsupported, what + " (docs/format.md, \"Limits\"); nothing was committed");
    }

    // Compares a regular file whose id is known with the stored entry of its path.
    void compare_file(const Item& it) {
        const auto& w = it.work;
        if (!it.base) {
            change('A', w.path, std::nullopt, flat(w, it.id));
        } else if (it.base->kind == EntryKind::directory) {
            // handled when the item was met
        } else if (it.base->kind == EntryKind::symlink) {
            change('T', w.path, flat(*it.base), flat(w, it.id));
        } else if (it.base->kind != w.kind || it.base->id != it.id) {
            change('M', w.path, flat(*it.base), flat(w, it.id));
        }
    }

    void hash_batch() {
        std::vector<const WorkEntry*> files;
        std::vector<std::optional<Hash32>> previous;
        for (Frame* f : m_stack)
            for (const auto& m : f->misses) {
                const Item& it = f->items[m.item];
                files.push_back(&it.work);
                std::optional<Hash32> prev;
                if (it.base && (it.base->kind == EntryKind::file || it.base->kind == EntryKind::executable))
                    prev = it.base->id;
                previous.push_back(prev);
            }
        m_pending_files = 0;
        m_pending_bytes = 0;
        if (files.empty()) return;
        std::vector<std::uint64_t> sizes;
        auto ids = m_ingest.add_files(files, &sizes, m_o.delta_bases ? &previous : nullptr);
        std::size_t k = 0;
        for (Frame* f : m_stack) {
            for (const auto& m : f->misses) {
                Item& it = f->items[m.item];
                it.id = ids[k];
                it.known = true;
                if (sizes[k] != it.work.size) {
                    // the file changed after the scan: record what was read, and do not cache the stale stat data
                    it.work.size = sizes[k];
                    if (m.slot) m_cache->forget(*m.slot);
                } else if (m.slot) {
                    m_cache->set(*m.slot, it.id);
                }
                compare_file(it);
                ++k;
            }
            f->misses.clear();
        }
    }

    // Walks directory `rel` (open as dirfd) against stored tree `base`. With build, returns the directory's entry
    // (its tree stored), or nullopt when it holds no file (empty directories are not tracked).
    std::optional<Item> directory(int dirfd, const std::string& rel, const std::optional<Tree>& base,
                                  std::uint32_t depth) {
        if (m_o.build && depth > kMaxTreeDepth)
            too_big("'" + rel.substr(0, 64) + "...' lies more than " + std::to_string(kMaxTreeDepth) +
                    " directories deep");
        Frame f;
        {
            auto work = m_scanner.read_dir(dirfd, rel);
            f.items.reserve(work.size());
            for (auto& w : work) f.items.push_back(Item{std::move(w), std::nullopt, {}, 0, false});
        }
        // merge with the stored entries by name (both sorted bytewise); stored entries without a work item are gone
        if (base) {
            std::size_t i = 0;
            for (const auto& e : base->entries) {
                while (i < f.items.size() && name_of(f.items[i].work.path) < std::string_view(e.name)) ++i;
                if (i < f.items.size() && name_of(f.items[i].work.path) == e.name) {
                    f.items[i].base = e;
                    continue;
                }
                std::string path = rel.empty() ? e.name : rel + "/" + e.name;
                if (e.kind == EntryKind::directory)
                    deleted_tree(e.id, path);
                else
                    change('D', path, flat(e), std::nullopt);
            }
        }
        m_stack.push_back(&f);
        struct Pop {
            std::vector<Frame*>& s;
            ~Pop() { s.pop_back(); }
        } pop{m_stack};

        for (std::size_t i = 0; i < f.items.size(); ++i) {
            Item& it = f.items[i];
            const WorkEntry& w = it.work;
            if (m_o.build && w.path.size() > kMaxPathLength)
                too_big("path '" + w.path.substr(0, 64) + "...' is longer than " + std::to_string(kMaxPathLength) +
                        " bytes");
            // a stored directory where the work tree has a file (or the other way round): its files are deleted
            if (it.base && it.base->kind == EntryKind::directory && w.kind != EntryKind::directory) {
                deleted_tree(it.base->id, w.path);
                it.base.reset();
            } else if (it.base && it.base->kind != EntryKind::directory && w.kind == EntryKind::directory) {
                change('D', w.path, flat(*it.base), std::nullopt);
                it.base.reset();
            }
            if (w.kind == EntryKind::directory) {
                auto sub = open_subdir(dirfd, w);
                if (!sub) continue;  // gone while scanning
                std::optional<Tree> t;
                if (it.base) t = m_repo.store().read_tree(it.base->id);
                auto d = directory(sub->get(), w.path, t, depth + 1);
                if (d) {
                    it.id = d->id;
                    it.size = d->size;
                    it.known = true;
                }
                continue;
            }
            if (w.kind == EntryKind::symlink) {
                it.known = true;
                if (!it.base)
                    change('A', w.path, std::nullopt, flat(w, {}));
                else if (it.base->kind != EntryKind::symlink)
                    change('T', w.path, flat(*it.base), flat(w, {}));
                else if (it.base->target != w.target)
                    change('M', w.path, flat(*it.base), flat(w, {}));
                continue;
            }
            // a regular file
            std::optional<Hash32> id;
            if (m_cache && m_o.trust_cache) {
                if (m_o.build)
                    id = m_cache->lookup(w, [&](const Hash32& h) { return m_ingest.reach_file(h); });
                else
                    id = m_cache->lookup(w);
            }
            if (id) {
                it.id = *id;
                it.known = true;
                if (m_o.progress) m_o.progress(w.size);
                compare_file(it);
                continue;
            }
            // status: an added file, or one whose kind changed, is reported without reading it
            if (!m_o.build) {
                if (!it.base) {
                    change('A', w.path, std::nullopt, std::nullopt);
                    continue;
                }
                if (it.base->kind != w.kind) {
                    change(it.base->kind == EntryKind::symlink ? 'T' : 'M', w.path, flat(*it.base), std::nullopt);
                    continue;
                }
            }
            std::optional<std::size_t> slot;
            if (m_cache) slot = m_cache->expect(w);
            f.misses.push_back(Miss{i, slot});
            ++m_pending_files;
            m_pending_bytes += w.size;
            if (m_pending_files >= kBatchFiles || m_pending_bytes >= kBatchBytes ||
                (m_cache && m_cache->waiting() >= kMaxWaiting))
                hash_batch();
        }
        if (!f.misses.empty()) hash_batch();  // this directory's ids are needed now (and its ancestors' come along)
        if (!m_o.build) return std::nullopt;

        Tree t;
        std::uint64_t total = 0;
        for (auto& it : f.items) {
            if (!it.known) continue;  // an empty directory, or one gone while scanning
            TreeEntry e;
            e.name = std::string(name_of(it.work.path));
            e.kind = it.work.kind;
            if (it.work.kind == EntryKind::directory) {
                e.size = it.size;
                e.id = it.id;
            } else {
                e.size = it.work.size;
                if (it.work.kind == EntryKind::symlink)
                    e.target = it.work.target;
                else
                    e.id = it.id;
                ++m_res.built.files;
                m_res.built.bytes += e.size;
            }
            total += e.size;
            t.entries.push_back(std::move(e));
        }
        if (t.entries.size() > kMaxTreeEntries)
            too_big("directory '" + rel + "' has more than " + std::to_string(kMaxTreeEntries) + " entries");
        m_entries += t.entries.size();
        if (m_entries > kMaxVersionEntries)
            too_big("the work tree has more than " + std::to_string(kMaxVersionEntries) + " files and directories");
        if (t.entries.empty() && !rel.empty()) return std::nullopt;
        Item out;
        out.id = m_ingest.put_meta(ObjectType::tree, t.encode());
        out.size = total;
        out.known = true;
        return out;
    }

    Repository& m_repo;
    Ingest& m_ingest;
    const WalkOptions& m_o;
    WorkScanner m_scanner;
    std::optional<StatCacheUpdate> m_cache;
    WalkResult m_res;
    std::vector<Frame*> m_stack;
    std::size_t m_pending_files = 0;
    std::uint64_t m_pending_bytes = 0, m_entries = 0;
};

}  // namespace

WalkResult walk_worktree(Repository& repo, const std::optional<Hash32>& base, Ingest& ingest, const WalkOptions& opts) {
    return Walker(repo, ingest, opts).run(base);
}

std::vector<DiffEntry> worktree_changes(Repository& repo, const std::optional<objects::Commit>& head) {
    std::optional<Hash32> base;
    ChunkerParams chunker = repo.chunker_params();
    if (head) {
        measure_commit(StoreObjects(repo.store()), *head);
        base = head->tree;
        chunker = repo.chunker_of(*head);
    }
    Ingest ingest(repo, false, {}, chunker);
    WalkOptions o;
    o.use_cache = chunker == repo.chunker_params();
    return walk_worktree(repo, base, ingest, o).changes;
}

}  // namespace dvt::core
