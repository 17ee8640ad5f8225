#include "objects/store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "objects/index_db.hpp"
#include "objects/limits.hpp"
#include "objects/sqlite_error.hpp"

namespace dvt::objects {

namespace fs = std::filesystem;

// Defined before the constructor: the constructor's cleanup destroys m_readers, which needs the complete type (clang
// instantiates that destructor there; g++ later).
struct ObjectStore::Reader {
    std::unique_ptr<SQLite::Database> db;
    std::unique_ptr<SQLite::Statement> locate;
};

ObjectStore::ObjectStore(fs::path dvt_dir, IndexDb& db)
    : m_dvt_dir(std::move(dvt_dir)),
      m_packs_dir(m_dvt_dir / "packs"),
      m_commits_dir(m_dvt_dir / "commits"),
      m_tmp_dir(m_dvt_dir / "tmp"),
      m_partial_dir(m_dvt_dir / "partial"),
      m_db(db) {}

ObjectStore::~ObjectStore() = default;

fs::path ObjectStore::pack_path(const Hash32& id) const { return m_packs_dir / pack_torrent_name(id); }
fs::path ObjectStore::partial_path(const Hash32& id) const { return m_partial_dir / pack_torrent_name(id); }
fs::path ObjectStore::resume_path(const Hash32& id) const { return m_partial_dir / (id.hex() + ".resume"); }
fs::path ObjectStore::commit_path(const Hash32& id) const { return m_commits_dir / id.hex(); }

static Hash32 blob_hash(const SQLite::Column& c) {
    if (c.getBytes() != 32) throw Error(ErrorKind::corrupt, "index database: malformed id (run dvt fsck --repair)");
    return Hash32::from_bytes({static_cast<const std::uint8_t*>(c.getBlob()), 32});
}

std::int64_t ObjectStore::add_pack(const SealedPack& p) {
    std::lock_guard g(m_db.mutex());
    auto& db = m_db.db();
    SQLite::Statement ins(db,
                          "INSERT INTO packs(id, length, index_offset, piece_layer, partial) VALUES(?,?,?,?,0) "
                          "ON CONFLICT(id) DO UPDATE SET partial=0, piece_layer=excluded.piece_layer WHERE partial=1");
    ins.bind(1, p.ref.id.bytes.data(), 32);
    ins.bind(2, static_cast<std::int64_t>(p.ref.length));
    ins.bind(3, static_cast<std::int64_t>(p.ref.index_offset));
    static const std::uint8_t empty = 0;  // a null pointer would bind SQL NULL, not an empty blob
    ins.bind(4, p.piece_layer.empty() ? &empty : p.piece_layer.data(), static_cast<int>(p.piece_layer.size()));
    ins.exec();
    SQLite::Statement q(db, "SELECT num FROM packs WHERE id=?");
    q.bind(1, p.ref.id.bytes.data(), 32);
    if (!q.executeStep()) throw Error(ErrorKind::internal, "pack row vanished");
    std::int64_t num = q.getColumn(0).getInt64();
    add_partial_objects(num, p.entries);  // the same rows; for a complete pack, all of them
    return num;
}

void ObjectStore::forget_pack(std::int64_t num) {
    std::lock_guard g(m_db.mutex());
    SQLite::Statement d1(m_db.db(), "DELETE FROM objects WHERE pack=?");
    d1.bind(1, num);
    d1.exec();
    SQLite::Statement d2(m_db.db(), "DELETE FROM packs WHERE num=?");
    d2.bind(1, num);
    d2.exec();
}

PackInfo ObjectStore::add_partial_pack(const PackRef& ref) {
    return guarded("registering a partial pack", [&] { return add_partial_pack_row(ref); });
}

namespace {

// Runs `obj` (an INSERT of the 7 columns of the objects table) once per entry of pack `num`.
void write_object_rows(SQLite::Statement& obj, std::int64_t num, const std::vector<PackEntry>& entries) {
    for (const auto& e : entries) {
        obj.bind(1, e.id.bytes.data(), 32);
        obj.bind(2, num);
        obj.bind(3, static_cast<std::int64_t>(e.offset));
        obj.bind(4, static_cast<std::int64_t>(e.stored_len));
        obj.bind(5, static_cast<std::int64_t>(e.raw_len));
        obj.bind(6, static_cast<int>(e.type));
        // the compression column also holds the delta chain depth (compression | depth << 8; docs/format.md, "Index
        // database"), so a format-1 index needs no migration
        obj.bind(7, static_cast<int>(e.compression) | static_cast<int>(e.depth) << 8);
        obj.exec();
        obj.reset();
    }
}

}  // namespace

PackInfo ObjectStore::add_partial_pack_row(const PackRef& ref) {
    std::lock_guard g(m_db.mutex());
    auto& db = m_db.db();
    SQLite::Statement ins(db, "INSERT OR IGNORE INTO packs(id, length, index_offset, piece_layer, partial) "
                              "VALUES(?,?,?,x'',1)");
    ins.bind(1, ref.id.bytes.data(), 32);
    ins.bind(2, static_cast<std::int64_t>(ref.length));
    ins.bind(3, static_cast<std::int64_t>(ref.index_offset));
    ins.exec();
    auto p = pack_by_id(ref.id);
    if (!p) throw Error(ErrorKind::internal, "partial pack row vanished");
    return *p;
}

void ObjectStore::add_partial_objects(std::int64_t num, const std::vector<PackEntry>& entries) {
    std::lock_guard g(m_db.mutex());
    // rows that exist are kept, except that a full record replaces a delta record (compression 2 or 3: is_delta) of the
    // same chunk (it reads alone;
    // a commit stores a chunk again in full when the chain of the delta it has is not complete here)
    SQLite::Statement obj(m_db.db(),
                          "INSERT INTO objects VALUES(?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET pack=excluded.pack, "
                          "offset=excluded.offset, stored_len=excluded.stored_len, raw_len=excluded.raw_len, "
                          "type=excluded.type, compression=excluded.compression "
                          "WHERE (objects.compression & 255) IN (2, 3) AND (excluded.compression & 255) NOT IN (2, 3)");
    write_object_rows(obj, num, entries);
}

void ObjectStore::point_objects(std::int64_t num, const std::vector<PackEntry>& entries) {
    std::lock_guard g(m_db.mutex());
    SQLite::Statement obj(m_db.db(), "INSERT OR REPLACE INTO objects VALUES(?,?,?,?,?,?,?)");
    write_object_rows(obj, num, entries);
}

void ObjectStore::put_file_packs(const std::vector<FilePacks>& file_packs) {
    std::lock_guard g(m_db.mutex());
    SQLite::Statement ins(m_db.db(), "INSERT OR REPLACE INTO file_packs VALUES(?,?)");
    for (const auto& f : file_packs) {
        Bytes ids;
        for (const auto& id : f.packs) ids.insert(ids.end(), id.bytes.begin(), id.bytes.end());
        static const std::uint8_t empty = 0;  // a null pointer would bind SQL NULL, not an empty blob
        ins.bind(1, f.file_id.bytes.data(), 32);
        ins.bind(2, ids.empty() ? &empty : ids.data(), static_cast<int>(ids.size()));
        ins.exec();
        ins.reset();
    }
}

std::int64_t ObjectStore::index_pack_file(const fs::path& p, const Hash32& id) {
    util::Fd fd = util::open_read(p);
    PackIndex pi = read_pack_index(fd.get(), p.string());
    SealedPack s;
    s.ref = PackRef{id, pi.length, pi.index_offset};
    s.path = p;
    s.entries = std::move(pi.entries);
    // The piece layer is derived data: recomputing it means hashing the pack, which also verifies the pack id.
    MerkleBuilder m;
    Bytes buf(4 << 20);
    for (std::uint64_t off = 0; off < pi.length;) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), pi.length - off));
        util::pread_all(fd.get(), buf.data(), n, off, p.string());
        m.update(buf.data(), n);
        off += n;
    }
    if (m.root() != id) throw Error(ErrorKind::corrupt, p.string() + ": pack content does not match its id");
    s.piece_layer = m.piece_layer(pack_piece_length(pi.length));
    return add_pack(s);
}

