#include "core/ingest.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <atomic>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "objects/limits.hpp"
#include "objects/tensor_layout.hpp"

namespace dvt::core {

using namespace dvt::objects;

namespace {
constexpr std::size_t kReadBlock = 8 << 20;
constexpr std::size_t kBatchBytes = 2 << 20;      // a batch holds the chunks of one or more consecutive files
constexpr std::size_t kInflightBatches = 16;     // bounds memory: about 16 x (2 MiB data + 2 MiB stored)
constexpr std::size_t kSpareBatches = 8;

// A previous version of a file being added (the same path in the first parent's tree), opened when a worker first
// needs a delta base from it: its chunk list, and each chunk's bytes read only when a new chunk looks at it. A file
// changed in a few places reads a few of its old chunks, not all of them: the reference v2's 20 edited tables had made
// every commit of them decode 396 MiB (docs/performance.md, "Commit and checkout speed").
constexpr std::uint64_t kMaxDeltaSourceFile = 256ull << 20;  // larger previous versions are not used (memory)
constexpr std::size_t kAnchorBytes = 48;                    // a base "anchor": the old chunk with the same first bytes

struct OldChunk {
    Hash32 id;
    std::uint64_t offset = 0;
    std::uint32_t size = 0;
    std::uint16_t depth = 0;
    bool usable = false;               // stored here in complete packs, chain included (set when read)
    std::vector<std::int64_t> packs;   // the pack of its record and of every base below it
};
struct OldFile {
    std::once_flag once, all_once, layout_once;
    bool loaded = false;  // its file object was read
    std::uint64_t size = 0;
    // The file's bytes, each chunk's at its offset once read (allocated, not touched: pages come as chunks are read).
    std::unique_ptr<std::uint8_t[]> data;
    std::vector<OldChunk> chunks;
    std::unordered_map<Hash32, std::size_t, Hash32Hasher> index_of;  // chunk id -> its first index
    std::mutex mu;
    // Per chunk, under mu: 0 not read yet, 1 its bytes are in `data` (and its OldChunk fields set), 2 cannot serve.
    std::unique_ptr<std::uint8_t[]> have;
    // Once every chunk was read (read_all): first / last kAnchorBytes bytes -> the first chunk with them.
    std::unordered_map<std::string_view, std::size_t> anchors, tails;
    // Per chunk: 0 its bytes are not checked against its id yet (a full record is read unverified: its bytes serve as
    // hints, anchors, until one is used as a base), 1 checked, 2 damaged (never a base).
    std::unique_ptr<std::atomic<std::uint8_t>[]> checked;
    std::optional<TensorLayout> layout;                          // of a safetensors file (tensor-aware chunking)
    std::unordered_map<std::string_view, std::size_t> tensors;   // tensor name -> its region in `layout`
};

// The old chunks where a new chunk's base is looked for: indexes [lo, hi) of OldFile::chunks (Ingest: edit_window).
struct Window {
    std::size_t lo = 0, hi = 0;
};

// Why a new chunk was stored in full rather than as a delta (IngestStats::chunks_full_*).
enum class FullWhy : std::uint8_t { no_previous, no_base, rejected };

struct ChunkOut {
    Hash32 id;
    std::uint32_t size = 0;
    Compression comp = Compression::none;
    std::uint16_t depth = 0;  // of a delta record
    std::uint32_t stored_off = 0, stored_len = 0;
    std::int64_t existing = 0;  // pack num when already stored
    std::vector<std::int64_t> chain_packs;  // a delta's (new or existing): the packs of its bases
    FullWhy why = FullWhy::no_previous;     // a new full record's reason (IngestStats)
};

struct Segment {
    std::size_t file = 0;    // index into the files being added
    std::size_t chunks = 0;  // how many of the batch's chunks belong to it
    bool last = false;       // the file ends in this batch
    std::uint64_t file_size = 0;  // as scanned
    std::shared_ptr<const TensorLayout> layout;  // tensor-aware chunking: the file's tensors (docs/format.md "Chunking")
};

struct Batch {
    std::vector<Segment> segments;
    Bytes data;
    std::vector<std::uint32_t> sizes;
    std::vector<std::uint64_t> offsets;  // of each chunk in its file
    std::vector<std::int32_t> regions;   // of each chunk: its tensor region in the segment's layout, or -1
    std::vector<ChunkOut> out;
    Bytes stored;
    bool done = false;
};
}  // namespace

struct Ingest::Impl {
    Repository& repo;
    ObjectStore& store;
    bool storing;
    Chunker chunker;
    CodecParams codec;
    std::uint64_t pack_target;
    std::function<void(std::uint64_t)> progress;
    IngestStats& stats;
    std::uint16_t delta_depth;
    std::uint16_t tensor_depth;  // pack.tensor-delta-depth (at most delta_depth)

    // delta bases
    const std::vector<std::optional<Hash32>>* previous = nullptr;
    std::mutex old_mu;
    std::unordered_map<std::size_t, std::shared_ptr<OldFile>> old_files;
    std::unordered_map<Hash32, std::vector<std::int64_t>, Hash32Hasher> new_chains;  // new delta -> its chain's packs
    std::atomic<std::uint64_t> base_bytes_read{0};  // IngestStats::bytes_base_read

    // pipeline
    std::mutex mu;
    std::condition_variable cv_work, cv_done, cv_space;
    std::deque<std::shared_ptr<Batch>> jobs, ordered;
    std::vector<std::shared_ptr<Batch>> spare;  // recycled batches: their buffers keep their capacity
    std::size_t inflight = 0;  // batches submitted and not yet written
    bool closing = false, aborted = false;
    std::exception_ptr error;

