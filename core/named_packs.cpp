#include "core/named_packs.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "objects/limits.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::core {

using namespace dvt::objects;

void check_path_fits(std::string_view path) {
    if (path.size() > kMaxPathLength)
        throw Error(ErrorKind::corrupt, "path '" + std::string(path.substr(0, 64)) + "...' is " +
                                            std::to_string(path.size()) + " bytes long (a path may have at most " +
                                            std::to_string(kMaxPathLength) + ")");
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

struct NamedPackObjects::Impl {
    const VersionObjects& inner;
    struct Named {
        PackEntry entry;
        bool partial;  // in a partial pack here
        bool present;  // its bytes are here and verified: a complete pack, or the partial pack its index row points to
        std::size_t pack;  // index into paths
    };
    std::vector<Named> objects;  // sorted by id
    // The named packs' files (a delta record names its base inside): opened when a delta is checked, not kept open,
    // so a version of thousands of packs is checked within 1,024 descriptors.
    std::vector<std::filesystem::path> paths;
    std::vector<std::string> whats;
    mutable std::mutex chains_mutex;
    mutable std::unordered_set<Hash32, Hash32Hasher> chains_ok;  // delta chunks whose chain was checked
    mutable std::atomic<bool> not_fetched{false};
    bool index_absent = false;  // a named partial pack whose index was not fetched (a partial pull by locator)

    explicit Impl(const VersionObjects& i) : inner(i) {}

    // The entry in a named pack, or corrupt: one in a complete pack first, then one fetched into a partial pack, then
    // one in the part of a partial pack not fetched. The same object may lie in several named packs (a re-pack copies
    // live objects of sparse packs into a new one; a later version may name the old pack again), of which a pull
    // fetched it into one only: a record is read only where its bytes are (an entry not present is never read).
    const Named& find(const Hash32& id, const char* what) const {
        auto it = std::lower_bound(objects.begin(), objects.end(), id,
                                   [](const Named& n, const Hash32& h) { return n.entry.id < h; });
        const Named* fetched_here = nullptr;
        const Named* absent = nullptr;
        for (; it != objects.end() && it->entry.id == id; ++it) {
            if (!it->partial) return *it;
            if (it->present) {
                if (!fetched_here) fetched_here = &*it;
            } else if (!absent) {
                absent = &*it;
            }
        }
        if (fetched_here) return *fetched_here;
        if (!absent) {
            if (index_absent) {  // it may lie in the part of such a pack that was not fetched
                not_fetched = true;
                throw Error(ErrorKind::not_found, std::string(what) + " " + id.hex() + " was not fetched (partial pack)");
            }
            throw Error(ErrorKind::corrupt, std::string(what) + " " + id.hex() + " lies in no pack the commit names");
        }
        return *absent;
    }
    void require_present(const Named& n, const char* what) const {
        if (n.present) return;
        not_fetched = true;
        throw Error(ErrorKind::not_found, std::string(what) + " " + n.entry.id.hex() + " was not fetched (partial pack)");
    }
};

NamedPackObjects::NamedPackObjects(const VersionObjects& inner, const ObjectStore& store, const Commit& c,
                                   const std::vector<SealedPack>& received)
    : m(std::make_unique<Impl>(inner)) {
    for (const auto& p : c.packs) {
        // the locator's pack holds the locator only, which no tree reaches: nothing of the version is read from it,
        // and a repository that pulled the version whole does not have it (docs/format.md, "Locator")
        if (c.locator && p.id == c.locator->pack) continue;
        auto r = std::find_if(received.begin(), received.end(), [&](const SealedPack& s) { return s.ref.id == p.id; });
        std::vector<PackEntry> entries;
        bool partial = false;
        // of a partial pack: the objects whose index row points to it (verified there); an object fetched into
        // another pack is not present in this one, whatever its id
        std::unordered_set<Hash32, Hash32Hasher> fetched;
        std::size_t pack_no = m->paths.size();
        m->whats.push_back("pack " + p.id.hex());
        if (r != received.end()) {
            entries = r->entries;
            m->paths.push_back(r->path);
        } else {
            auto info = store.pack_by_id(p.id);
            std::filesystem::path file;
            if (info) {
                if (info->ref.length != p.length || info->ref.index_offset != p.index_offset)
                    throw Error(ErrorKind::corrupt, "the commit names pack " + p.id.hex() +
                                                        " with another length or index offset than the pack has");
                partial = info->partial;
                file = store.file_of(*info);
                if (partial)
                    for (const auto& id : store.objects_in_pack(info->num)) fetched.insert(id);
            } else if (std::error_code ec; std::filesystem::exists(store.partial_path(p.id), ec)) {
                partial = true;  // a partial pack whose rows `fsck --repair` cleared: none of its objects counts
                file = store.partial_path(p.id);
            } else {
                throw Error(ErrorKind::not_found, "the commit names pack " + p.id.hex() + ", which is not here");
            }
            std::optional<PackIndex> read;
            try {
                read = read_pack_index(util::open_read(file).get(), "pack " + p.id.hex());
            } catch (const Error& e) {
                if (!partial || e.kind() != ErrorKind::corrupt) throw;
            }
            if (!read) {
                // a partial pack whose index was not fetched (a pull of some paths through a locator fetches the
                // byte ranges on them only): its objects are those indexed; others may be in it (not fetched)
                m->index_absent = true;
                m->paths.push_back(file);
                if (info)
                    for (const auto& id : store.objects_in_pack(info->num))
                        if (auto loc = store.locate(id); loc && loc->pack_num == info->num)
                            m->objects.push_back(Impl::Named{loc->entry, true, true, pack_no});
                continue;
            }
            PackIndex pi = std::move(*read);
            m->paths.push_back(file);
            if (pi.length != p.length || pi.index_offset != p.index_offset)
                throw Error(ErrorKind::corrupt, "the commit names pack " + p.id.hex() +
                                                    " with another length or index offset than the pack has");
            entries = std::move(pi.entries);
        }
        for (auto& e : entries) {
            bool present = !partial || fetched.count(e.id) > 0;
            m->objects.push_back(Impl::Named{e, partial, present, pack_no});
        }
    }
    std::sort(m->objects.begin(), m->objects.end(),
              [](const Impl::Named& a, const Impl::Named& b) { return a.entry.id < b.entry.id; });
}

NamedPackObjects::~NamedPackObjects() = default;

Tree NamedPackObjects::tree(const Hash32& id) const {
    m->require_present(m->find(id, "tree"), "tree");
    Tree t = m->inner.tree(id);
    for (const auto& e : t.entries) {
        if (e.name.size() > kMaxNameBytes) check_path_fits(e.name);  // throws
        if (e.kind == EntryKind::symlink && e.target.size() > kMaxPathLength)
            throw Error(ErrorKind::corrupt, "tree " + id.hex() + ": symlink '" + e.name + "' has a target of " +
                                                std::to_string(e.target.size()) + " bytes");
    }
    return t;
}

FileObject NamedPackObjects::file(const Hash32& id) const {
    m->require_present(m->find(id, "file object"), "file object");
    return m->inner.file(id);
}

std::optional<PackEntry> NamedPackObjects::chunk(const Hash32& id) const {
    const Impl::Named* first = &m->find(id, "chunk");
    // a chunk named twice (a full record and a delta): the full one in a complete pack reads alone
    for (auto it = std::lower_bound(m->objects.begin(), m->objects.end(), id,
                                    [](const Impl::Named& x, const Hash32& h) { return x.entry.id < h; });
         it != m->objects.end() && it->entry.id == id; ++it)
        if (!it->partial && !is_delta(it->entry.compression)) return it->entry;
    const Impl::Named& n = *first;
    if (!is_delta(n.entry.compression)) return n.entry;
    {
        std::lock_guard g(m->chains_mutex);
        if (m->chains_ok.count(id)) return n.entry;
    }
    // Its chain (docs/format.md, "Delta records"): each base, as the record in the named pack names it, lies in a
    // named pack too, is a chunk and has a depth one less (so the walk ends within kMaxDeltaDepth steps).
    const Impl::Named* cur = &n;
    while (is_delta(cur->entry.compression)) {
        // a record in the part of a partial pack not fetched cannot be read: the chain is checked as far as it is
        // here (a pull of some paths fetches the chains of their chunks; a read verifies every level anyway)
        if (!cur->present) return n.entry;
        Hash32 b = record_delta_base(util::open_read(m->paths[cur->pack]).get(), cur->entry, m->whats[cur->pack]);
        const Impl::Named& base = m->find(b, "delta base");
        if (base.entry.type != ObjectType::chunk || base.entry.depth + 1 != cur->entry.depth)
            throw Error(ErrorKind::corrupt, "delta chunk " + cur->entry.id.hex() + " of depth " +
                                                std::to_string(cur->entry.depth) + " names base " + b.hex() + ", a " +
                                                type_name(base.entry.type) + " of depth " +
                                                std::to_string(base.entry.depth));
        cur = &base;
    }
    std::lock_guard g(m->chains_mutex);
    m->chains_ok.insert(id);
    return n.entry;
}

bool NamedPackObjects::not_fetched() const { return m->not_fetched; }

}  // namespace dvt::core
