#include "core/version.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "core/tree_fold.hpp"
#include "objects/limits.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::core {

using namespace dvt::objects;

namespace {

[[noreturn]] void bad(const Hash32& id, const std::string& why) {
    throw Error(ErrorKind::corrupt, "tree " + id.hex() + ": " + why);
}

std::uint64_t add_checked(std::uint64_t a, std::uint64_t b, const Hash32& id) {
    if (b > UINT64_MAX - a) bad(id, "sizes overflow");
    return a + b;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------- sources

std::optional<PackEntry> StoreObjects::chunk(const Hash32& id) const {
    auto loc = m_store.locate(id);
    if (!loc) return std::nullopt;
    return loc->entry;
}

struct PackObjects::Impl {
    // A version may name thousands of packs: at most kMaxOpen are open at once (the least recently read is closed
    // and opened again when needed), so that a check of the whole version stays within 1,024 descriptors.
    static constexpr std::size_t kMaxOpen = 32;
    struct Pack {
        std::filesystem::path path;
        std::string what;
        std::shared_ptr<util::Fd> fd;  // null while closed
        std::uint64_t used = 0;
    };
    std::vector<Pack> packs;
    std::mutex mu;  // packs' descriptors
    std::vector<std::size_t> open;  // packs with a descriptor
    std::uint64_t tick = 0;

    std::shared_ptr<util::Fd> fd_of(std::size_t i) {
        std::lock_guard g(mu);
        auto& p = packs[i];
        p.used = ++tick;
        if (p.fd) return p.fd;
        if (open.size() >= kMaxOpen) {
            auto oldest = std::min_element(open.begin(), open.end(),
                                           [&](std::size_t a, std::size_t b) { return packs[a].used < packs[b].used; });
            packs[*oldest].fd.reset();  // a reader still using it keeps it open until it is done
            open.erase(oldest);
        }
        p.fd = std::make_shared<util::Fd>(util::open_read(p.path));
        open.push_back(i);
        return p.fd;
    }
    struct Ref {
        const PackEntry* entry;
        std::size_t pack;
    };
    std::vector<Ref> index;  // every entry of every pack, sorted by id
    const ObjectStore* fallback = nullptr;

    const Ref* find(const Hash32& id) const {
        auto it = std::lower_bound(index.begin(), index.end(), id,
                                   [](const Ref& r, const Hash32& x) { return r.entry->id < x; });
        return it != index.end() && it->entry->id == id ? &*it : nullptr;
    }
};

PackObjects::PackObjects(const std::vector<SealedPack>& packs, const ObjectStore* fallback)
    : m(std::make_unique<Impl>()) {
    m->fallback = fallback;
    for (std::size_t i = 0; i < packs.size(); ++i) {
        m->packs.push_back(Impl::Pack{packs[i].path, "pack " + packs[i].ref.id.hex(), nullptr, 0});
        for (const auto& e : packs[i].entries) m->index.push_back(Impl::Ref{&e, i});
    }
    std::sort(m->index.begin(), m->index.end(),
              [](const Impl::Ref& a, const Impl::Ref& b) { return a.entry->id < b.entry->id; });
}

PackObjects::~PackObjects() = default;

Bytes PackObjects::read(const Hash32& id) const {
    if (const auto* r = m->find(id)) {
        Bytes out;
        auto fd = m->fd_of(r->pack);
        read_record(fd->get(), *r->entry, out, m->packs[r->pack].what);
        return out;
    }
    if (m->fallback) return m->fallback->read(id);
    throw Error(ErrorKind::not_found, "object " + id.hex() + " not found");
}

Tree PackObjects::tree(const Hash32& id) const {
    if (const auto* r = m->find(id); r && r->entry->type != ObjectType::tree)
        throw Error(ErrorKind::corrupt, "object " + id.hex() + " is named as a tree but stored as a " +
                                            type_name(r->entry->type));
    Bytes b = read(id);
    try {
        return Tree::decode(b);
    } catch (const Error& e) {
        throw Error(e.kind(), std::string(e.what()) + " (object " + id.hex() + ")");
    }
}

FileObject PackObjects::file(const Hash32& id) const {
    if (const auto* r = m->find(id); r && r->entry->type != ObjectType::file)
        throw Error(ErrorKind::corrupt, "object " + id.hex() + " is named as a file object but stored as a " +
                                            type_name(r->entry->type));
    Bytes b = read(id);
    try {
        return FileObject::decode(b);
    } catch (const Error& e) {
        throw Error(e.kind(), std::string(e.what()) + " (object " + id.hex() + ")");
    }
}

std::optional<PackEntry> PackObjects::chunk(const Hash32& id) const {
    if (const auto* r = m->find(id)) return *r->entry;
    if (m->fallback)
        if (auto loc = m->fallback->locate(id)) return loc->entry;
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------- shapes

TreeShape measure_tree(const VersionObjects& objs, const Hash32& root, TreeShapes* memo) {
    TreeShapes local;
    TreeShapes& done = memo ? *memo : local;
    auto open = [&](const Hash32& id) { return std::optional<std::pair<Tree, TreeShape>>({objs.tree(id), {}}); };
    auto add = [&](TreeShape& acc, const Hash32& tree, const TreeEntry& e, const TreeShape* sub) {
        if (sub) {
            if (sub->files + sub->dirs == 0) bad(e.id, "an empty directory (a tree records none)");
            if (sub->bytes != e.size)
                bad(tree, "directory '" + e.name + "' has size " + std::to_string(e.size) + " but holds " +
                              std::to_string(sub->bytes) + " bytes");
            acc.files += sub->files;
            acc.dirs += 1 + sub->dirs;
            acc.bytes = add_checked(acc.bytes, sub->bytes, tree);
            acc.depth = std::max(acc.depth, sub->depth + 1);
            acc.longest = std::max(acc.longest, e.name.size() + 1 + sub->longest);
        } else {
            acc.files += 1;
            acc.bytes = add_checked(acc.bytes, e.size, tree);
            acc.longest = std::max(acc.longest, e.name.size());
        }
        if (acc.files + acc.dirs > kMaxVersionEntries)
            bad(tree, "more than " + std::to_string(kMaxVersionEntries) + " paths below it (the limit of a version)");
        if (acc.depth > kMaxTreeDepth)
            bad(tree, "directories nest deeper than the limit of " + std::to_string(kMaxTreeDepth));
        if (acc.longest > kMaxPathLength)
            bad(tree, "a path below it is longer than " + std::to_string(kMaxPathLength) + " bytes");
    };
    auto too_deep = [&](const std::vector<Hash32>&) {
        bad(root, "directories nest deeper than the limit of " + std::to_string(kMaxTreeDepth));
    };
    return *fold_tree(root, done, open, add, too_deep);  // open() throws rather than fail, so there is a result
}

TreeShape measure_commit(const VersionObjects& objs, const Commit& c, TreeShapes* memo) {
    TreeShape s = measure_tree(objs, c.tree, memo);
    if (s.files != c.files)
        throw Error(ErrorKind::corrupt, "commit states " + std::to_string(c.files) + " files but its tree holds " +
                                            std::to_string(s.files));
    if (s.bytes != c.bytes)
        throw Error(ErrorKind::corrupt, "commit states " + std::to_string(c.bytes) + " bytes but its tree holds " +
                                            std::to_string(s.bytes));
    return s;
}

// ---------------------------------------------------------------------------------------------------- versions

VersionCheck check_version(const VersionObjects& objs, const Commit& c, const VersionCheckOptions& o) {
    VersionCheck r;
    TreeShapes shapes;
    r.shape = measure_commit(objs, c, &shapes);
    // every distinct file object with the size its entries give it (two entries naming one object must agree)
    std::unordered_map<Hash32, std::uint64_t, Hash32Hasher> files;
    for (const auto& [tid, shape] : shapes)
        for (const auto& e : objs.tree(tid).entries) {
            if (e.kind != EntryKind::file && e.kind != EntryKind::executable) continue;
            auto [it, fresh] = files.emplace(e.id, e.size);
            if (!fresh && it->second != e.size)
                throw Error(ErrorKind::corrupt, "file object " + e.id.hex() + " is named with two different sizes");
        }
    for (const auto& [fid, size] : files) {
        FileObject f;
        try {
            f = objs.file(fid);
        } catch (const Error& e) {
            if (o.require_files || e.kind() != ErrorKind::not_found) throw;
            continue;
        }
        if (f.size != size)
            throw Error(ErrorKind::corrupt, "file object " + fid.hex() + " holds " + std::to_string(f.size) +
                                                " bytes but its tree entry says " + std::to_string(size));
        ++r.file_objects;
        for (const auto& ch : f.chunks) {
            if (c.chunker && ch.size > c.chunker->max_size)
                throw Error(ErrorKind::corrupt, "chunk " + ch.id.hex() + " of file object " + fid.hex() + " has " +
                                                    std::to_string(ch.size) + " bytes, more than the commit's chunker max " +
                                                    std::to_string(c.chunker->max_size));
            auto e = objs.chunk(ch.id);
            if (!e) {
                if (!o.require_chunks) continue;
                throw Error(ErrorKind::corrupt, "chunk " + ch.id.hex() + " of file object " + fid.hex() +
                                                    " is in none of the packs");
            }
            if (e->type != ObjectType::chunk || e->raw_len != ch.size)
                throw Error(ErrorKind::corrupt, "chunk " + ch.id.hex() + " of file object " + fid.hex() + " is " +
                                                    std::to_string(e->raw_len) + " bytes (a " + type_name(e->type) +
                                                    " record), its manifest says " + std::to_string(ch.size));
            ++r.chunks;
        }
    }
    return r;
}

CheckedFile read_file_checked(const ObjectStore& store, const Hash32& file_id, std::uint64_t entry_size,
                              const std::string& path) {
    CheckedFile out;
    out.file = store.read_file_object(file_id);
    if (out.file.size != entry_size)
        throw Error(ErrorKind::corrupt, "file object " + file_id.hex() + " of " + path + " holds " +
                                            std::to_string(out.file.size) + " bytes but its tree entry says " +
                                            std::to_string(entry_size));
    out.chunks.reserve(out.file.chunks.size());
    for (const auto& c : out.file.chunks) {
        auto loc = store.locate(c.id);
        if (!loc) throw Error(ErrorKind::not_found, "chunk " + c.id.hex() + " of " + path + " is missing");
        if (loc->entry.type != ObjectType::chunk || loc->entry.raw_len != c.size)
            throw Error(ErrorKind::corrupt, "chunk " + c.id.hex() + " of " + path + " is " +
                                                std::to_string(loc->entry.raw_len) + " bytes, its manifest says " +
                                                std::to_string(c.size));
        out.chunks.push_back(*loc);
    }
    return out;
}

}  // namespace dvt::core
