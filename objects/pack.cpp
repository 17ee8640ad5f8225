#include "objects/pack.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "objects/limits.hpp"

namespace dvt::objects {

static constexpr std::uint8_t kPackMagic[8] = {'D', 'V', 'T', 'P', 'A', 'C', 'K', 0};
static constexpr std::uint8_t kFooterMagic[8] = {'D', 'V', 'T', 'P', 'I', 'D', 'X', 0};
static constexpr std::size_t kWriteBuffer = 1 << 20;

PackWriter::PackWriter(std::filesystem::path tmp_dir, std::filesystem::path packs_dir)
    : m_tmp_path(util::temp_path(tmp_dir, "pack")), m_packs_dir(std::move(packs_dir)) {
    int fd = ::open(m_tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) throw_errno("cannot create " + m_tmp_path.string());
    m_fd.reset(fd);
    m_buf.reserve(kWriteBuffer + 1024);
    Bytes h;
    put_bytes(h, kPackMagic, 8);
    put_u32(h, kPackVersion);
    put_u32(h, 0);
    emit(h.data(), h.size());
}

PackWriter::~PackWriter() {
    if (!m_sealed) {
        m_fd.reset();
        ::unlink(m_tmp_path.c_str());
    }
}

void PackWriter::emit(const std::uint8_t* p, std::size_t n) {
    if (m_first_block.size() < kBlockSize)
        m_first_block.insert(m_first_block.end(), p, p + std::min<std::size_t>(n, kBlockSize - m_first_block.size()));
    m_merkle.update(p, n);
    m_offset += n;
    if (m_buf.size() + n > kWriteBuffer) flush();
    if (n >= kWriteBuffer) {
        util::write_all(m_fd.get(), p, n, m_tmp_path.string());
        return;
    }
    m_buf.insert(m_buf.end(), p, p + n);
}

void PackWriter::flush() {
    if (!m_buf.empty()) util::write_all(m_fd.get(), m_buf.data(), m_buf.size(), m_tmp_path.string());
    m_buf.clear();
}

std::uint64_t PackWriter::append(ObjectType type, const Hash32& id, Compression c, std::uint32_t raw_len,
                                 std::span<const std::uint8_t> stored, std::uint16_t depth) {
    std::uint64_t at = m_offset;
    if ((is_delta(c)) != (depth != 0) || depth > kMaxDeltaDepth ||
        (is_delta(c) && type != ObjectType::chunk))
        throw Error(ErrorKind::internal, "pack writer: bad delta record " + id.hex());
    if (is_delta(c)) m_version = kPackVersionDelta;
    std::uint8_t h[kRecordHeaderSize] = {static_cast<std::uint8_t>(type), static_cast<std::uint8_t>(c),
                                         static_cast<std::uint8_t>(depth & 0xff), static_cast<std::uint8_t>(depth >> 8)};
    auto sl = static_cast<std::uint32_t>(stored.size());
    std::memcpy(h + 4, &raw_len, 4);  // little-endian host (x86-64, checked in CMake/static_assert below)
    std::memcpy(h + 8, &sl, 4);
    emit(h, sizeof h);
    emit(stored.data(), stored.size());
    m_entries.push_back(PackEntry{id, at, sl, raw_len, type, c, depth});
    return at;
}
static_assert(std::endian::native == std::endian::little, "dvt assumes a little-endian host");

static void encode_index(const std::vector<PackEntry>& entries, Bytes& out) {
    out.reserve(entries.size() * kIndexEntrySize);
    for (const auto& e : entries) {
        put_hash(out, e.id);
        put_u64(out, e.offset);
        put_u32(out, e.stored_len);
        put_u32(out, e.raw_len);
        put_u8(out, static_cast<std::uint8_t>(e.type));
        put_u8(out, static_cast<std::uint8_t>(e.compression));
        put_u16(out, e.depth);
    }
}

SealedPack PackWriter::seal() {
    std::sort(m_entries.begin(), m_entries.end(), [](const PackEntry& a, const PackEntry& b) { return a.id < b.id; });
    for (std::size_t i = 1; i < m_entries.size(); ++i)
        if (m_entries[i - 1].id == m_entries[i].id)
            throw Error(ErrorKind::internal, "pack writer: duplicate object " + m_entries[i].id.hex());
    std::uint64_t index_offset = m_offset;
    Bytes idx;
    encode_index(m_entries, idx);
    emit(idx.data(), idx.size());
    Bytes f;
    put_bytes(f, kFooterMagic, 8);
    put_u64(f, index_offset);
    put_u64(f, m_entries.size());
    put_u32(f, m_version);
    put_u32(f, 0);
    put_hash(f, sha256(idx.data(), idx.size()));
    emit(f.data(), f.size());
    flush();
    if (m_version != kPackVersion) {  // the header was written as version 1 before the first delta record came
        std::uint8_t v[4];
        std::memcpy(v, &m_version, 4);
        std::memcpy(m_first_block.data() + 8, v, 4);
        util::pwrite_all(m_fd.get(), v, 4, 8, m_tmp_path.string());
        m_merkle.rewrite_first_block(m_first_block);
    }
    util::fsync_fd(m_fd.get(), m_tmp_path.string());
    m_fd.reset();

    SealedPack s;
    s.ref.id = m_merkle.root();
    s.ref.length = m_offset;
    s.ref.index_offset = index_offset;
    s.path = m_packs_dir / pack_torrent_name(s.ref.id);
    s.piece_layer = m_merkle.piece_layer(pack_piece_length(m_offset));
    s.entries = std::move(m_entries);
    if (::rename(m_tmp_path.c_str(), s.path.c_str()) != 0) throw_errno("cannot rename pack to " + s.path.string());
    util::fsync_dir(m_packs_dir);
    m_sealed = true;
    return s;
}

// Record types a pack of `version` may hold. A later format adds types (delta records); a reader refuses a type it
// does not know instead of guessing what the bytes mean.
static bool known_record_type(std::uint32_t version, std::uint8_t t) {
    (void)version;  // version 1: chunk, file object, tree
    return t >= static_cast<std::uint8_t>(ObjectType::chunk) && t <= static_cast<std::uint8_t>(ObjectType::tree);
}

void check_entry_limits(const PackEntry& e, const std::string& what) {
    if (is_delta(e.compression)) {
        if (e.type != ObjectType::chunk)
            throw Error(ErrorKind::corrupt, what + ": object " + e.id.hex() + " is a delta record of a " +
                                                type_name(e.type) + " (only chunks may be deltas)");
        if (e.depth < 1 || e.depth > kMaxDeltaDepth)
            throw Error(ErrorKind::corrupt, what + ": delta chunk " + e.id.hex() + " has chain depth " +
                                                std::to_string(e.depth) + " (allowed: 1 to " +
                                                std::to_string(kMaxDeltaDepth) + ")");
        if (e.stored_len < kDeltaBaseIdSize)
            throw Error(ErrorKind::corrupt, what + ": delta chunk " + e.id.hex() + " is too short for its base id");
    } else if (e.depth != 0) {
        throw Error(ErrorKind::corrupt, what + ": object " + e.id.hex() + " has a chain depth but is no delta");
    }
    std::uint32_t max = e.type == ObjectType::chunk ? kMaxChunkSize : kMaxRecordSize;
    if (e.raw_len > max)
        throw Error(ErrorKind::corrupt, what + ": object " + e.id.hex() + " claims " + std::to_string(e.raw_len) +
                                            " bytes, more than the limit of " + std::to_string(max) + " for a " +
                                            type_name(e.type));
    if (e.stored_len > e.raw_len)
        throw Error(ErrorKind::corrupt, what + ": object " + e.id.hex() + " is stored in more bytes than it has");
}

PackIndex parse_pack_index(std::span<const std::uint8_t> tail, std::uint64_t pack_length, const std::string& what) {
    if (tail.size() < kFooterSize) throw Error(ErrorKind::corrupt, what + ": too short for a pack footer");
    if (pack_length > kMaxPackLength)
        throw Error(ErrorKind::corrupt, what + ": " + std::to_string(pack_length) + " bytes exceed the pack length limit");
    ByteReader fr(tail.subspan(tail.size() - kFooterSize), what + " footer");
    auto magic = fr.take(8);
    if (std::memcmp(magic.data(), kFooterMagic, 8) != 0) fr.fail("bad footer magic");
    PackIndex pi;
    pi.length = pack_length;
    pi.index_offset = fr.u64();
    std::uint64_t count = fr.u64();
    std::uint32_t version = fr.u32();
    pi.version = version;
    if (version != kPackVersion && version != kPackVersionDelta)
        throw Error(ErrorKind::unsupported, what + ": pack format version " + std::to_string(version) +
                                                " is not supported by this dvt");
    if (fr.u32() != 0) fr.fail("reserved footer field is not zero");
    Hash32 sum = fr.hash();
    // (no sum below can wrap: pack_length <= 2^34, and index_offset and count are bounded by it first)
    if (pack_length < kPackHeaderSize + kFooterSize || pi.index_offset < kPackHeaderSize ||
        pi.index_offset > pack_length - kFooterSize || count > (pack_length - kFooterSize - pi.index_offset) / kIndexEntrySize ||
        pi.index_offset + count * kIndexEntrySize + kFooterSize != pack_length)
        fr.fail("index offset and count do not match the pack length");
    if (count > kMaxPackObjects)
        fr.fail(std::to_string(count) + " objects exceed the limit of " + std::to_string(kMaxPackObjects) + " per pack");
    std::uint64_t idx_len = count * kIndexEntrySize;
    if (tail.size() < idx_len + kFooterSize) throw Error(ErrorKind::internal, what + ": index not supplied");
    auto idx = tail.subspan(tail.size() - kFooterSize - idx_len, idx_len);
    if (sha256(idx) != sum) throw Error(ErrorKind::corrupt, what + ": index checksum mismatch");
    ByteReader r(idx, what + " index");
    pi.entries.resize(count);
    for (std::uint64_t i = 0; i < count; ++i) {
        auto& e = pi.entries[i];
        e.id = r.hash();
        e.offset = r.u64();
        e.stored_len = r.u32();
        e.raw_len = r.u32();
        std::uint8_t t = r.u8(), c = r.u8();
        if (!known_record_type(version, t)) r.fail("unknown record type " + std::to_string(t));
        if (c > kMaxCompression) r.fail("unknown compression");
        if (c >= 2 && version < kPackVersionDelta) r.fail("delta record in a version-1 pack");
        e.depth = r.u16();
        e.type = static_cast<ObjectType>(t);
        e.compression = static_cast<Compression>(c);
        if (e.offset < kPackHeaderSize || e.offset > pi.index_offset ||
            pi.index_offset - e.offset < kRecordHeaderSize + std::uint64_t{e.stored_len})
            r.fail("record out of range");
        check_entry_limits(e, what);
        if (i > 0 && !(pi.entries[i - 1].id < e.id)) r.fail("index not sorted");
    }
    return pi;
}

PackIndex read_pack_index(int fd, const std::string& what) {
    std::uint64_t len = util::file_size(fd);
    if (len < kPackHeaderSize + kFooterSize) throw Error(ErrorKind::corrupt, what + ": too short to be a pack");
    if (len > kMaxPackLength)
        throw Error(ErrorKind::corrupt, what + ": " + std::to_string(len) + " bytes exceed the pack length limit");
    std::uint8_t head[kPackHeaderSize];
    util::pread_all(fd, head, sizeof head, 0, what);
    if (std::memcmp(head, kPackMagic, 8) != 0) throw Error(ErrorKind::corrupt, what + ": not a dvt pack");
    std::uint32_t version = load_u32(head + 8);
    if (version != kPackVersion && version != kPackVersionDelta)
        throw Error(ErrorKind::unsupported, what + ": pack format version " + std::to_string(version) +
                                                " is not supported by this dvt");
    Bytes foot(kFooterSize);
    util::pread_all(fd, foot.data(), kFooterSize, len - kFooterSize, what);
    std::uint64_t index_offset = load_u64(foot.data() + 8);
    if (index_offset > len - kFooterSize || index_offset < kPackHeaderSize)
        throw Error(ErrorKind::corrupt, what + ": index offset out of range");
    Bytes tail(len - index_offset);
    util::pread_all(fd, tail.data(), tail.size(), index_offset, what);
    PackIndex pi = parse_pack_index(tail, len, what);
    if (pi.version != version) throw Error(ErrorKind::corrupt, what + ": header and footer state other versions");
    return pi;
}

static void check_record_header(const std::uint8_t* h, const PackEntry& e, const std::string& what) {
    if (h[0] != static_cast<std::uint8_t>(e.type) || h[1] != static_cast<std::uint8_t>(e.compression) ||
        load_u16(h + 2) != e.depth || load_u32(h + 4) != e.raw_len || load_u32(h + 8) != e.stored_len)
        throw Error(ErrorKind::corrupt, what + ": record header of object " + e.id.hex() + " is damaged");
}

void decode_record_bytes(std::span<const std::uint8_t> record, const PackEntry& e, Bytes& out, const std::string& what,
                         std::span<const std::uint8_t> base, const Hash32* base_id) {
    if (record.size() != kRecordHeaderSize + e.stored_len) throw Error(ErrorKind::internal, "record span size");
    check_entry_limits(e, what);
    check_record_header(record.data(), e, what);
    auto stored = record.subspan(kRecordHeaderSize);
    if (is_delta(e.compression)) {
        Hash32 named = record_delta_base_bytes(record, e, what);
        if (!base_id || *base_id != named)
            throw Error(ErrorKind::corrupt, what + ": delta chunk " + e.id.hex() + " was given no verified base");
        decode_any_delta(e.compression, stored, e.raw_len, base, out, what + ": object " + e.id.hex());
    } else {
        decode_record(stored, e.compression, e.raw_len, out, what + ": object " + e.id.hex());
    }
    if (sha256(out.data(), out.size()) != e.id)
        throw Error(ErrorKind::corrupt, what + ": object " + e.id.hex() + " does not match its id (damaged data)");
}

void decode_record_unverified(std::span<const std::uint8_t> record, const PackEntry& e, Bytes& out,
                              const std::string& what) {
    if (record.size() != kRecordHeaderSize + e.stored_len) throw Error(ErrorKind::internal, "record span size");
    if (is_delta(e.compression)) throw Error(ErrorKind::internal, "decode_record_unverified: a delta record");
    check_entry_limits(e, what);
    check_record_header(record.data(), e, what);
    decode_record(record.subspan(kRecordHeaderSize), e.compression, e.raw_len, out, what + ": object " + e.id.hex());
}

void read_record(int fd, const PackEntry& e, Bytes& out, const std::string& what, std::span<const std::uint8_t> base,
                 const Hash32* base_id) {
    check_entry_limits(e, what);  // before sizing the buffer
    thread_local Bytes stored;
    stored.resize(kRecordHeaderSize + e.stored_len);
    util::pread_all(fd, stored.data(), stored.size(), e.offset, what);
    decode_record_bytes(stored, e, out, what, base, base_id);
}

Hash32 record_delta_base_bytes(std::span<const std::uint8_t> record_prefix, const PackEntry& e, const std::string& what) {
    check_entry_limits(e, what);
    if (!is_delta(e.compression))
        throw Error(ErrorKind::internal, "record_delta_base: object " + e.id.hex() + " is no delta");
    if (record_prefix.size() < kRecordHeaderSize + kDeltaBaseIdSize) throw Error(ErrorKind::internal, "record prefix size");
    check_record_header(record_prefix.data(), e, what);
    Hash32 b = delta_base_id(record_prefix.subspan(kRecordHeaderSize), what);
    if (b == e.id) throw Error(ErrorKind::corrupt, what + ": delta chunk " + e.id.hex() + " names itself as its base");
    return b;
}

Hash32 record_delta_base(int fd, const PackEntry& e, const std::string& what) {
    check_entry_limits(e, what);
    std::uint8_t buf[kRecordHeaderSize + kDeltaBaseIdSize];
    util::pread_all(fd, buf, sizeof buf, e.offset, what);
    return record_delta_base_bytes(buf, e, what);
}

std::shared_ptr<const Bytes> ChunkCache::get(const Hash32& id, std::uint16_t* depth) const {
    std::lock_guard g(m_mutex);
    auto it = m_items.find(id);
    if (it == m_items.end()) return nullptr;
    m_lru.splice(m_lru.begin(), m_lru, it->second.pos);
    if (depth) *depth = it->second.depth;
    return it->second.raw;
}

void ChunkCache::put(const Hash32& id, std::uint16_t depth, const Bytes& raw) {
    if (raw.size() > m_max / 4) return;
    std::lock_guard g(m_mutex);
    if (m_items.count(id)) return;
    m_lru.push_front(id);
    m_items.emplace(id, Item{std::make_shared<const Bytes>(raw), depth, m_lru.begin()});
    m_bytes += raw.size();
    while (m_bytes > m_max && !m_lru.empty()) {
        auto it = m_items.find(m_lru.back());
        m_bytes -= it->second.raw->size();
        m_items.erase(it);
        m_lru.pop_back();
    }
}

void ChunkCache::clear() {
    std::lock_guard g(m_mutex);
    m_items.clear();
    m_lru.clear();
    m_bytes = 0;
}

void check_delta_base(const std::string& who, const PackEntry& delta, const Hash32& base_id, const PackEntry& base,
                      const std::string& what) {
    const auto want = static_cast<std::uint16_t>(delta.depth - 1);
    if (base.type != ObjectType::chunk)
        throw Error(ErrorKind::corrupt, what + ": " + who + " names base " + base_id.hex() + ", a " +
                                            type_name(base.type) + " (a base must be a chunk)");
    if (base.depth != want)
        throw Error(ErrorKind::corrupt, what + ": " + who + " of depth " + std::to_string(delta.depth) +
                                            " names base " + base_id.hex() + " of depth " + std::to_string(base.depth) +
                                            " (must be " + std::to_string(want) + ")");
    if (delta.compression == Compression::tensor_delta && base.raw_len != delta.raw_len)
        throw Error(ErrorKind::corrupt, what + ": tensor " + who + " of " + std::to_string(delta.raw_len) +
                                            " bytes names base " + base_id.hex() + " of " +
                                            std::to_string(base.raw_len) + " bytes");
}

void read_chain(const RecordAt& top, const RecordFinder& find, Bytes& out, ChunkCache* cache) {
    if (!is_delta(top.entry.compression)) {
        read_record(top.fd, top.entry, out, top.what);
        return;
    }
    // walk down: chain[i] is a delta whose base is bases[i]; chain.back()'s base is either cached or `bottom`
    std::vector<RecordAt> chain{top};
    std::vector<Hash32> bases;
    std::shared_ptr<const Bytes> cached;
    std::optional<RecordAt> bottom;
    while (true) {
        const RecordAt& cur = chain.back();
        check_entry_limits(cur.entry, cur.what);
        Hash32 b = record_delta_base(cur.fd, cur.entry, cur.what);
        bases.push_back(b);
        const std::uint16_t want = static_cast<std::uint16_t>(cur.entry.depth - 1);
        std::uint16_t cached_depth = 0;
        if (cache && (cached = cache->get(b, &cached_depth))) {
            if (cached_depth != want)
                throw Error(ErrorKind::corrupt, cur.what + ": delta chunk " + cur.entry.id.hex() + " of depth " +
                                                    std::to_string(cur.entry.depth) + " names base " + b.hex() +
                                                    " of depth " + std::to_string(cached_depth) + " (must be " +
                                                    std::to_string(want) + ")");
            break;
        }
        auto at = find(b);
        if (!at)
            throw Error(ErrorKind::not_found, "base " + b.hex() + " of delta chunk " + cur.entry.id.hex() + " is missing");
        check_delta_base("delta chunk " + cur.entry.id.hex(), cur.entry, b, at->entry, cur.what);
        if (!is_delta(at->entry.compression)) {
            bottom = std::move(at);
            break;
        }
        chain.push_back(std::move(*at));  // depth strictly falls: at most kMaxDeltaDepth steps
    }
    Bytes a, b;
    std::span<const std::uint8_t> prev;
    if (bottom) {
        read_record(bottom->fd, bottom->entry, a, bottom->what);
        if (cache) cache->put(bottom->entry.id, 0, a);
        prev = a;
    } else {
        prev = *cached;
    }
    for (std::size_t k = chain.size(); k-- > 0;) {
        read_record(chain[k].fd, chain[k].entry, b, chain[k].what, prev, &bases[k]);
        if (cache && k > 0) cache->put(chain[k].entry.id, chain[k].entry.depth, b);
        std::swap(a, b);
        prev = a;
    }
    out = std::move(a);
}

Hash32 compute_pack_id(int fd, std::uint64_t length) {
    MerkleBuilder m;
    Bytes buf(4 << 20);
    for (std::uint64_t off = 0; off < length;) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - off));
        util::pread_all(fd, buf.data(), n, off, "pack");
        m.update(buf.data(), n);
        off += n;
    }
    return m.root();
}

}  // namespace dvt::objects