    // writer state
    std::unique_ptr<PackWriter> data_pack, meta_pack;
    std::int64_t data_slot = 0, meta_slot = 0, next_slot = -1;
    std::unordered_map<Hash32, std::int64_t, Hash32Hasher> new_objects;
    std::vector<std::pair<std::int64_t, SealedPack>> sealed;  // provisional slot -> pack
    std::set<std::int64_t> reached;
    std::vector<std::pair<Hash32, std::set<std::int64_t>>> file_slots;  // file_packs rows to write
    // reach_file()'s lookups (the walk's thread): one read transaction, ended before finish() writes rows
    std::unique_ptr<IndexSnapshot> snapshot;
    FileObject manifest;
    std::set<std::int64_t> manifest_slots;
    std::vector<Hash32>* file_ids = nullptr;
    std::vector<std::uint64_t>* file_sizes = nullptr;

    Impl(Repository& r, bool s, std::function<void(std::uint64_t)> p, IngestStats& st, const ChunkerParams& cp)
        : repo(r), store(r.store()), storing(s), chunker(cp), codec(r.codec_params()),
          pack_target(std::min<std::uint64_t>(r.pack_size(), kMaxPackTarget)), progress(std::move(p)), stats(st),
          delta_depth(codec.level > 0 ? r.delta_depth() : 0),
          tensor_depth(codec.level > 0 ? r.tensor_delta_depth() : 0) {}

    void fail(std::exception_ptr e) {
        std::lock_guard g(mu);
        if (!error) error = e;
        aborted = true;
        cv_work.notify_all();
        cv_done.notify_all();
        cv_space.notify_all();
    }

    void worker_loop() {
        try {
            while (true) {
                std::shared_ptr<Batch> b;
                {
                    std::unique_lock g(mu);
                    cv_work.wait(g, [&] { return aborted || closing || !jobs.empty(); });
                    if (aborted) return;
                    if (jobs.empty()) return;
                    b = jobs.front();
                    jobs.pop_front();
                }
                process(*b);
                {
                    std::lock_guard g(mu);
                    b->done = true;
                }
                cv_done.notify_all();
            }
        } catch (...) {
            fail(std::current_exception());
        }
    }

    // The packs of the chain below the delta record at `loc` (empty for a full record); nullopt when a record of it is
    // not in a complete pack here.
    std::optional<std::vector<std::int64_t>> chain_packs(const Location& loc) {
        std::vector<std::int64_t> out;
        if (!is_delta(loc.entry.compression)) return out;
        for (const auto& b : store.delta_chain(loc)) {
            auto complete = pack_complete(b.pack_num);
            if (!complete || !*complete) return std::nullopt;
            out.push_back(b.pack_num);
        }
        return out;
    }

    // Whether pack `num` is complete here (nullopt: it has no row), asked of the index database once per pack and
    // commit: loading a previous version asks it for every chunk (docs/performance.md, "Commit and checkout speed").
    // Stale only safely: a partial pack completed meanwhile (by a pull) is merely not used as a base, and complete
    // packs are deleted only by gc, which waits for the repository lock this commit holds.
    std::mutex packs_mu;
    std::unordered_map<std::int64_t, std::optional<bool>> pack_state;
    std::optional<bool> pack_complete(std::int64_t num) {
        {
            std::lock_guard g(packs_mu);
            if (auto it = pack_state.find(num); it != pack_state.end()) return it->second;
        }
        auto info = store.pack(num);
        std::optional<bool> v = info ? std::optional<bool>(!info->partial) : std::nullopt;
        std::lock_guard g(packs_mu);
        pack_state.emplace(num, v);
        return v;
    }

    std::shared_ptr<OldFile> old_file(std::size_t file) {
        if (!previous || file >= previous->size() || !(*previous)[file]) return nullptr;
        std::shared_ptr<OldFile> f;
        {
            std::lock_guard g(old_mu);
            auto& slot = old_files[file];
            if (!slot) slot = std::make_shared<OldFile>();
            f = slot;
        }
        std::call_once(f->once, [&] {
            try {
                open_old(*f, *(*previous)[file]);
            } catch (const Error&) {  // a previous version that cannot be read serves no bases; the commit goes on
                f->loaded = false;
            }
            if (!f->loaded) {
                f->chunks.clear();
                f->index_of.clear();
                f->data.reset();
            }
        });
        return f->loaded ? f : nullptr;
    }

    void open_old(OldFile& f, const Hash32& file_id) {
        if (!store.locate(file_id)) return;
        FileObject fo = store.read_file_object(file_id);
        if (fo.size > kMaxDeltaSourceFile || fo.chunks.empty()) return;
        std::uint64_t off = 0;
        f.chunks.reserve(fo.chunks.size());
        for (const auto& c : fo.chunks) {
            f.index_of.emplace(c.id, f.chunks.size());
            f.chunks.push_back(OldChunk{c.id, off, c.size, 0, false, {}});
            off += c.size;
        }
        if (off != fo.size) return;
        f.size = off;
        f.data.reset(new std::uint8_t[off]);
        f.have = std::make_unique<std::uint8_t[]>(f.chunks.size());                  // all 0
        f.checked = std::make_unique<std::atomic<std::uint8_t>[]>(f.chunks.size());  // all 0
        f.loaded = true;
    }

    // Reads old chunk `i` into f.data unless done; false if it cannot serve (not here, in a pack not indexed here,
    // unreadable). A chunk here only in a partial pack is read neither: it serves no base (its chain is not complete).
    bool read_old(OldFile& f, std::size_t i) {
        std::lock_guard g(f.mu);
        if (f.have[i]) return f.have[i] == 1;
        f.have[i] = 2;
        OldChunk& oc = f.chunks[i];
        try {
            auto loc = store.locate(oc.id);
            if (!loc) return false;
            auto complete = pack_complete(loc->pack_num);
            if (!complete || !*complete) return false;
            // A full record is decoded without checking its id: most chunks read here only ever serve as anchors
            // (hints), and base_of checks a chunk before it becomes a base. A delta record is read through its
            // chain, verified.
            Bytes raw;
            const bool full = !is_delta(loc->entry.compression);
            if (full)
                store.read_unverified(*loc, raw);
            else
                store.read_at(*loc, raw);
            if (raw.size() != oc.size) return false;
            std::memcpy(f.data.get() + oc.offset, raw.data(), raw.size());
            base_bytes_read += raw.size();
            if (!full) f.checked[i] = 1;  // read_at verified it
            if (loc->entry.type == ObjectType::chunk)
                if (auto below = chain_packs(*loc)) {
                    oc.usable = true;
                    oc.depth = loc->entry.depth;
                    oc.packs.push_back(loc->pack_num);
                    oc.packs.insert(oc.packs.end(), below->begin(), below->end());
                }
            f.have[i] = 1;
            return true;
        } catch (const Error&) {
            return false;
        }
    }

