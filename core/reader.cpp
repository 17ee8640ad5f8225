#include "core/reader.hpp"

#include <algorithm>
#include <cstring>

#include "objects/limits.hpp"

namespace dvt::core {

using namespace dvt::objects;

template <class V>
std::shared_ptr<const V> VersionReader::Lru<V>::get(const Hash32& id) {
    auto it = m_map.find(id);
    if (it == m_map.end()) return nullptr;
    m_order.splice(m_order.begin(), m_order, it->second);
    return it->second->value;
}

template <class V>
void VersionReader::Lru<V>::put(const Hash32& id, std::shared_ptr<const V> v, std::size_t bytes) {
    if (bytes > m_budget || m_map.count(id)) return;
    m_order.push_front(Item{id, std::move(v), bytes});
    m_map.emplace(id, m_order.begin());
    m_used += bytes;
    while (m_used > m_budget) {
        m_used -= m_order.back().bytes;
        m_map.erase(m_order.back().id);
        m_order.pop_back();
    }
}

VersionReader::VersionReader(const ObjectStore& store, const Commit& commit, Limits limits)
    : m_store(store), m_commit(commit), m_trees(limits.tree_cache_bytes), m_files(limits.file_cache_bytes),
      m_chunks(limits.chunk_cache_bytes), m_read_ahead(limits.read_ahead_bytes),
      m_background(limits.background_bytes), m_next_files(limits.next_files_bytes) {}

namespace {
// Whether the file entry before `name` in `es` (directories and symlinks between them skipped) is `prev`: a directory
// read in order reads them one after the other.
bool follows(const std::vector<TreeEntry>& es, const std::string& name, const std::string& prev) {
    auto at = std::lower_bound(es.begin(), es.end(), name, [](const TreeEntry& e, const std::string& n) { return e.name < n; });
    if (at == es.end() || at->name != name) return false;
    while (at != es.begin() && (at - 1)->kind != EntryKind::file && (at - 1)->kind != EntryKind::executable) --at;
    return at != es.begin() && (at - 1)->name == prev;
}
}  // namespace

std::shared_ptr<const Tree> VersionReader::tree(const Hash32& id) const {
    {
        std::lock_guard lock(m_mutex);
        if (auto t = m_trees.get(id)) return t;
    }
    auto t = std::make_shared<const Tree>(m_store.read_tree(id));  // verified; decode checks names and order
    std::size_t bytes = 64;
    for (const auto& e : t->entries) bytes += 64 + e.name.size() + e.target.size();
    std::lock_guard lock(m_mutex);
    m_trees.put(id, t, bytes);
    return t;
}

std::shared_ptr<const VersionReader::FileIndex> VersionReader::file_index(const Hash32& id,
                                                                           std::uint64_t expected_size) const {
    std::shared_ptr<const FileIndex> f;
    {
        std::lock_guard lock(m_mutex);
        f = m_files.get(id);
    }
    if (!f) {
        auto idx = std::make_shared<FileIndex>();
        idx->object = m_store.read_file_object(id);  // verified; decode checks that chunk sizes add up
        idx->starts.reserve(idx->object.chunks.size());
        std::uint64_t at = 0;
        for (const auto& c : idx->object.chunks) {
            idx->starts.push_back(at);
            at += c.size;
        }
        f = idx;
        std::lock_guard lock(m_mutex);
        m_files.put(id, f, 64 + idx->object.chunks.size() * (sizeof(ChunkRef) + sizeof(std::uint64_t)));
    }
    if (f->object.size != expected_size)
        throw Error(ErrorKind::corrupt, "file object " + id.hex() + " holds " + std::to_string(f->object.size) +
                                            " bytes, its tree entry says " + std::to_string(expected_size));
    return f;
}

std::shared_ptr<const Bytes> VersionReader::chunk(const ChunkRef& ref) const {
    {
        std::lock_guard lock(m_mutex);
        if (auto c = m_chunks.get(ref.id)) return c;
    }
    auto c = std::make_shared<const Bytes>(m_store.read(ref.id));  // verified against the id (deltas through their chain)
    if (c->size() != ref.size)
        throw Error(ErrorKind::corrupt, "chunk " + ref.id.hex() + " holds " + std::to_string(c->size()) +
                                            " bytes, its file object says " + std::to_string(ref.size));
    std::lock_guard lock(m_mutex);
    m_chunks.put(ref.id, c, c->size());
    return c;
}

void VersionReader::read_ahead(const ReaderEntry& file, const FileIndex& f, std::size_t i, std::uint64_t offset,
                               std::size_t want) const {
    const auto& chunks = f.object.chunks;
    bool sequential = offset == 0;
    bool next_files = false;  // the directory is being read in order
    std::string finished;     // the name of the file just read to its end in the same directory
    std::uint32_t run = 0;    // files of the directory read to their end in order up to that one
    {
        std::lock_guard lock(m_mutex);
        if (m_chunks.get(chunks[i].id)) return;
        if (offset == 0 && !file.name.empty() && m_finished && m_finished->parent == file.parent &&
            m_finished->name < file.name) {
            next_files = true;  // checked against the tree below: the file just before this one
            finished = m_finished->name;
            run = m_finished->run;
        }
        auto it = m_read_end.find(file.id);
        // FUSE's worker threads may deliver the kernel's sequential reads a little out of order
        constexpr std::uint64_t kNear = 4u << 20;
        if (it != m_read_end.end() && offset + kNear >= it->second && offset <= it->second + kNear) sequential = true;
    }
    if (m_store.has(chunks[i].id)) return;
    // three tiers, in read order: the read's own chunks (`needed`), those of the next read_ahead_bytes (waited for
    // with them: one round), and those of the next background_bytes after that (`ahead`: a hint the source fetches
    // in the background, so the next round finds them arrived or on their way)
    const std::uint64_t end = offset + want, until = end + (sequential ? m_read_ahead : 0);
    const std::uint64_t ahead_until = until + (sequential ? m_background : 0);
    std::vector<Hash32> ids, ahead;
    std::size_t needed = 0;
    std::unique_lock sent_lock(m_ahead_mutex);  // one read-ahead plan at a time: a hint is given once
    if (m_ahead_sent.size() >= 65536) m_ahead_sent.clear();  // bounded: files read ahead into
    // chunks of `g` from chunk `j` (ids or ahead by where they start, `base` being where `g` starts in read order),
    // up to `to` (ids) and `ahead_to` (ahead)
    auto take = [&](const Hash32& fid, const FileIndex& g, std::size_t j, std::uint64_t base, std::uint64_t to,
                    std::uint64_t ahead_to) {
        std::uint64_t& sent = m_ahead_sent[fid];  // chunks starting before it were hinted already
        std::uint64_t at = base;
        for (; j < g.object.chunks.size(); ++j) {
            at = base + g.starts[j];
            if (at >= ahead_to) break;
            if (at < to) {
                ids.push_back(g.object.chunks[j].id);
                if (at < end) needed = ids.size();
            } else if (g.starts[j] >= sent) {
                ahead.push_back(g.object.chunks[j].id);
            }
        }
        sent = std::max(sent, j < g.object.chunks.size() ? g.starts[j] : g.object.size);
    };
    take(file.id, f, i, 0, until, ahead_until);
    if (next_files && ahead_until > file.size) {
        auto t = tree(file.parent);
        const auto& es = t->entries;
        // the file entry before this one must be the one just read to its end
        if (follows(es, file.name, finished)) {
            // the window into the next files grows with the files read in order: next_files_bytes after one
            const std::uint64_t window = std::min<std::uint64_t>(m_read_ahead, m_next_files << std::min(run - 1, 20u));
            const std::uint64_t to = std::min(until, file.size + window);
            const std::uint64_t ahead_to = std::min(ahead_until, to + std::min<std::uint64_t>(m_background, 4 * window));
            auto at = std::lower_bound(es.begin(), es.end(), file.name,
                                       [](const TreeEntry& e, const std::string& n) { return e.name < n; });
            std::uint64_t base = file.size;  // where the next file starts, in read order
            for (auto e = at + 1; e != es.end() && base < ahead_to; ++e) {
                if (e->kind != EntryKind::file && e->kind != EntryKind::executable) continue;
                if (!m_store.has(e->id)) break;  // its file object would cost a round of its own
                auto g = file_index(e->id, e->size);
                take(e->id, *g, 0, base, to, ahead_to);
                base += e->size;
            }
        }
    }
    sent_lock.unlock();
    try {
        m_store.ensure(ids, ahead);
    } catch (const Error&) {
        for (std::size_t k = 0; k < needed; ++k)
            if (!m_store.has(ids[k])) throw;  // the read's own chunks did not come (read-ahead ones may not)
    }
}

std::optional<ReaderEntry> VersionReader::lookup(std::string_view path) const {
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (path.size() > kMaxPathLength) return std::nullopt;
    ReaderEntry cur;
    cur.kind = EntryKind::directory;
    cur.id = m_commit.tree;
    cur.size = m_commit.bytes;
    std::uint32_t depth = 0;
    while (!path.empty()) {
        auto slash = path.find('/');
        std::string_view name = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
        if (cur.kind != EntryKind::directory || ++depth > kMaxTreeDepth || !valid_entry_name(name)) return std::nullopt;
        auto t = tree(cur.id);
        const TreeEntry* e = t->find(name);
        if (!e) return std::nullopt;
        cur = ReaderEntry{e->kind, e->size, e->id, e->target, cur.id, std::string(name)};
    }
    return cur;
}

std::vector<TreeEntry> VersionReader::list(std::string_view dir) const {
    auto e = lookup(dir);
    if (!e) throw Error(ErrorKind::not_found, "no such path in the version: " + std::string(dir));
    if (e->kind != EntryKind::directory)
        throw Error(ErrorKind::usage, "not a directory in the version: " + std::string(dir));
    return tree(e->id)->entries;
}

std::size_t VersionReader::read(const ReaderEntry& file, std::uint64_t offset, std::span<std::uint8_t> out) const {
    if (file.kind != EntryKind::file && file.kind != EntryKind::executable)
        throw Error(ErrorKind::usage, "not a file");
    if (offset >= file.size || out.empty()) return 0;
    auto f = file_index(file.id, file.size);
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), file.size - offset));
    // the chunk holding `offset`: the last one starting at or before it
    auto it = std::upper_bound(f->starts.begin(), f->starts.end(), offset);
    std::size_t i = static_cast<std::size_t>(it - f->starts.begin()) - 1;
    read_ahead(file, *f, i, offset, want);
    std::size_t done = 0;
    while (done < want) {
        const ChunkRef& ref = f->object.chunks[i];
        auto c = chunk(ref);
        const std::uint64_t in = offset + done - f->starts[i];
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(ref.size - in, want - done));
        std::memcpy(out.data() + done, c->data() + in, n);
        done += n;
        ++i;
    }
    std::uint32_t run = 1;  // read to its end: the files of its directory read in order up to it
    if (offset + done == file.size && !file.name.empty()) {
        std::optional<Finished> last;
        {
            std::lock_guard lock(m_mutex);
            last = m_finished;
        }
        if (last && last->parent == file.parent && last->name == file.name)
            run = last->run;  // its end read again (the kernel's reads may come in any order)
        else if (last && last->parent == file.parent && last->name < file.name &&
                 follows(tree(file.parent)->entries, file.name, last->name))
            run = std::min<std::uint32_t>(last->run, 1u << 20) + 1;
    }
    std::lock_guard lock(m_mutex);
    if (m_read_end.size() >= 4096) m_read_end.clear();  // bounded: files read at once
    auto& e = m_read_end[file.id];
    e = std::max(e, offset + done);
    if (offset + done == file.size && !file.name.empty()) m_finished = Finished{file.parent, file.name, run};
    return done;
}

}  // namespace dvt::core
