// Versions built the way an attacker would build them: every id valid (objects hash to their ids, the pack to its id,
// the commit to its info-hash), the content hostile (sizes that disagree, names no filesystem holds, a record whose
// bytes do not match its id, objects in packs the commit does not name). The pack is written with PackWriter and
// indexed, the commit file written, as if the version had been committed in (or served from) that repository. The
// commit states the files and bytes its tree holds (core::measure_tree), so that only the hostile part is wrong.
#pragma once

#include <string>
#include <tuple>
#include <vector>

#include "core/repository.hpp"
#include "core/version.hpp"
#include "objects/object.hpp"
#include "objects/pack.hpp"
#include "objects/torrent_id.hpp"
#include "util/error.hpp"

namespace dvt::test {

class ForgedVersion {
public:
    explicit ForgedVersion(core::Repository& repo) : m_repo(repo) {}

    // An object whose id is the SHA-256 of its bytes.
    Hash32 add(objects::ObjectType t, const Bytes& raw) {
        Hash32 id = sha256(raw);
        add_as(t, id, raw);
        return id;
    }
    // A record claiming to be `id` (its bytes need not hash to it).
    void add_as(objects::ObjectType t, const Hash32& id, const Bytes& raw) {
        for (const auto& r : m_records)
            if (std::get<1>(r) == id) return;
        m_records.emplace_back(t, id, raw);
    }
    Hash32 chunk(const Bytes& b) { return add(objects::ObjectType::chunk, b); }
    // A file object of `bytes` in one chunk; `claimed` overrides the file object's size field, `chunk_len` the length
    // it gives for its chunk.
    Hash32 file(const Bytes& bytes, std::optional<std::uint64_t> claimed = {}, std::optional<std::uint32_t> chunk_len = {}) {
        objects::FileObject f;
        f.size = claimed.value_or(bytes.size());
        if (!bytes.empty()) f.chunks.push_back({chunk(bytes), chunk_len.value_or(static_cast<std::uint32_t>(bytes.size()))});
        return add(objects::ObjectType::file, f.encode());
    }
    Hash32 tree(std::vector<objects::TreeEntry> entries) {
        std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        objects::Tree t;
        t.entries = std::move(entries);
        return add(objects::ObjectType::tree, t.encode());
    }
    static objects::TreeEntry file_entry(const std::string& name, const Hash32& id, std::uint64_t size) {
        objects::TreeEntry e;
        e.name = name;
        e.kind = objects::EntryKind::file;
        e.size = size;
        e.id = id;
        return e;
    }
    static objects::TreeEntry dir_entry(const std::string& name, const Hash32& id, std::uint64_t size = 0) {
        objects::TreeEntry e;
        e.name = name;
        e.kind = objects::EntryKind::directory;
        e.size = size;
        e.id = id;
        return e;
    }

    // Seals the records into one pack (indexed in the repository), writes commit `tree` naming it and `extra_packs`
    // (or only `extra_packs` with `name_own_pack` false), and returns the commit id. No ref is set.
    Hash32 commit(const Hash32& tree, std::vector<objects::PackRef> extra_packs = {}, bool name_own_pack = true) {
        auto lock = m_repo.write_lock();
        auto& store = m_repo.store();
        objects::PackWriter w(store.tmp_dir(), store.packs_dir());
        for (const auto& [t, id, raw] : m_records)
            w.append(t, id, objects::Compression::none, static_cast<std::uint32_t>(raw.size()), raw);
        auto sealed = w.seal();
        store.add_packs({sealed});
        m_pack = sealed.ref;
        objects::Commit c;
        c.tree = tree;
        try {  // the counts a commit states are those of its tree (when the tree can be measured at all)
            auto shape = core::measure_tree(core::StoreObjects(store), tree);
            c.files = shape.files;
            c.bytes = shape.bytes;
        } catch (const Error&) {
        }
        c.author_name = "Mallory";
        c.author_email = "mallory@example.org";
        c.time = 1700000000;
        c.message = "forged\n";
        if (name_own_pack) extra_packs.push_back(sealed.ref);
        std::sort(extra_packs.begin(), extra_packs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        c.packs = extra_packs;
        Bytes bytes = c.encode();
        Hash32 id = objects::commit_id_of(bytes);
        store.write_commit(id, bytes);
        return id;
    }
    const objects::PackRef& pack() const { return m_pack; }

private:
    core::Repository& m_repo;
    std::vector<std::tuple<objects::ObjectType, Hash32, Bytes>> m_records;
    objects::PackRef m_pack;
};

}  // namespace dvt::test
