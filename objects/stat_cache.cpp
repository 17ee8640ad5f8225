#include "objects/stat_cache.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "objects/limits.hpp"
#include "util/bytes.hpp"
#include "util/error.hpp"

namespace dvt::objects {

namespace {

constexpr char kMagic[8] = {'D', 'V', 'T', 'S', 'T', 'A', 'T', '\n'};
constexpr std::size_t kHeaderBytes = 16;            // magic, u32 layout, u32 zero
constexpr std::size_t kBlockHeadBytes = 4 + 4 + 32;  // u32 payload bytes, u32 rows, SHA-256 of the payload
constexpr std::size_t kRowFixedBytes = 2 + 2 + 8 + 8 + 8 + 8 + 4 + 8 + 32;

std::uint8_t path_byte(char c) { return c == '/' ? 0 : static_cast<std::uint8_t>(c); }

}  // namespace

int tree_order_compare(std::string_view a, std::string_view b) {
    std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        if (a[i] == b[i]) continue;
        return path_byte(a[i]) < path_byte(b[i]) ? -1 : 1;
    }
    return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

// ---- reader

StatCacheReader::StatCacheReader(const std::filesystem::path& file) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        m_end = true;  // missing or unreadable: no rows (everything is hashed)
        return;
    }
    m_fd = util::Fd(fd);
    rewind();
}

void StatCacheReader::rewind() {
    m_block.clear();
    m_pos = 0;
    m_rows_left = 0;
    m_have = false;
    m_end = true;
    m_row.path.clear();
    m_prev.clear();
    if (!m_fd) return;
    try {
        m_size = util::file_size(m_fd.get());
        std::uint8_t h[kHeaderBytes];
        if (m_size < kHeaderBytes) return;
        util::pread_all(m_fd.get(), h, sizeof h, 0, "the stat cache");
        // another layout (or no stat cache at all): read as empty, rebuilt by the next write
        if (std::memcmp(h, kMagic, 8) != 0 || load_u32(h + 8) != kStatCacheLayout || load_u32(h + 12) != 0) return;
    } catch (const Error&) {
        return;
    }
    m_offset = kHeaderBytes;
    m_end = false;
}

bool StatCacheReader::load_block() {
    m_block.clear();
    m_pos = 0;
    m_rows_left = 0;
    if (m_offset == m_size) return false;  // the end
    try {
        std::uint8_t h[kBlockHeadBytes];
        if (m_size - m_offset < kBlockHeadBytes) throw Error(ErrorKind::corrupt, "torn block");
        util::pread_all(m_fd.get(), h, sizeof h, m_offset, "the stat cache");
        std::uint32_t bytes = load_u32(h), rows = load_u32(h + 4);
        // bounded before allocating: a block is at most kStatBlockBytes and every row takes kRowFixedBytes or more
        if (bytes == 0 || bytes > kStatBlockBytes || rows == 0 || rows > bytes / kRowFixedBytes ||
            m_size - m_offset - kBlockHeadBytes < bytes)
            throw Error(ErrorKind::corrupt, "bad block");
        m_block.resize(bytes);
        util::pread_all(m_fd.get(), m_block.data(), bytes, m_offset + kBlockHeadBytes, "the stat cache");
        if (sha256(m_block.data(), m_block.size()) != Hash32::from_bytes({h + 8, 32}))
            throw Error(ErrorKind::corrupt, "block hash");
        m_offset += kBlockHeadBytes + bytes;
        m_rows_left = rows;
        return true;
    } catch (const Error&) {
        m_damaged = true;
        return false;
    }
}

const StatCacheRow* StatCacheReader::next() {
    if (m_have) {
        m_have = false;
        return &m_row;
    }
    bool first_in_block = false;
    while (!m_end) {
        if (m_rows_left == 0) {
            if (m_pos != m_block.size()) break;  // bytes left over after the last row: damaged
            if (!load_block()) {
                m_end = true;
                return nullptr;
            }
            first_in_block = true;
        }
        const std::size_t left = m_block.size() - m_pos;
        if (left < kRowFixedBytes) break;
        const std::uint8_t* p = m_block.data() + m_pos;
        std::uint16_t shared = load_u16(p), suffix = load_u16(p + 2);
        // the first row of a block shares nothing with the row before it
        if ((first_in_block && shared != 0) || shared > m_row.path.size() || suffix == 0 ||
            shared + std::size_t(suffix) > kMaxPathLength || left < kRowFixedBytes + suffix)
            break;
        m_prev.swap(m_row.path);
        m_row.path.assign(m_prev, 0, shared);
        m_row.path.append(reinterpret_cast<const char*>(p + 4), suffix);
        if (!m_prev.empty() && tree_order_compare(m_prev, m_row.path) >= 0) break;  // out of order
        if (m_row.path.find('\0') != std::string::npos) break;
        p += 4 + suffix;
        m_row.size = load_u64(p);
        m_row.mtime_ns = static_cast<std::int64_t>(load_u64(p + 8));
        m_row.ctime_ns = static_cast<std::int64_t>(load_u64(p + 16));
        m_row.ino = load_u64(p + 24);
        m_row.mode = load_u32(p + 32);
        m_row.cached_at_ns = static_cast<std::int64_t>(load_u64(p + 36));
        m_row.file_id = Hash32::from_bytes({p + 44, 32});
        m_pos += kRowFixedBytes + suffix;
        --m_rows_left;
        return &m_row;
    }
    if (!m_end) m_damaged = true;
    m_end = true;
    return nullptr;
}