    // Reads every chunk of `f` and indexes their first and last kAnchorBytes bytes (pick_bases, when a new chunk has
    // no unchanged neighbour to place it).
    void read_all(OldFile& f) {
        std::call_once(f.all_once, [&] {
            for (std::size_t i = 0; i < f.chunks.size(); ++i) {
                if (!read_old(f, i) || f.chunks[i].size < kAnchorBytes) continue;
                const char* at = reinterpret_cast<const char*>(f.data.get() + f.chunks[i].offset);
                f.anchors.emplace(std::string_view(at, kAnchorBytes), i);
                f.tails.emplace(std::string_view(at + f.chunks[i].size - kAnchorBytes, kAnchorBytes), i);
            }
        });
    }

    // Whether the bytes [0, n) of `f` are read (reading the chunks that cover them).
    bool read_prefix(OldFile& f, std::uint64_t n) {
        for (std::size_t i = 0; i < f.chunks.size() && f.chunks[i].offset < n; ++i)
            if (!read_old(f, i)) return false;
        return n <= f.size;
    }

    // The old chunks a new chunk (chunk `i` of batch `b`, in the file whose chunks are [first, first + n) of the batch)
    // can have come from: after the old chunk of the nearest unchanged chunk before it, before the old chunk of the
    // nearest unchanged chunk after it (as many old chunks as new ones between them, plus kWindowSlack, when only one
    // side is placed). nullopt: neither side is placed in the batch, or the window exceeds kMaxWindow chunks.
    static constexpr std::size_t kWindowSlack = 8, kMaxWindow = 256;
    std::optional<Window> edit_window(const OldFile& f, const Batch& b, std::size_t first, std::size_t n,
                                      std::size_t i) {
        auto old_index = [&](std::size_t k) -> std::optional<std::size_t> {
            auto it = f.index_of.find(b.out[k].id);
            if (it == f.index_of.end()) return std::nullopt;
            return it->second;
        };
        std::optional<std::size_t> before, after;  // old indexes
        std::size_t gap_before = 0, gap_after = 0;   // new chunks between
        for (std::size_t k = i; k > first && !before; --k, ++gap_before) before = old_index(k - 1);
        for (std::size_t k = i + 1; k < first + n && !after; ++k, ++gap_after) after = old_index(k);
        if (before) --gap_before;
        if (after) --gap_after;
        const std::size_t count = f.chunks.size();
        Window w;
        if (before && after) {
            w.lo = *before + 1;
            w.hi = *after;
        } else if (before) {
            w.lo = *before + 1;
            w.hi = std::min(count, w.lo + gap_before + 1 + kWindowSlack);
        } else if (after) {
            w.hi = *after;
            w.lo = w.hi > gap_after + 1 + kWindowSlack ? w.hi - gap_after - 1 - kWindowSlack : 0;
        } else {
            return std::nullopt;
        }
        w.lo = std::min(w.lo, count);
        if (w.hi < w.lo) w.hi = w.lo;  // chunks moved: an empty window still places the relative candidates
        if (w.hi - w.lo > kMaxWindow) return std::nullopt;
        return w;
    }

    // The tensor layout of a safetensors previous version (tensor-aware chunking), read once.
    void read_layout(OldFile& f) {
        std::call_once(f.layout_once, [&] {
            if (f.size < 8 || !read_prefix(f, 8)) return;
            auto n = safetensors_prefix_length(std::span<const std::uint8_t>(f.data.get(), 8), f.size);
            if (!n || !read_prefix(f, *n)) return;
            f.layout = parse_safetensors(std::span<const std::uint8_t>(f.data.get(), *n), f.size);
            if (f.layout)
                for (std::size_t i = 0; i < f.layout->regions.size(); ++i)
                    if (f.layout->regions[i].width) f.tensors.emplace(f.layout->regions[i].name, i);
        });
    }