static std::set<Hash32> pack_names_in(const fs::path& dir) {
    std::set<Hash32> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        if (name.size() != 69 || !name.ends_with(".pack")) continue;
        if (auto h = Hash32::from_hex(name.substr(0, 64))) out.insert(*h);
    }
    if (ec && ec != std::errc::no_such_file_or_directory) throw_error_code(ec, "cannot list " + dir.string());
    return out;
}

std::size_t ObjectStore::reconcile() {
    try {
        return guarded("reconciling the index with packs/", [&] { return reconcile_rows(); });
    } catch (const Error& e) {
        // Opening reads only the header and schema of index.db (objects/index_db.hpp): a page damaged further in is
        // met here first. The index is a cache: rebuilt from the packs, as an unreadable file is at open, so that
        // every command (fsck --repair too) does not fail on it.
        if (e.kind() != ErrorKind::corrupt) throw;
        {
            std::lock_guard g(m_reader_mutex);
            m_readers.clear();
        }
        m_db.replace_damaged(e.what());
        return guarded("reconciling the index with packs/", [&] { return reconcile_rows(); });
    }
}

std::size_t ObjectStore::reconcile_rows() {
    std::lock_guard g(m_db.mutex());
    auto& db = m_db.db();
    // The rows first, then the directories. This runs without the write lock (every open): a pack another process
    // seals and registers meanwhile must not look "gone" (listed before it was there, its row read after), or its
    // rows would be dropped while its commit is being written (fsck saw "tree is missing or damaged"). In this order
    // such a pack is at worst indexed once more (the same rows).
    struct Row {
        std::int64_t num;
        Hash32 id;
        bool partial;
    };
    std::vector<Row> rows;
    {
        SQLite::Statement q(db, "SELECT num, id, partial FROM packs");
        while (q.executeStep())
            rows.push_back(Row{q.getColumn(0).getInt64(), blob_hash(q.getColumn(1)), q.getColumn(2).getInt() != 0});
    }
    std::set<Hash32> on_disk = pack_names_in(m_packs_dir);
    std::set<Hash32> partial_on_disk = pack_names_in(m_partial_dir);
    // A pack that is complete makes its partial copy redundant (a promotion interrupted after the rename).
    for (const auto& id : partial_on_disk)
        if (on_disk.count(id)) {
            std::error_code ec;
            fs::remove(partial_path(id), ec);
            fs::remove(resume_path(id), ec);
        }
    std::set<Hash32> known;
    std::vector<std::int64_t> gone;
    {
        for (const auto& [num, id, partial] : rows) {
            if (!partial && on_disk.count(id))
                known.insert(id);
            else if (partial && partial_on_disk.count(id) && !on_disk.count(id))
                ;  // a partial pack still partial
            else
                gone.push_back(num);
        }
    }
    std::size_t changed = 0;
    if (!gone.empty() || known.size() != on_disk.size()) {
        SQLite::Transaction t(db);
        for (auto num : gone) {
            forget_pack(num);
            ++changed;
        }
        for (const auto& id : on_disk) {
            if (known.count(id)) continue;
            try {
                index_pack_file(pack_path(id), id);
                ++changed;
            } catch (const Error& e) {
                if (e.kind() == ErrorKind::unsupported) throw;
                // A damaged pack is left unindexed; fsck reports it.
            }
        }
        t.commit();
    }
    return changed;
}

