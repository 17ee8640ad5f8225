#include "transport/verify_received.hpp"

#include <algorithm>

#include "objects/torrent_id.hpp"
#include "util/fs.hpp"

namespace dvt::transport {

void verify_records(int fd, std::vector<objects::PackEntry> entries, const std::string& what) {
    constexpr std::uint64_t kMaxRun = 4 << 20;
    std::sort(entries.begin(), entries.end(),
              [](const objects::PackEntry& a, const objects::PackEntry& b) { return a.offset < b.offset; });
    Bytes buf, out;
    std::vector<objects::PackEntry> deltas;
    for (std::size_t i = 0; i < entries.size();) {
        if (objects::is_delta(entries[i].compression)) {  // below, through their chains
            deltas.push_back(entries[i++]);
            continue;
        }
        // one read for a run of records that lie next to each other (a pack is written record after record)
        std::size_t j = i + 1;
        std::uint64_t start = entries[i].offset;
        std::uint64_t end = start + objects::kRecordHeaderSize + entries[i].stored_len;
        while (j < entries.size() && entries[j].offset == end &&
               !objects::is_delta(entries[j].compression) &&
               end - start + objects::kRecordHeaderSize + entries[j].stored_len <= kMaxRun) {
            end += objects::kRecordHeaderSize + entries[j].stored_len;
            ++j;
        }
        buf.resize(end - start);
        util::pread_all(fd, buf.data(), buf.size(), start, what);
        for (std::size_t k = i; k < j; ++k) {
            const auto& e = entries[k];
            objects::decode_record_bytes(std::span(buf).subspan(e.offset - start, objects::kRecordHeaderSize + e.stored_len),
                                         e, out, what);
        }
        i = j;
    }
    // A delta record is decoded through its chain when its bases lie in this pack (the usual case: a commit's new
    // chunks and their bases from the pack before are checked when that pack is read in turn); a base in another pack
    // leaves the record checked for its form here (header, base id not its own) and the chain rules are checked by the
    // version check (core/named_packs.hpp); every read decodes and verifies it again.
    if (deltas.empty()) return;
    std::sort(entries.begin(), entries.end(),
              [](const objects::PackEntry& a, const objects::PackEntry& b) { return a.id < b.id; });
    auto find = [&](const Hash32& id) -> std::optional<objects::RecordAt> {
        auto it = std::lower_bound(entries.begin(), entries.end(), id,
                                   [](const objects::PackEntry& e, const Hash32& x) { return e.id < x; });
        if (it == entries.end() || it->id != id) return std::nullopt;
        return objects::RecordAt{fd, *it, what};
    };
    objects::ChunkCache cache(16u << 20);
    for (const auto& e : deltas) {
        try {
            objects::read_chain(objects::RecordAt{fd, e, what}, find, out, &cache);
        } catch (const Error& err) {
            if (err.kind() != ErrorKind::not_found) throw;
        }
    }
}

void verify_delta_chains(const std::vector<objects::SealedPack>& packs, const objects::ObjectStore& store) {
    struct Where {
        const objects::PackEntry* entry;
        std::size_t pack;
    };
    std::vector<Where> index;
    std::vector<util::Fd> fds;
    std::vector<std::string> whats;
    bool any = false;
    for (std::size_t i = 0; i < packs.size(); ++i) {
        for (const auto& e : packs[i].entries) {
            index.push_back(Where{&e, i});
            any |= objects::is_delta(e.compression);
        }
    }
    if (!any) return;
    for (const auto& p : packs) {
        fds.push_back(util::open_read(p.path));
        whats.push_back("pack " + p.ref.id.hex() + " received from the swarm");
    }
    std::sort(index.begin(), index.end(), [](const Where& a, const Where& b) { return a.entry->id < b.entry->id; });
    objects::RecordFinder find = [&](const Hash32& id) -> std::optional<objects::RecordAt> {
        auto it = std::lower_bound(index.begin(), index.end(), id,
                                   [](const Where& w, const Hash32& h) { return w.entry->id < h; });
        if (it != index.end() && it->entry->id == id) return objects::RecordAt{fds[it->pack].get(), *it->entry, whats[it->pack]};
        return store.record_at(id);
    };
    objects::ChunkCache cache(64u << 20);
    Bytes out;
    for (const auto& w : index) {
        if (!objects::is_delta(w.entry->compression)) continue;
        try {
            objects::read_chain(objects::RecordAt{fds[w.pack].get(), *w.entry, whats[w.pack]}, find, out, &cache);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::not_found) throw;
        }
    }
}

objects::SealedPack verify_pack(const std::filesystem::path& file, const objects::PackRef& ref, const Bytes& layer) {
    std::string what = "pack " + ref.id.hex() + " received from the swarm";
    std::uint32_t piece = objects::pack_piece_length(ref.length);
    if (!layer.empty() && objects::root_from_piece_layer(layer, ref.length, piece) != ref.id)
        throw Error(ErrorKind::corrupt, what + ": its piece layer does not hash to its id");
    util::Fd fd = util::open_read(file);
    std::uint64_t len = util::file_size(fd.get());
    if (len != ref.length)
        throw Error(ErrorKind::corrupt, what + " has " + std::to_string(len) + " bytes, the commit names " +
                                            std::to_string(ref.length));
    objects::SealedPack s;
    s.ref = ref;
    if (layer.empty()) {
        objects::MerkleBuilder m;
        Bytes buf(4 << 20);
        for (std::uint64_t off = 0; off < len;) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), len - off));
            util::pread_all(fd.get(), buf.data(), n, off, file.string());
            m.update(buf.data(), n);
            off += n;
        }
        if (m.root() != ref.id) throw Error(ErrorKind::corrupt, what + " does not hash to its id");
        s.piece_layer = m.piece_layer(piece);
    } else {
        s.piece_layer = layer;
    }
    objects::PackIndex pi = objects::read_pack_index(fd.get(), what);
    if (pi.length != ref.length || pi.index_offset != ref.index_offset)
        throw Error(ErrorKind::corrupt, what + ": its index offset differs from the one the commit names");
    verify_records(fd.get(), pi.entries, what);
    util::fsync_fd(fd.get(), file.string());
    s.entries = std::move(pi.entries);
    return s;
}

std::uint64_t verify_objects(const std::filesystem::path& file, const objects::PackRef& ref,
                             const std::vector<objects::PackEntry>& want, const objects::RecordFinder* find) {
    if (want.empty()) return 0;
    util::Fd fd = util::open_read(file);
    Bytes out;
    std::uint64_t bytes = 0;
    std::string what = "pack " + ref.id.hex() + " received from the swarm";
    for (const auto& e : want) {
        if (objects::is_delta(e.compression)) {
            if (!find)
                throw Error(ErrorKind::unsupported, what + ": chunk " + e.id.hex() + " is a delta record, read alone");
            with_settle_retries([&] { objects::read_chain(objects::RecordAt{fd.get(), e, what}, *find, out); });
            bytes += objects::kRecordHeaderSize + e.stored_len;
            continue;
        }
        with_settle_retries([&] { objects::read_record(fd.get(), e, out, what); });  // corrupt unless it hashes to its id
        bytes += objects::kRecordHeaderSize + e.stored_len;
    }
    util::fsync_fd(fd.get(), what);
    return bytes;
}

}  // namespace dvt::transport