const StatCacheRow* StatCacheReader::find(std::string_view path) {
    if (m_have) {  // m_row is read but not passed; m_prev the row before it ("" if none)
        int c = tree_order_compare(path, m_row.path);
        if (c == 0) {
            m_have = false;
            return &m_row;
        }
        if (c < 0) {
            if (m_prev.empty() || tree_order_compare(m_prev, path) < 0) return nullptr;  // between the two: none
            rewind();  // asked out of order
            ++m_rewinds;
        } else {
            m_have = false;
            ++m_skipped;
        }
    } else if (!m_row.path.empty() && tree_order_compare(path, m_row.path) <= 0) {
        rewind();  // asked out of order (at or before the row already passed): read again from the start
        ++m_rewinds;
    }
    while (const StatCacheRow* r = next()) {
        int c = tree_order_compare(r->path, path);
        if (c == 0) return r;
        if (c < 0) ++m_skipped;
        if (c > 0) {
            m_have = true;  // keep it for a later question
            return nullptr;
        }
    }
    return nullptr;
}

// ---- writer

StatCacheWriter::StatCacheWriter(const std::filesystem::path& file)
    : m_file(file), m_tmp(util::temp_path(file.parent_path(), "stat-cache")) {
    int fd = ::open(m_tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("cannot create " + m_tmp.string());
    m_fd = util::Fd(fd);
    Bytes h;
    put_bytes(h, kMagic, 8);
    put_u32(h, kStatCacheLayout);
    put_u32(h, 0);
    util::write_all(m_fd.get(), h.data(), h.size(), "the stat cache");
    m_block.reserve(kStatBlockBytes);
}

StatCacheWriter::~StatCacheWriter() {
    if (!m_committed) {
        m_fd.reset();
        ::unlink(m_tmp.c_str());
    }
}

void StatCacheWriter::flush_block() {
    if (m_rows == 0) return;
    Bytes h;
    put_u32(h, static_cast<std::uint32_t>(m_block.size()));
    put_u32(h, m_rows);
    put_hash(h, sha256(m_block.data(), m_block.size()));
    util::write_all(m_fd.get(), h.data(), h.size(), "the stat cache");
    util::write_all(m_fd.get(), m_block.data(), m_block.size(), "the stat cache");
    m_block.clear();
    m_rows = 0;
}

void StatCacheWriter::add(const StatCacheRow& r) {
    if (r.path.empty() || r.path.size() > kMaxPathLength)
        throw Error(ErrorKind::internal, "stat cache: a path of " + std::to_string(r.path.size()) + " bytes");
    if (m_any && tree_order_compare(m_prev, r.path) >= 0)
        throw Error(ErrorKind::internal, "stat cache: rows out of order at " + r.path);
    if (m_block.size() + kRowFixedBytes + r.path.size() > kStatBlockBytes) flush_block();
    std::size_t shared = 0;
    if (m_rows > 0) {  // rows share a prefix within a block only
        std::size_t n = std::min(m_prev.size(), r.path.size());
        while (shared < n && m_prev[shared] == r.path[shared]) ++shared;
        if (shared == r.path.size()) --shared;  // at least one byte of suffix (cannot happen in order; defensive)
    }
    Bytes& b = m_block;
    put_u16(b, static_cast<std::uint16_t>(shared));
    put_u16(b, static_cast<std::uint16_t>(r.path.size() - shared));
    put_bytes(b, r.path.data() + shared, r.path.size() - shared);
    put_u64(b, r.size);
    put_u64(b, static_cast<std::uint64_t>(r.mtime_ns));
    put_u64(b, static_cast<std::uint64_t>(r.ctime_ns));
    put_u64(b, r.ino);
    put_u32(b, r.mode);
    put_u64(b, static_cast<std::uint64_t>(r.cached_at_ns));
    put_hash(b, r.file_id);
    ++m_rows;
    m_prev = r.path;
    m_any = true;
}

void StatCacheWriter::commit() {
    flush_block();
    // no fsync: a cache lost or torn by a crash fails its block hashes and only costs re-hashing
    m_fd.reset();
    if (::rename(m_tmp.c_str(), m_file.c_str()) != 0) throw_errno("cannot write " + m_file.string());
    m_committed = true;
}

// ---- the file

void StatCacheFile::for_each(const std::function<void(const StatCacheRow&)>& visit) const {
    StatCacheReader r(m_file);
    while (const auto* row = r.next()) visit(*row);
}

void StatCacheFile::merge(std::vector<StatCacheRow> rows, std::vector<std::string> drop) {
    if (rows.empty() && drop.empty()) return;
    auto by_path = [](const StatCacheRow& a, const StatCacheRow& b) { return tree_order_less(a.path, b.path); };
    std::stable_sort(rows.begin(), rows.end(), by_path);
    // of rows with the same path, the last given wins
    std::vector<StatCacheRow> uniq;
    uniq.reserve(rows.size());
    for (auto& r : rows) {
        if (!uniq.empty() && uniq.back().path == r.path)
            uniq.back() = std::move(r);
        else
            uniq.push_back(std::move(r));
    }
    std::sort(drop.begin(), drop.end(), [](const std::string& a, const std::string& b) { return tree_order_less(a, b); });
    StatCacheReader in(m_file);
    StatCacheWriter out(m_file);
    std::size_t i = 0, d = 0;
    const StatCacheRow* old = in.next();
    while (old || i < uniq.size()) {
        if (old && (i == uniq.size() || tree_order_less(old->path, uniq[i].path))) {
            while (d < drop.size() && tree_order_less(drop[d], old->path)) ++d;
            if (!(d < drop.size() && drop[d] == old->path)) out.add(*old);
            old = in.next();
            continue;
        }
        if (old && old->path == uniq[i].path) old = in.next();  // replaced
        out.add(uniq[i++]);
    }
    out.commit();
}

}  // namespace dvt::objects