std::unique_ptr<ObjectStore::Reader> ObjectStore::take_reader() const {
    {
        std::lock_guard g(m_reader_mutex);
        if (!m_readers.empty()) {
            auto r = std::move(m_readers.back());
            m_readers.pop_back();
            return r;
        }
    }
    auto r = std::make_unique<Reader>();
    r->db = std::make_unique<SQLite::Database>(m_db.db().getFilename(), SQLite::OPEN_READONLY, 60000);
    r->locate = std::make_unique<SQLite::Statement>(
        *r->db, "SELECT pack, offset, stored_len, raw_len, type, compression FROM objects WHERE id=?");
    return r;
}

void ObjectStore::give_reader(std::unique_ptr<Reader> r) const {
    std::lock_guard g(m_reader_mutex);
    m_readers.push_back(std::move(r));
}

std::optional<Location> ObjectStore::locate(const Hash32& id) const {
    return guarded("locating an object", [&] { return locate_row(id); });
}

// Runs the prepared locate statement `q` (reader->locate's shape) for `id`.
static std::optional<Location> run_locate(SQLite::Statement& q, const Hash32& id) {
    std::optional<Location> out;
    q.reset();
    q.bind(1, id.bytes.data(), 32);
    if (q.executeStep()) {
        Location l;
        l.pack_num = q.getColumn(0).getInt64();
        l.entry.id = id;
        l.entry.offset = static_cast<std::uint64_t>(q.getColumn(1).getInt64());
        l.entry.stored_len = static_cast<std::uint32_t>(q.getColumn(2).getInt64());
        l.entry.raw_len = static_cast<std::uint32_t>(q.getColumn(3).getInt64());
        l.entry.type = static_cast<ObjectType>(q.getColumn(4).getInt());
        int c = q.getColumn(5).getInt();
        l.entry.compression = static_cast<Compression>(c & 0xff);
        l.entry.depth = static_cast<std::uint16_t>((c >> 8) & 0xffff);
        out = l;
    }
    q.reset();
    return out;
}

// Runs a prepared "SELECT packs FROM file_packs WHERE file_id=?" for `file_id`.
static std::optional<std::vector<Hash32>> run_file_packs(SQLite::Statement& q, const Hash32& file_id) {
    q.reset();
    q.bind(1, file_id.bytes.data(), 32);
    std::optional<std::vector<Hash32>> out;
    if (q.executeStep()) {
        auto c = q.getColumn(0);
        if (c.getBytes() % 32 == 0) {
            auto p = static_cast<const std::uint8_t*>(c.getBlob());
            out.emplace();
            for (int off = 0; off < c.getBytes(); off += 32) out->push_back(Hash32::from_bytes({p + off, 32}));
        }
    }
    q.reset();
    return out;
}

std::optional<Location> ObjectStore::locate_row(const Hash32& id) const {
    auto reader = take_reader();
    // on an exception the reader is dropped, not returned to the pool
    auto out = run_locate(*reader->locate, id);
    give_reader(std::move(reader));
    return out;
}