    // The candidate bases for a new chunk at `offset` of a file of `file_size` bytes. `window`: the old chunks the edit
    // that made it can have touched, placed by the unchanged chunks (old ids) nearest to it in its batch (the caller);
    // only they are read. Without a window every old chunk is read (read_all). Then:
    //  - the first old chunk of the window (the file) starting with the same kAnchorBytes bytes (an "anchor": the same
    //    chunk, edited) alone; else the first one ending with the same bytes;
    //  - the old chunk covering the same relative offset and its two neighbours.
    // The caller keeps the smallest delta (on make_history's tables this halves their deltas' bytes against the
    // relative offset alone: docs/performance.md). Chunks that cannot serve are left out. The choice depends only on
    // the new chunk, its batch and the old file, so a commit's packs stay deterministic.
    struct Candidates {
        std::array<const OldChunk*, 4> c{};
        std::size_t n = 0;
        void add(const OldChunk* x) {
            if (!x || !x->usable || n == c.size()) return;
            for (std::size_t i = 0; i < n; ++i)
                if (c[i] == x) return;
            c[n++] = x;
        }
    };
    Candidates pick_bases(OldFile& f, std::span<const std::uint8_t> raw, std::uint64_t offset, std::uint64_t file_size,
                          std::optional<Window> window) {
        Candidates out;
        if (f.chunks.empty()) return out;
        if (raw.size() >= kAnchorBytes) {
            auto head = std::string_view(reinterpret_cast<const char*>(raw.data()), kAnchorBytes);
            auto tail = std::string_view(reinterpret_cast<const char*>(raw.data() + raw.size() - kAnchorBytes),
                                         kAnchorBytes);
            std::optional<std::size_t> anchor, ends;
            if (window) {
                for (std::size_t i = window->lo; i < window->hi && !anchor; ++i) {
                    const OldChunk& c = f.chunks[i];
                    if (c.size < kAnchorBytes || !read_old(f, i)) continue;
                    const char* at = reinterpret_cast<const char*>(f.data.get() + c.offset);
                    if (std::string_view(at, kAnchorBytes) == head)
                        anchor = i;
                    else if (!ends && std::string_view(at + c.size - kAnchorBytes, kAnchorBytes) == tail)
                        ends = i;
                }
            } else {
                read_all(f);
                if (auto it = f.anchors.find(head); it != f.anchors.end()) anchor = it->second;
                if (auto it = f.tails.find(tail); it != f.tails.end()) ends = it->second;
            }
            if (anchor) {
                out.add(&f.chunks[*anchor]);
                return out;
            }
            if (ends) out.add(&f.chunks[*ends]);
        }
        std::uint64_t old_size = f.size;
        std::uint64_t pos = 0;  // offset * old_size / file_size, without overflow (both below 2^63)
        if (file_size) {
            std::uint64_t q = old_size / file_size, r = old_size % file_size;
            pos = offset * q + static_cast<std::uint64_t>(static_cast<long double>(offset) * r / file_size);
        }
        if (pos >= old_size) pos = old_size ? old_size - 1 : 0;
        auto it = std::upper_bound(f.chunks.begin(), f.chunks.end(), pos,
                                   [](std::uint64_t p, const OldChunk& x) { return p < x.offset; });
        const std::size_t rel = static_cast<std::size_t>(std::prev(it) - f.chunks.begin());
        for (std::size_t i : {rel, rel - 1, rel + 1})  // rel - 1 wraps at 0: out of range
            if (i < f.chunks.size() && read_old(f, i)) out.add(&f.chunks[i]);
        return out;
    }

    // The base of a new chunk of tensor `t` at `rel` bytes from the tensor's start (tensor-aware chunking): the old
    // chunk of the same length at the same offset of the tensor of the same name, element width and length in the
    // previous version; nullptr if there is none or it cannot serve.
    const OldChunk* pick_tensor_base(OldFile& f, const TensorRegion& t, std::uint64_t rel, std::size_t size) {
        read_layout(f);
        if (!f.layout) return nullptr;
        auto it = f.tensors.find(t.name);
        if (it == f.tensors.end()) return nullptr;
        const TensorRegion& o = f.layout->regions[it->second];
        if (o.width != t.width || o.end - o.begin != t.end - t.begin) return nullptr;
        std::uint64_t at = o.begin + rel;
        auto c = std::lower_bound(f.chunks.begin(), f.chunks.end(), at,
                                  [](const OldChunk& x, std::uint64_t p) { return x.offset < p; });
        if (c == f.chunks.end() || c->offset != at || c->size != size) return nullptr;
        if (!read_old(f, static_cast<std::size_t>(c - f.chunks.begin()))) return nullptr;
        if (!c->usable) return nullptr;  // a chain at its limit: the caller bases the delta further down it
        return &*c;
    }

    // The base a new delta record uses when `c` serves as the old chunk of a chain capped at `cap` links: `c` itself
    // while its depth is below the cap; at the cap, the link of its chain at depth `at_cap` (an older version of the
    // same bytes, one shallower than the new record: docs/format.md, "Delta records"). False: no base (a full record).
    struct Base {
        std::span<const std::uint8_t> bytes;
        Hash32 id;
        std::uint16_t depth = 0;
        std::vector<std::int64_t> packs;
    };
    bool base_of(const OldFile& f, const OldChunk& c, std::uint16_t cap, std::uint16_t at_cap, Bytes& scratch,
                 Base& out) {
        if (cap == 0) return false;
        if (c.depth < cap) {
            auto& state = f.checked[static_cast<std::size_t>(&c - f.chunks.data())];
            if (state == 0)  // two workers may both hash it: the same answer
                state = sha256(f.data.get() + c.offset, c.size) == c.id ? 1 : 2;
            if (state != 1) return false;  // damaged on disk: stored in full (fsck reports the record)
            out.bytes = std::span<const std::uint8_t>(f.data.get() + c.offset, c.size);
            out.id = c.id;
            out.depth = c.depth;
            out.packs = c.packs;
            return true;
        }
        if (!skip_base(c, at_cap, scratch, out.id, out.packs)) return false;
        out.bytes = scratch;
        out.depth = at_cap;
        return true;
    }

    // The link of `c`'s delta chain at depth `want` (< c.depth): its verified bytes, id and the packs of it and its
    // bases. False if the chain is not as its records say, or cannot be read (then the chunk is stored in full, as
    // when a previous version cannot be read: load_old).
    bool skip_base(const OldChunk& c, std::uint16_t want, Bytes& bytes, Hash32& id, std::vector<std::int64_t>& packs) {
        if (c.depth <= want) return false;
        try {
            auto loc = store.locate(c.id);
            if (!loc || loc->entry.depth != c.depth) return false;
            auto chain = store.delta_chain(*loc);  // nearest first: depths c.depth - 1, ..., 0
            const std::size_t j = static_cast<std::size_t>(c.depth - 1 - want);
            if (j >= chain.size() || chain[j].entry.depth != want || chain[j].entry.type != ObjectType::chunk)
                return false;
            auto below = chain_packs(chain[j]);
            if (!below) return false;
            store.read_at(chain[j], bytes);  // verified (through its own chain)
            id = chain[j].entry.id;
            packs.assign(1, chain[j].pack_num);
            packs.insert(packs.end(), below->begin(), below->end());
            return true;
        } catch (const Error&) {
            return false;
        }
    }