std::shared_ptr<util::Fd> ObjectStore::pack_fd(std::int64_t num) const {
    std::lock_guard g(m_fd_mutex);
    auto it = m_fds.find(num);
    if (it != m_fds.end()) {
        it->second.used = ++m_fd_tick;
        return it->second.fd;
    }
    auto info = pack(num);
    if (!info) throw Error(ErrorKind::not_found, "pack #" + std::to_string(num) + " is not indexed");
    auto fd = std::make_shared<util::Fd>(util::open_read(file_of(*info)));
    if (m_fds.size() >= kMaxOpenPacks) {
        auto oldest = std::min_element(m_fds.begin(), m_fds.end(),
                                       [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
        m_fds.erase(oldest);
    }
    m_fds.emplace(num, OpenPack{fd, ++m_fd_tick});
    return fd;
}

void ObjectStore::forget_open_packs() {
    m_chunk_cache.clear();
    std::lock_guard g(m_fd_mutex);
    m_fds.clear();
}

void ObjectStore::read_at(const Location& loc, Bytes& out) const {
    if (!is_delta(loc.entry.compression)) {
        read_record(pack_fd(loc.pack_num)->get(), loc.entry, out, "pack #" + std::to_string(loc.pack_num));
        return;
    }
    auto find = [this](const Hash32& id) -> std::optional<RecordAt> {
        auto l = locate(id);
        if (!l && fetch_from_source({id})) l = locate(id);
        if (!l) return std::nullopt;
        return record_of(*l);
    };
    read_chain(record_of(loc), find, out, &m_chunk_cache);
}

void ObjectStore::read_unverified(const Location& loc, Bytes& out) const {
    if (is_delta(loc.entry.compression)) throw Error(ErrorKind::internal, "read_unverified: a delta record");
    const std::string what = "pack #" + std::to_string(loc.pack_num);
    check_entry_limits(loc.entry, what);  // before sizing the buffer
    thread_local Bytes stored;
    stored.resize(kRecordHeaderSize + loc.entry.stored_len);
    util::pread_all(pack_fd(loc.pack_num)->get(), stored.data(), stored.size(), loc.entry.offset, what);
    decode_record_unverified(stored, loc.entry, out, what);
}

std::optional<RecordAt> ObjectStore::record_at(const Hash32& id) const {
    auto l = locate(id);
    if (!l) return std::nullopt;
    return record_of(*l);
}

RecordAt ObjectStore::record_of(const Location& loc) const {
    auto fd = pack_fd(loc.pack_num);
    return RecordAt{fd->get(), loc.entry, "pack #" + std::to_string(loc.pack_num), fd};
}

Hash32 ObjectStore::delta_base(const Location& loc) const {
    return record_delta_base(pack_fd(loc.pack_num)->get(), loc.entry, "pack #" + std::to_string(loc.pack_num));
}

std::vector<Location> ObjectStore::delta_chain(const Location& loc) const {
    std::vector<Location> out;
    Location cur = loc;
    while (is_delta(cur.entry.compression)) {
        std::string what = "pack #" + std::to_string(cur.pack_num);
        Hash32 b = record_delta_base(pack_fd(cur.pack_num)->get(), cur.entry, what);
        auto l = locate(b);
        if (!l) throw Error(ErrorKind::not_found, "base " + b.hex() + " of delta chunk " + cur.entry.id.hex() + " is missing");
        if (l->entry.type != ObjectType::chunk || l->entry.depth + 1 != cur.entry.depth)
            throw Error(ErrorKind::corrupt, what + ": delta chunk " + cur.entry.id.hex() + " of depth " +
                                                std::to_string(cur.entry.depth) + " names base " + b.hex() + ", a " +
                                                type_name(l->entry.type) + " of depth " + std::to_string(l->entry.depth));
        if (cur.entry.compression == Compression::tensor_delta && l->entry.raw_len != cur.entry.raw_len)
            throw Error(ErrorKind::corrupt, what + ": tensor delta chunk " + cur.entry.id.hex() + " names base " +
                                                b.hex() + " of another length");
        out.push_back(*l);
        cur = *l;
    }
    return out;
}

void ObjectStore::read_many(const std::vector<Location>& locs,
                            const std::function<void(std::size_t, const Bytes&)>& sink) const {
    constexpr std::uint64_t kMaxRun = 4 << 20;
    thread_local Bytes buf;
    Bytes out;
    std::size_t i = 0;
    while (i < locs.size()) {
        if (is_delta(locs[i].entry.compression)) {  // through its chain, one at a time
            read_at(locs[i], out);
            sink(i, out);
            ++i;
            continue;
        }
        // extend a run while the next record starts where this one ends, in the same pack
        std::size_t j = i + 1;
        check_entry_limits(locs[i].entry, "pack #" + std::to_string(locs[i].pack_num));  // before sizing the buffer
        std::uint64_t start = locs[i].entry.offset;
        std::uint64_t end = start + kRecordHeaderSize + locs[i].entry.stored_len;
        while (j < locs.size() && locs[j].pack_num == locs[i].pack_num && locs[j].entry.offset == end &&
               !is_delta(locs[j].entry.compression) &&
               end - start + kRecordHeaderSize + locs[j].entry.stored_len <= kMaxRun) {
            end += kRecordHeaderSize + locs[j].entry.stored_len;
            ++j;
        }
        std::string what = "pack #" + std::to_string(locs[i].pack_num);
        buf.resize(end - start);
        util::pread_all(pack_fd(locs[i].pack_num)->get(), buf.data(), buf.size(), start, what);
        for (std::size_t k = i; k < j; ++k) {
            const auto& e = locs[k].entry;
            decode_record_bytes(std::span(buf).subspan(e.offset - start, kRecordHeaderSize + e.stored_len), e, out,
                                what);
            sink(k, out);
        }
        i = j;
    }
}

void ObjectStore::set_source(std::shared_ptr<ObjectSource> source) {
    std::lock_guard g(m_source_mutex);
    m_source = std::move(source);
}

void ObjectStore::ensure(const std::vector<Hash32>& ids, const std::vector<Hash32>& ahead) const {
    std::vector<Hash32> missing;
    for (const auto& id : ids)
        if (!locate(id)) missing.push_back(id);
    if (missing.empty() && ahead.empty()) return;
    fetch_from_source(missing, ahead);
    for (const auto& id : missing)
        if (!locate(id)) throw Error(ErrorKind::not_found, "object " + id.hex() + " not found");
}

bool ObjectStore::fetch_from_source(const std::vector<Hash32>& missing, const std::vector<Hash32>& ahead) const {
    std::lock_guard g(m_source_mutex);
    if (!m_source) return false;
    if (ahead.empty()) m_source->fetch(missing);
    else m_source->fetch_ahead(missing, ahead);
    return true;
}

Bytes ObjectStore::read(const Hash32& id) const {
    auto loc = locate(id);
    if (!loc && fetch_from_source({id})) loc = locate(id);  // a miss without a source costs one lookup, as before
    if (!loc) throw Error(ErrorKind::not_found, "object " + id.hex() + " not found");
    Bytes out;
    read_at(*loc, out);
    return out;
}

FileObject ObjectStore::read_file_object(const Hash32& id) const {
    Bytes b = read(id);
    try {
        return FileObject::decode(b);
    } catch (const Error& e) {
        throw Error(e.kind(), std::string(e.what()) + " (object " + id.hex() + ")");
    }
}

Tree ObjectStore::read_tree(const Hash32& id) const {
    Bytes b = read(id);
    try {
        return Tree::decode(b);
    } catch (const Error& e) {
        throw Error(e.kind(), std::string(e.what()) + " (object " + id.hex() + ")");
    }
}

static PackInfo pack_row(SQLite::Statement& q) {
    PackInfo p;
    p.num = q.getColumn(0).getInt64();
    p.ref.id = blob_hash(q.getColumn(1));
    p.ref.length = static_cast<std::uint64_t>(q.getColumn(2).getInt64());
    p.ref.index_offset = static_cast<std::uint64_t>(q.getColumn(3).getInt64());
    p.partial = q.getColumn(4).getInt() != 0;
    return p;
}

std::optional<PackInfo> ObjectStore::pack(std::int64_t num) const {
    return guarded("reading a pack row", [&]() -> std::optional<PackInfo> {
        std::lock_guard g(m_db.mutex());
        SQLite::Statement q(m_db.db(), "SELECT num, id, length, index_offset, partial FROM packs WHERE num=?");
        q.bind(1, num);
        if (!q.executeStep()) return std::nullopt;
        return pack_row(q);
    });
}

std::optional<PackInfo> ObjectStore::pack_by_id(const Hash32& id) const {
    return guarded("reading a pack row", [&]() -> std::optional<PackInfo> {
        std::lock_guard g(m_db.mutex());
        SQLite::Statement q(m_db.db(), "SELECT num, id, length, index_offset, partial FROM packs WHERE id=?");
        q.bind(1, id.bytes.data(), 32);
        if (!q.executeStep()) return std::nullopt;
        return pack_row(q);
    });
}

std::vector<PackInfo> ObjectStore::packs() const {
    return guarded("listing packs", [&] {
        std::lock_guard g(m_db.mutex());
        SQLite::Statement q(m_db.db(), "SELECT num, id, length, index_offset, partial FROM packs ORDER BY id");
        std::vector<PackInfo> out;
        while (q.executeStep()) out.push_back(pack_row(q));
        return out;
    });
}

std::vector<Hash32> ObjectStore::objects_in_pack(std::int64_t num) const {
    return guarded("listing the objects of a pack", [&] {
        std::lock_guard g(m_db.mutex());
        SQLite::Statement q(m_db.db(), "SELECT id FROM objects WHERE pack=? ORDER BY id");
        q.bind(1, num);
        std::vector<Hash32> out;
        while (q.executeStep()) out.push_back(blob_hash(q.getColumn(0)));
        return out;
    });
}

Bytes ObjectStore::piece_layer(std::int64_t num) const {
    return guarded("reading a piece layer", [&] {
        std::lock_guard g(m_db.mutex());
        SQLite::Statement q(m_db.db(), "SELECT piece_layer FROM packs WHERE num=?");
        q.bind(1, num);
        if (!q.executeStep()) throw Error(ErrorKind::not_found, "pack #" + std::to_string(num) + " is not indexed");
        auto c = q.getColumn(0);
        auto p = static_cast<const std::uint8_t*>(c.getBlob());
        return Bytes(p, p + c.getBytes());
    });
}

// ---- Writes -------------------------------------------------------------------------------------------------------

std::vector<std::int64_t> ObjectStore::add_packs(const std::vector<SealedPack>& sealed,
                                                 const std::vector<FilePacks>& file_packs) {
    return guarded("registering packs", [&] {
        std::lock_guard g(m_db.mutex());
        SQLite::Transaction t(m_db.db());
        std::vector<std::int64_t> nums;
        for (const auto& p : sealed) nums.push_back(add_pack(p));
        put_file_packs(file_packs);
        t.commit();
        return nums;
    });
}

std::vector<SealedPack> ObjectStore::write_copies(const std::vector<CopyRecord>& records, std::uint64_t pack_target,
                                                  const CodecParams& codec) const {
    std::vector<SealedPack> data_sealed, meta_sealed;
    std::unique_ptr<PackWriter> data, meta;
    Bytes rec, raw, base, stored;
    std::set<std::int64_t> complete;  // packs checked to be complete
    for (const auto& r : records) {
        const PackEntry& e = r.from.entry;
        std::string what = "pack #" + std::to_string(r.from.pack_num);
        if (!complete.count(r.from.pack_num)) {
            auto info = pack(r.from.pack_num);
            if (!info || info->partial)
                throw Error(ErrorKind::internal, "re-packing: object " + e.id.hex() + " is not in a complete pack");
            complete.insert(r.from.pack_num);
        }
        check_entry_limits(e, what);  // before sizing the buffer
        rec.resize(kRecordHeaderSize + e.stored_len);
        auto fd = pack_fd(r.from.pack_num);
        util::pread_all(fd->get(), rec.data(), rec.size(), e.offset, what);
        // verify the very bytes that are copied: decode them (a delta against its verified base) and hash
        if (is_delta(e.compression)) {
            Hash32 bid = record_delta_base_bytes(rec, e, what);
            base = read(bid);  // verified, through its own chain
            decode_record_bytes(rec, e, raw, what, base, &bid);
        } else {
            decode_record_bytes(rec, e, raw, what);
        }
        std::span<const std::uint8_t> body(rec.data() + kRecordHeaderSize, e.stored_len);
        Compression comp = e.compression;
        std::uint16_t depth = e.depth;
        if (r.full && is_delta(comp)) {
            stored.clear();
            comp = encode_record(raw, codec, stored);
            body = stored;
            depth = 0;
        }
        bool is_chunk = e.type == ObjectType::chunk;
        auto& w = is_chunk ? data : meta;
        if (!w) w = std::make_unique<PackWriter>(m_tmp_dir, m_packs_dir);
        w->append(e.type, e.id, comp, e.raw_len, body, depth);
        if (w->size() >= pack_target || w->count() >= kMaxPackObjects) {
            (is_chunk ? data_sealed : meta_sealed).push_back(w->seal());
            w.reset();
        }
    }
    if (data && data->count()) data_sealed.push_back(data->seal());
    if (meta && meta->count()) meta_sealed.push_back(meta->seal());
    for (auto& m : meta_sealed) data_sealed.push_back(std::move(m));
    return data_sealed;
}

void ObjectStore::discard_copies(const std::vector<SealedPack>& sealed) const {
    for (const auto& sp : sealed) {
        if (pack_by_id(sp.ref.id)) continue;
        std::error_code ec;
        std::filesystem::remove(sp.path, ec);  // what cannot be removed now, gc removes (no commit names it)
    }
}

std::vector<std::int64_t> ObjectStore::add_repacked(const std::vector<SealedPack>& sealed,
                                                    const std::vector<std::pair<std::int64_t, PackEntry>>& repoint,
                                                    const std::vector<FilePacks>& file_packs) {
    return guarded("registering re-packed objects", [&] {
        std::lock_guard g(m_db.mutex());
        SQLite::Transaction t(m_db.db());
        std::vector<std::int64_t> nums;
        for (const auto& p : sealed) {
            std::int64_t num = add_pack(p);
            point_objects(num, p.entries);  // the copy wins: the next commit names this pack, not the sparse one
            nums.push_back(num);
        }
        std::map<std::int64_t, std::vector<PackEntry>> by_pack;
        for (const auto& [num, e] : repoint) by_pack[num].push_back(e);
        for (const auto& [num, entries] : by_pack) point_objects(num, entries);
        put_file_packs(file_packs);
        t.commit();
        return nums;
    });
}

void ObjectStore::install_packs(std::vector<SealedPack>& verified) {
    std::vector<fs::path> sources;
    for (auto& sp : verified) {
        fs::path file = sp.path;
        fs::path dest = pack_path(sp.ref.id);
        sources.push_back(file);
        sp.path = dest;
        if (::chmod(file.c_str(), 0444) != 0) throw_errno("cannot chmod " + file.string());
        if (::access(dest.c_str(), F_OK) == 0) continue;  // imported meanwhile (same bytes: same id)
        if (::rename(file.c_str(), dest.c_str()) != 0) throw_errno("cannot move a pack into " + dest.string());
    }
    if (verified.empty()) return;
    util::fsync_dir(m_packs_dir);
    guarded("installing packs", [&] {
        std::lock_guard g(m_db.mutex());
        SQLite::Transaction t(m_db.db());
        for (const auto& sp : verified) add_pack(sp);
        t.commit();
    });
    std::error_code ec;
    for (std::size_t i = 0; i < verified.size(); ++i) {
        if (!fs::equivalent(sources[i], verified[i].path, ec)) fs::remove(sources[i], ec);  // only if the rename was skipped
        fs::remove(resume_path(verified[i].ref.id), ec);
    }
}

void ObjectStore::add_verified_objects(std::int64_t num, const std::vector<PackEntry>& entries) {
    guarded("indexing verified objects", [&] {
        std::lock_guard g(m_db.mutex());
        SQLite::Transaction t(m_db.db());
        add_partial_objects(num, entries);
        t.commit();
    });
}

std::optional<std::vector<Hash32>> ObjectStore::file_packs(const Hash32& file_id) const {
    return guarded("reading file_packs", [&]() -> std::optional<std::vector<Hash32>> {
        std::lock_guard g(m_db.mutex());
        SQLite::Statement q(m_db.db(), "SELECT packs FROM file_packs WHERE file_id=?");
        return run_file_packs(q, file_id);
    });
}

struct IndexSnapshot::Impl {
    const ObjectStore& store;
    std::unique_ptr<ObjectStore::Reader> reader;
    std::unique_ptr<SQLite::Statement> file_packs, pack;
    std::map<Hash32, std::optional<PackInfo>> packs;
    bool open = false;

    // The transaction begins with the first lookup (BEGIN alone takes no lock: a deferred transaction).
    SQLite::Database& db() {
        if (!open) {
            // its lookups are many and scattered over the whole index: a page cache of up to 32 MiB for them (the
            // pool's default is 2 MiB; set back when the snapshot ends)
            reader->db->exec("PRAGMA cache_size=-32768");
            reader->db->exec("BEGIN");
            open = true;
        }
        return *reader->db;
    }
};

IndexSnapshot::IndexSnapshot(const ObjectStore& store) : m(std::make_unique<Impl>(Impl{store, nullptr, {}, {}, {}, false})) {
    m->reader = guarded("opening the index", [&] { return store.take_reader(); });
}

IndexSnapshot::~IndexSnapshot() {
    if (!m->reader) return;
    try {
        m->file_packs.reset();
        m->pack.reset();
        if (m->open) {
            m->reader->db->exec("COMMIT");
            m->reader->db->exec("PRAGMA cache_size=-2000");  // SQLite's default again (frees what is above it)
        }
        m->store.give_reader(std::move(m->reader));
    } catch (const SQLite::Exception&) {
        // a connection that cannot end its transaction is dropped, not returned to the pool
    }
}

std::optional<Location> IndexSnapshot::locate(const Hash32& id) {
    return guarded("locating an object", [&] {
        m->db();
        return run_locate(*m->reader->locate, id);
    });
}

std::optional<std::vector<Hash32>> IndexSnapshot::file_packs(const Hash32& file_id) {
    return guarded("reading file_packs", [&] {
        auto& db = m->db();
        if (!m->file_packs)
            m->file_packs = std::make_unique<SQLite::Statement>(db, "SELECT packs FROM file_packs WHERE file_id=?");
        return run_file_packs(*m->file_packs, file_id);
    });
}

std::optional<PackInfo> IndexSnapshot::pack_by_id(const Hash32& id) {
    if (auto it = m->packs.find(id); it != m->packs.end()) return it->second;
    return guarded("reading a pack row", [&]() -> std::optional<PackInfo> {
        auto& db = m->db();
        if (!m->pack)
            m->pack = std::make_unique<SQLite::Statement>(
                db, "SELECT num, id, length, index_offset, partial FROM packs WHERE id=?");
        auto& q = *m->pack;
        q.reset();
        q.bind(1, id.bytes.data(), 32);
        std::optional<PackInfo> out;
        if (q.executeStep()) out = pack_row(q);
        q.reset();
        if (m->packs.size() < 65536) m->packs.emplace(id, out);  // bounded: a hostile list of ids is looked up anew
        return out;
    });
}

void ObjectStore::forget_packs(const std::vector<Hash32>& ids) {
    guarded("forgetting packs", [&] {
        std::lock_guard g(m_db.mutex());
        SQLite::Transaction t(m_db.db());
        for (const auto& id : ids)
            if (auto info = pack_by_id(id)) forget_pack(info->num);
        // objects that also live in a kept pack lost their row with the forgotten pack: re-point them
        for (const auto& info : packs()) {
            if (info.partial) continue;  // its verified objects keep their own rows
            util::Fd fd = util::open_read(pack_path(info.ref.id));
            add_partial_objects(info.num, read_pack_index(fd.get(), "pack " + info.ref.id.hex()).entries);
        }
        m_db.db().exec("DELETE FROM file_packs");
        t.commit();
    });
}

void ObjectStore::forget_partial_packs(const std::vector<Hash32>& ids) {
    guarded("forgetting partial packs", [&] {
        std::lock_guard g(m_db.mutex());
        SQLite::Transaction t(m_db.db());
        std::vector<Hash32> lost;  // objects whose rows pointed into a forgotten partial pack
        for (const auto& id : ids) {
            auto info = pack_by_id(id);
            if (!info || !info->partial) continue;
            auto rows = objects_in_pack(info->num);
            lost.insert(lost.end(), rows.begin(), rows.end());
            forget_pack(info->num);
        }
        // an object fetched into a partial pack keeps its row there when a complete pack holding it is added later
        // (add_pack keeps rows): re-point it to such a pack rather than lose it
        std::sort(lost.begin(), lost.end());
        if (!lost.empty())
            for (const auto& info : packs()) {
                if (info.partial) continue;
                util::Fd fd = util::open_read(pack_path(info.ref.id));
                std::vector<PackEntry> held;
                for (const auto& e : read_pack_index(fd.get(), "pack " + info.ref.id.hex()).entries)
                    if (std::binary_search(lost.begin(), lost.end(), e.id)) held.push_back(e);
                add_partial_objects(info.num, held);
            }
        t.commit();
    });
}

void ObjectStore::clear_index() {
    guarded("clearing the index", [&] { m_db.clear_all(); });
    std::lock_guard g(m_reader_mutex);
    m_readers.clear();  // they may read a damaged file clear_all() replaced
}

static fs::path pull_lock_path(const fs::path& dvt_dir) { return dvt_dir / "pull.lock"; }

std::optional<util::Fd> ObjectStore::try_lock_pull() const { return util::try_lock_file(pull_lock_path(m_dvt_dir)); }

util::Fd ObjectStore::lock_pull() const {
    auto lock = try_lock_pull();
    if (!lock)
        throw Error(ErrorKind::conflict, "another pull into this repository is in progress (" +
                                             pull_lock_path(m_dvt_dir).string() + ")");
    return std::move(*lock);
}

void ObjectStore::write_commit(const Hash32& id, const Bytes& bytes) const {
    if (commit_id_of(bytes) != id) throw Error(ErrorKind::internal, "write_commit: id does not match bytes");
    if (has_commit(id)) return;
    util::atomic_write_file(commit_path(id), bytes, 0444);
}

bool ObjectStore::has_commit(const Hash32& id) const { return ::access(commit_path(id).c_str(), F_OK) == 0; }

Bytes ObjectStore::read_commit_bytes(const Hash32& id) const {
    auto p = commit_path(id);
    auto fd = util::try_open_read(p);
    if (!fd) throw Error(ErrorKind::not_found, "commit " + id.hex() + " not found");
    std::uint64_t size = util::file_size(fd->get());
    if (size > kMaxCommitSize)  // before reading it (docs/format.md, "Limits")
        throw Error(ErrorKind::corrupt, "commit " + id.hex() + " is damaged (" + std::to_string(size) +
                                            " bytes, more than a commit may have)");
    Bytes b(size);
    if (!b.empty()) util::pread_all(fd->get(), b.data(), b.size(), 0, p.string());
    if (commit_id_of(b) != id)
        throw Error(ErrorKind::corrupt, "commit " + id.hex() + " is damaged (its bytes do not match its id)");
    return b;
}

std::optional<Commit> ObjectStore::read_commit(const Hash32& id) const {
    if (!has_commit(id)) return std::nullopt;
    Bytes b = read_commit_bytes(id);
    try {
        return Commit::decode(b);
    } catch (const Error& e) {
        throw Error(e.kind(), std::string(e.what()) + " (commit " + id.hex() + ")");
    }
}

std::vector<Hash32> ObjectStore::list_commits() const {
    std::vector<Hash32> out;
    std::error_code ec;
    for (fs::directory_iterator it(m_commits_dir, ec), end; !ec && it != end; it.increment(ec))
        if (auto h = Hash32::from_hex(it->path().filename().string())) out.push_back(*h);
    if (ec) throw_error_code(ec, "cannot list " + m_commits_dir.string());
    return out;
}

}  // namespace dvt::objects