    void process(Batch& b) {
        b.out.resize(b.sizes.size());
        std::size_t off = 0, seg = 0, in_seg = 0;
        for (std::size_t i = 0; i < b.sizes.size(); ++i) {  // every id first: a new chunk's neighbours place its base
            b.out[i].id = sha256(std::span<const std::uint8_t>(b.data.data() + off, b.sizes[i]));
            off += b.sizes[i];
        }
        off = 0;
        Bytes delta, scratch, trial, trial_scratch;
        Base base, trial_base;
        for (std::size_t i = 0; i < b.sizes.size(); ++i, ++in_seg) {
            while (seg < b.segments.size() && in_seg >= b.segments[seg].chunks) {
                ++seg;
                in_seg = 0;
            }
            auto& o = b.out[i];
            o.size = b.sizes[i];
            o.why = FullWhy::no_previous;
            std::span<const std::uint8_t> raw(b.data.data() + off, o.size);
            off += o.size;
            if (!storing) continue;
            bool again = false;  // stored here only as a delta whose chain is not complete: store it in full
            if (auto loc = store.locate(o.id)) {
                std::optional<std::vector<std::int64_t>> below;
                try {
                    below = chain_packs(*loc);
                } catch (const Error& e) {
                    if (e.kind() != ErrorKind::not_found) throw;
                }
                if (below) {
                    o.existing = loc->pack_num;
                    o.chain_packs = std::move(*below);
                    continue;
                }
                again = true;
            }
            o.stored_off = static_cast<std::uint32_t>(b.stored.size());
            o.comp = encode_record(raw, codec, b.stored);
            o.stored_len = static_cast<std::uint32_t>(b.stored.size() - o.stored_off);
            if (again || delta_depth == 0 || seg >= b.segments.size()) continue;
            auto old = old_file(b.segments[seg].file);
            if (!old) continue;
            o.why = FullWhy::no_base;
            Compression comp = Compression::zstd_delta;
            delta.clear();
            const TensorRegion* t = nullptr;
            const OldChunk* tc = nullptr;
            if (const auto& lay = b.segments[seg].layout; lay && b.regions[i] >= 0) {
                t = &lay->regions[static_cast<std::size_t>(b.regions[i])];
                tc = pick_tensor_base(*old, *t, b.offsets[i] - t->begin, raw.size());
            }
            if (tc) {
                // A tensor chain is capped at pack.tensor-delta-depth: each link costs about half a full copy, and a
                // clone fetches the whole chain. At the cap the new delta is against the link at depth cap - 1 (the
                // keyframe for a cap of 1) rather than a new full copy; cap 0 stores the piece whole (docs/format.md,
                // "Tensor delta records"; docs/performance.md, "Delta chain caps").
                if (!base_of(*old, *tc, tensor_depth, static_cast<std::uint16_t>(tensor_depth - 1), scratch, base) ||
                    base.bytes.size() != raw.size())  // a chain mixing compressions 2 and 3 may change length
                    continue;
                encode_tensor_delta(raw, base.bytes, base.id, t->width, codec.level, delta);
                comp = Compression::tensor_delta;
            } else {
                // At pack.delta-depth the new delta is against the link at depth delta_depth / 2 (a skip delta) rather
                // than a new full record: these chains change every version, and a keyframe costs a whole chunk.
                Candidates cands = pick_bases(*old, raw, b.offsets[i], b.segments[seg].file_size,
                                              edit_window(*old, b, i - in_seg, b.segments[seg].chunks, i));
                bool any = false;
                for (std::size_t k = 0; k < cands.n; ++k) {
                    if (!base_of(*old, *cands.c[k], delta_depth, static_cast<std::uint16_t>(delta_depth / 2),
                                 trial_scratch, trial_base))
                        continue;
                    trial.clear();
                    encode_delta(raw, trial_base.bytes, trial_base.id, codec.level, trial);
                    if (!any || trial.size() < delta.size()) {  // the best so far (its bytes may be in the scratch)
                        std::swap(delta, trial);
                        std::swap(base, trial_base);
                        std::swap(scratch, trial_scratch);
                    }
                    any = true;
                }
                if (!any) continue;
            }
            // kept only if it saves at least 1/8 of the normal record (docs/format.md, "Delta records")
            o.why = FullWhy::rejected;
            if (delta.size() > o.stored_len - o.stored_len / 8) continue;
            b.stored.resize(o.stored_off);
            b.stored.insert(b.stored.end(), delta.begin(), delta.end());
            o.stored_len = static_cast<std::uint32_t>(delta.size());
            o.comp = comp;
            o.depth = static_cast<std::uint16_t>(base.depth + 1);
            o.chain_packs = std::move(base.packs);
        }
    }

    std::int64_t new_slot() { return next_slot--; }

    void seal_data() {
        if (data_pack && data_pack->count()) {
            sealed.emplace_back(data_slot, data_pack->seal());
            ++stats.packs_written;
        }
        data_pack.reset();
    }
    // Metadata records (trees, file objects) wait in memory (up to kMetaHold bytes) before they go to a pack of their
    // own, so that a commit adding little ends with one pack, not a data pack and a metadata pack: every pack a
    // version names is a swarm and counts against the commit's bound (core/swarms), and a history of small commits
    // would otherwise reach it twice as fast. The records then go at the end of the open data pack (after the data
    // their manifests name), and their slot becomes an alias of the data pack's (`aliases`, resolved in finish()).
    struct HeldMeta {
        ObjectType type;
        Hash32 id;
        Compression c;
        std::uint32_t raw_len;
        Bytes stored;
    };
    static constexpr std::uint64_t kMetaHold = 4ull << 20;
    std::vector<HeldMeta> held_meta;
    std::uint64_t held_bytes = 0;
    std::map<std::int64_t, std::int64_t> aliases;  // metadata slot -> the data pack slot that took its records

    void flush_held(PackWriter& to) {
        for (auto& h : held_meta) to.append(h.type, h.id, h.c, h.raw_len, h.stored);
        held_meta.clear();
        held_bytes = 0;
    }
    // at the end: into the open data pack when they fit, else a metadata pack as before
    void seal_last() {
        if (!held_meta.empty() && !meta_pack && data_pack && data_pack->count() &&
            data_pack->size() + held_bytes + 64 * held_meta.size() + kIndexEntrySize * data_pack->count() +
                    kFooterSize <=
                pack_target &&
            data_pack->count() + held_meta.size() < kMaxPackObjects) {
            flush_held(*data_pack);
            aliases[meta_slot] = data_slot;
        }
        seal_meta();
    }
    void seal_meta() {
        seal_data();  // a metadata pack never reaches the disk before the data its manifests name
        if (!held_meta.empty()) {
            if (!meta_pack) meta_pack = std::make_unique<PackWriter>(store.tmp_dir(), store.packs_dir());
            flush_held(*meta_pack);
        }
        if (meta_pack && meta_pack->count()) {
            sealed.emplace_back(meta_slot, meta_pack->seal());
            ++stats.packs_written;
        }
        meta_pack.reset();
    }

    std::int64_t append_data(const Hash32& id, const ChunkOut& o, const Bytes& stored) {
        // A data pack is sealed before a record would take it past pack.size (its index and footer counted), so a
        // pack of the default 64 MiB gets 64 KiB pieces, not 128 KiB (objects/torrent_id: at most 1,024 pieces): a
        // partial fetch (a lazy read, a partial pull) moves half the padding around the records it needs.
        if (data_pack && data_pack->count() &&
            data_pack->size() + kRecordHeaderSize + o.stored_len + kIndexEntrySize * (data_pack->count() + 1) +
                    kFooterSize >
                pack_target)
            seal_data();
        if (!data_pack) {
            data_pack = std::make_unique<PackWriter>(store.tmp_dir(), store.packs_dir());
            data_slot = new_slot();
        }
        data_pack->append(ObjectType::chunk, id, o.comp, o.size,
                          std::span(stored.data() + o.stored_off, o.stored_len), o.depth);
        new_objects.emplace(id, data_slot);
        if (is_delta(o.comp)) {
            new_chains.emplace(id, o.chain_packs);
            ++stats.chunks_delta;
        } else {
            ++(o.why == FullWhy::no_previous ? stats.chunks_full_no_previous
               : o.why == FullWhy::no_base   ? stats.chunks_full_no_base
                                             : stats.chunks_full_rejected);
        }
        ++stats.chunks_new;
        stats.bytes_new_raw += o.size;
        stats.bytes_new_stored += o.stored_len;
        std::int64_t s = data_slot;
        if (data_pack->size() >= pack_target || data_pack->count() >= kMaxPackObjects) seal_data();
        return s;
    }

    std::int64_t put_meta(ObjectType type, const Hash32& id, const Bytes& raw) {
        if (auto it = new_objects.find(id); it != new_objects.end()) return it->second;
        if (auto loc = store.locate(id)) return loc->pack_num;
        Bytes stored;
        Compression c = encode_record(raw, codec, stored);
        if (meta_pack && meta_pack->count() &&
            meta_pack->size() + kRecordHeaderSize + stored.size() + kIndexEntrySize * (meta_pack->count() + 1) +
                    kFooterSize >
                pack_target)
            seal_meta();  // within pack.size, as a data pack (append_data)
        if (!meta_pack && held_meta.empty()) meta_slot = new_slot();  // the first record of a metadata pack
        new_objects.emplace(id, meta_slot);
        std::int64_t s = meta_slot;
        if (!meta_pack) {
            held_bytes += stored.size();
            held_meta.push_back(HeldMeta{type, id, c, static_cast<std::uint32_t>(raw.size()), std::move(stored)});
            if (held_bytes < kMetaHold && held_meta.size() < kMaxPackObjects) return s;
            meta_pack = std::make_unique<PackWriter>(store.tmp_dir(), store.packs_dir());
            flush_held(*meta_pack);
        } else {
            meta_pack->append(type, id, c, static_cast<std::uint32_t>(raw.size()), stored);
        }
        if (meta_pack->size() >= pack_target || meta_pack->count() >= kMaxPackObjects) seal_meta();
        return s;
    }

    void write_batch(Batch& b) {
        std::size_t i = 0;
        for (const auto& seg : b.segments) {
            for (std::size_t k = 0; k < seg.chunks; ++k, ++i) {
                const auto& o = b.out[i];
                if (storing) {
                    std::int64_t slot;
                    if (o.existing) {
                        slot = o.existing;
                        manifest_slots.insert(o.chain_packs.begin(), o.chain_packs.end());
                    } else if (auto it = new_objects.find(o.id); it != new_objects.end()) {
                        slot = it->second;
                        if (auto ch = new_chains.find(o.id); ch != new_chains.end())
                            manifest_slots.insert(ch->second.begin(), ch->second.end());
                    } else {
                        slot = append_data(o.id, o, b.stored);
                        manifest_slots.insert(o.chain_packs.begin(), o.chain_packs.end());
                    }
                    manifest_slots.insert(slot);
                }
                manifest.chunks.push_back(ChunkRef{o.id, o.size});
                manifest.size += o.size;
            }
            if (seg.last) {
                finish_file(seg.file);
                std::lock_guard g(old_mu);
                old_files.erase(seg.file);  // every chunk of the file has been processed
            }
        }
    }

    void finish_file(std::size_t index) {
        Bytes raw = manifest.encode();
        Hash32 fid = sha256(raw);
        if (storing) {
            manifest_slots.insert(put_meta(ObjectType::file, fid, raw));
            reached.insert(manifest_slots.begin(), manifest_slots.end());
            file_slots.emplace_back(fid, std::move(manifest_slots));
        }
        (*file_ids)[index] = fid;
        if (file_sizes) (*file_sizes)[index] = manifest.size;
        manifest = FileObject{};
        manifest_slots.clear();
        ++stats.files_hashed;
    }

    void writer_loop() {
        try {
            while (true) {
                std::shared_ptr<Batch> b;
                {
                    std::unique_lock g(mu);
                    cv_done.wait(g, [&] { return aborted || (!ordered.empty() && ordered.front()->done) ||
                                                 (ordered.empty() && closing); });
                    if (aborted) return;
                    if (ordered.empty()) return;
                    b = ordered.front();
                    ordered.pop_front();
                    --inflight;
                }
                cv_space.notify_all();
                write_batch(*b);
                if (progress) progress(b->data.size());
                recycle(std::move(b));
            }
        } catch (...) {
            fail(std::current_exception());
        }
    }

    std::shared_ptr<Batch> new_batch() {
        std::shared_ptr<Batch> b;
        {
            std::lock_guard g(mu);
            if (!spare.empty()) {
                b = std::move(spare.back());
                spare.pop_back();
            }
        }
        if (!b) {
            b = std::make_shared<Batch>();
            b->data.reserve(kBatchBytes + chunker.params().max_size);
            b->stored.reserve(kBatchBytes + chunker.params().max_size + 4096);
        }
        return b;
    }

    void recycle(std::shared_ptr<Batch> b) {
        b->segments.clear();
        b->data.clear();
        b->sizes.clear();
        b->offsets.clear();
        b->regions.clear();
        b->out.clear();
        b->stored.clear();
        b->done = false;
        std::lock_guard g(mu);
        if (spare.size() < kSpareBatches) spare.push_back(std::move(b));
    }

    void submit(std::shared_ptr<Batch> b) {
        std::unique_lock g(mu);
        cv_space.wait(g, [&] { return aborted || inflight < kInflightBatches; });
        if (aborted) return;
        ++inflight;
        jobs.push_back(b);
        ordered.push_back(std::move(b));
        cv_work.notify_one();
    }

    // The tensor layout of the open file `fd` when it is a well-formed safetensors file (objects/tensor_layout.hpp),
    // else nullptr: read from the file itself, so it is a function of the bytes being cut.
    static std::shared_ptr<const TensorLayout> tensor_layout(int fd) {
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
        const auto size = static_cast<std::uint64_t>(st.st_size);
        std::uint8_t first[8];
        if (size < 10 || ::pread(fd, first, 8, 0) != 8) return nullptr;
        auto n = safetensors_prefix_length(first, size);
        if (!n) return nullptr;
        Bytes prefix(*n);
        if (::pread(fd, prefix.data(), prefix.size(), 0) != static_cast<ssize_t>(prefix.size())) return nullptr;
        auto l = parse_safetensors(prefix, size);
        if (!l || l->regions.size() > kMaxFileChunks) return nullptr;
        return std::make_shared<const TensorLayout>(std::move(*l));
    }

    // Appends the chunks of file `index` to `batch`, submitting full batches along the way.
    void read_file(std::size_t index, const WorkEntry& e, Bytes& buf, std::shared_ptr<Batch>& batch) {
        std::string full = (repo.root() / e.path).string();
        int fd = ::open(full.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                throw Error(ErrorKind::conflict, e.path + " vanished while it was being read; run the command again");
            throw_errno("cannot open " + e.path);
        }
        util::Fd guard(fd);
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        const std::size_t maxc = chunker.params().max_size;
        std::size_t have = 0;
        bool eof = false;
        std::size_t chunks = 0;
        std::uint64_t file_off = 0;
        std::shared_ptr<const TensorLayout> layout;
        if (chunker.params().tensors) layout = tensor_layout(fd);
        std::size_t region = 0;
        batch->segments.push_back(Segment{index, 0, false, e.size, layout});
        while (true) {
            while (!eof && have < buf.size()) {
                ssize_t n = ::read(fd, buf.data() + have, buf.size() - have);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    throw_errno("cannot read " + e.path);
                }
                if (n == 0) eof = true;
                have += static_cast<std::size_t>(n);
            }
            std::size_t pos = 0;
            while (pos < have) {
                // Tensor-aware chunking: no chunk crosses a region's end; a tensor is cut in pieces of the chunker's
                // average size from its start, every other region by content, the region's end acting as the end of
                // input.
                const TensorRegion* r = nullptr;
                std::uint64_t left = ~std::uint64_t{0};  // bytes to the region's end
                if (layout) {
                    while (region < layout->regions.size() && layout->regions[region].end <= file_off) ++region;
                    if (region < layout->regions.size()) {
                        r = &layout->regions[region];
                        left = r->end - file_off;
                    }
                }
                const std::size_t avail = static_cast<std::size_t>(std::min<std::uint64_t>(have - pos, left));
                const bool region_end = eof || left <= have - pos;
                if (!region_end && avail < maxc) break;  // read more first
                std::size_t cut = r && r->width ? std::min<std::size_t>(avail, chunker.params().avg_size)
                                                : chunker.cut(buf.data() + pos, avail, region_end);
                if (++chunks > kMaxFileChunks)  // its file object would exceed the record limit (objects/limits.hpp)
                    throw Error(ErrorKind::unsupported,
                                e.path + " has more than " + std::to_string(kMaxFileChunks) + " chunks of about " +
                                    std::to_string(chunker.params().avg_size) +
                                    " bytes, the most one file may have; a repository made with a larger --chunk-avg "
                                    "can hold it");
                batch->data.insert(batch->data.end(), buf.data() + pos, buf.data() + pos + cut);
                batch->sizes.push_back(static_cast<std::uint32_t>(cut));
                batch->offsets.push_back(file_off);
                batch->regions.push_back(r && r->width ? static_cast<std::int32_t>(region) : -1);
                file_off += cut;
                batch->segments.back().chunks++;
                pos += cut;
                stats.bytes_hashed += cut;
                if (batch->data.size() >= kBatchBytes) {
                    submit(batch);
                    batch = new_batch();
                    batch->segments.push_back(Segment{index, 0, false, e.size, layout});
                }
            }
            if (pos) std::memmove(buf.data(), buf.data() + pos, have - pos);
            have -= pos;
            if (eof && have == 0) break;
            {
                std::lock_guard g(mu);
                if (aborted) return;
            }
        }
        batch->segments.back().last = true;
    }
};

Ingest::Ingest(Repository& repo, bool store, std::function<void(std::uint64_t)> progress,
               std::optional<objects::ChunkerParams> chunker)
    : m(std::make_unique<Impl>(repo, store, std::move(progress), m_stats, chunker ? *chunker : repo.chunker_params())) {}

Ingest::~Ingest() = default;

std::vector<Hash32> Ingest::add_files(const std::vector<const WorkEntry*>& files, std::vector<std::uint64_t>* sizes,
                                      const std::vector<std::optional<Hash32>>* previous) {
    std::vector<Hash32> ids(files.size());
    if (sizes) sizes->assign(files.size(), 0);
    if (files.empty()) return ids;
    m->file_ids = &ids;
    m->file_sizes = sizes;
    m->previous = previous;
    m->closing = false;
    m->aborted = false;
    unsigned n = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> workers;
    for (unsigned i = 0; i < n; ++i) workers.emplace_back([this] { m->worker_loop(); });
    std::thread writer([this] { m->writer_loop(); });
    try {
        Bytes buf(kReadBlock + m->chunker.params().max_size);
        auto batch = m->new_batch();
        for (std::size_t i = 0; i < files.size(); ++i) {
            m->read_file(i, *files[i], buf, batch);
            if (batch->data.size() >= kBatchBytes / 2) {  // small files share a batch; keep batches a useful size
                m->submit(batch);
                batch = m->new_batch();
            }
            std::lock_guard g(m->mu);
            if (m->aborted) break;
        }
        if (!batch->segments.empty()) m->submit(batch);
    } catch (...) {
        m->fail(std::current_exception());
    }
    {
        std::lock_guard g(m->mu);
        m->closing = true;
    }
    m->cv_work.notify_all();
    m->cv_done.notify_all();
    for (auto& t : workers) t.join();
    m->cv_done.notify_all();
    writer.join();
    m->file_ids = nullptr;
    m->file_sizes = nullptr;
    m->previous = nullptr;
    m->old_files.clear();
    if (m->error) std::rethrow_exception(m->error);
    return ids;
}

Hash32 Ingest::put_meta(ObjectType type, const Bytes& raw) {
    Hash32 id = sha256(raw);
    if (m->storing) m->reached.insert(m->put_meta(type, id, raw));
    return id;
}

bool Ingest::reach_existing(const Hash32& id) {
    if (auto it = m->new_objects.find(id); it != m->new_objects.end()) {
        m->reached.insert(it->second);
        return true;
    }
    auto loc = m->store.locate(id);
    if (!loc) return false;
    m->reached.insert(loc->pack_num);
    return true;
}

bool Ingest::reach_file(const Hash32& file_id) {
    // An unchanged file of a large tree comes here once per commit: its packs are looked up in one snapshot of the
    // index (objects/store.hpp IndexSnapshot; a transaction per lookup costs more than the lookup). Its rows are as
    // current as the walk needs: nothing writes index rows before finish(). A pack that is gone from packs/ lost its
    // row when the repository was opened (ObjectStore::reconcile), so a file whose pack was deleted is not reached
    // here: the caller hashes it again.
    if (!m->snapshot) m->snapshot = std::make_unique<IndexSnapshot>(m->store);
    auto& snap = *m->snapshot;
    if (auto ids = snap.file_packs(file_id)) {
        std::vector<std::int64_t> nums;
        bool ok = true;
        for (const auto& pid : *ids) {
            auto info = snap.pack_by_id(pid);
            if (!info || info->partial) {
                ok = false;
                break;
            }
            nums.push_back(info->num);
        }
        if (ok) {
            m->reached.insert(nums.begin(), nums.end());
            return true;
        }
    }
    auto loc = snap.locate(file_id);
    if (!loc) return false;
    std::set<std::int64_t> slots{loc->pack_num};
    FileObject f = m->store.read_file_object(file_id);
    std::set<Hash32> seen;
    for (const auto& c : f.chunks) {
        if (!seen.insert(c.id).second) continue;
        auto cl = snap.locate(c.id);
        if (!cl) return false;
        slots.insert(cl->pack_num);
        if (is_delta(cl->entry.compression)) {  // its bases' packs too
            auto below = m->chain_packs(*cl);
            if (!below) return false;
            slots.insert(below->begin(), below->end());
        }
    }
    m->reached.insert(slots.begin(), slots.end());
    m->file_slots.emplace_back(file_id, std::move(slots));
    return true;
}

std::vector<PackRef> Ingest::finish() {
    std::vector<PackRef> out;
    m->snapshot.reset();
    if (!m->storing) return out;
    m->seal_last();
    m_stats.bytes_base_read = m->base_bytes_read;
    // A slot below zero is a pack this ingest sealed (indexed below); any other is the row of a pack already indexed.
    std::map<std::int64_t, PackRef> sealed_refs;
    for (const auto& [slot, pack] : m->sealed) sealed_refs[slot] = pack.ref;
    for (const auto& [from, to] : m->aliases) sealed_refs[from] = sealed_refs.at(to);
    auto ref_of = [&](std::int64_t s) {
        if (s < 0) return sealed_refs.at(s);
        auto info = m->store.pack(s);
        if (!info) throw Error(ErrorKind::internal, "pack vanished during commit");
        return info->ref;
    };
    std::vector<FilePacks> file_packs;
    for (const auto& [fid, slots] : m->file_slots) {
        FilePacks f{fid, {}};
        for (auto s : slots) f.packs.push_back(ref_of(s).id);
        file_packs.push_back(std::move(f));
    }
    for (auto s : m->reached) out.push_back(ref_of(s));
    std::vector<SealedPack> sealed;
    for (auto& [slot, pack] : m->sealed) sealed.push_back(std::move(pack));
    m->sealed.clear();
    m->store.add_packs(sealed, file_packs);  // one transaction: the packs' rows, then the file_packs rows
    std::sort(out.begin(), out.end(), [](const PackRef& a, const PackRef& b) { return a.id < b.id; });
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace dvt::core
