// Measures delta records before they exist (issue 17): for a history of snapshots, chunk every file with dvt's
// chunker, and for each chunk not seen before compare its zstd size alone with its size as a zstd delta against a
// base chunk of the previous version of the same path (ZSTD_CCtx_refPrefix), for several base choices. Then, for
// several chain-depth limits, prints the store bytes and the bytes a clone of a given version needs (its chunks and
// every base down their chains).
//   build: g++ -O2 -std=c++23 -I. bench/delta_probe.cpp objects/chunker.cpp util/error.cpp util/hash.cpp \
//            -lzstd -lcrypto -o /tmp/delta_probe
//   run:   /tmp/delta_probe SNAPDIR LAST_VERSION FILE...   (SNAPDIR/K/FILE is version K of FILE)
#include <zstd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "objects/chunker.hpp"
#include "util/hash.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes read_file(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

struct Chunk {
    std::size_t off, len;
    std::string id;
};

std::vector<Chunk> chunk(const Bytes& d, const dvt::objects::Chunker& c) {
    std::vector<Chunk> out;
    std::size_t off = 0;
    while (off < d.size()) {
        std::size_t n = c.cut(d.data() + off, d.size() - off, true);
        auto h = dvt::sha256({d.data() + off, n});
        out.push_back({off, n, std::string(reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size())});
        off += n;
    }
    return out;
}

std::size_t zsize(ZSTD_CCtx* cx, const std::uint8_t* p, std::size_t n, const std::uint8_t* base, std::size_t bn,
                  int level) {
    static std::vector<char> out;
    out.resize(ZSTD_compressBound(n));
    ZSTD_CCtx_reset(cx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cx, ZSTD_c_compressionLevel, level);
    if (base) ZSTD_CCtx_refPrefix(cx, base, bn);
    std::size_t r = ZSTD_compress2(cx, out.data(), out.size(), p, n);
    if (ZSTD_isError(r)) return n;
    return std::min(r, n) + 12;  // record header
}

struct NewChunk {
    std::size_t full;                       // stored alone
    std::map<std::string, std::pair<std::size_t, std::string>> delta;  // strategy -> (size, base id)
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) return 2;
    std::string snap = argv[1];
    int last = std::atoi(argv[2]);
    std::vector<std::string> files(argv + 3, argv + argc);
    dvt::objects::Chunker ch(dvt::objects::ChunkerParams{});
    ZSTD_CCtx* cx = ZSTD_createCCtx();
    std::unordered_map<std::string, NewChunk> chunks;
    std::vector<std::vector<std::string>> version_chunks(last + 1);
    std::map<std::string, std::pair<Bytes, std::vector<Chunk>>> prev;  // path -> previous version
    const std::vector<std::string> strategies = {"anchor", "offset", "xor"};
    for (int v = 0; v <= last; ++v) {
        for (auto& f : files) {
            Bytes d = read_file(snap + "/" + std::to_string(v) + "/" + f);
            auto cs = chunk(d, ch);
            auto& [pd, pcs] = prev[f];
            std::unordered_map<std::string, std::size_t> anchors;  // first 48 bytes -> index in pcs
            for (std::size_t i = 0; i < pcs.size(); ++i)
                anchors.emplace(std::string(reinterpret_cast<const char*>(pd.data() + pcs[i].off),
                                            std::min<std::size_t>(48, pcs[i].len)), i);
            for (auto& c : cs) {
                version_chunks[v].push_back(c.id);
                if (chunks.count(c.id)) continue;
                NewChunk nc;
                const std::uint8_t* p = d.data() + c.off;
                nc.full = zsize(cx, p, c.len, nullptr, 0, 3);
                if (!pcs.empty()) {
                    auto pick = [&](std::size_t i, const std::string& s) {
                        const Chunk& b = pcs[i];
                        nc.delta[s] = {zsize(cx, p, c.len, pd.data() + b.off, b.len, 3), b.id};
                    };
                    auto a = anchors.find(std::string(reinterpret_cast<const char*>(p), std::min<std::size_t>(48, c.len)));
                    std::size_t scaled = pd.empty() ? 0 : c.off * pd.size() / std::max<std::size_t>(1, d.size());
                    std::size_t oi = 0;
                    while (oi + 1 < pcs.size() && pcs[oi + 1].off <= scaled) ++oi;
                    pick(a != anchors.end() ? a->second : oi, "anchor");
                    pick(oi, "offset");
                    // xor against the bytes at the same offset of the previous version (tensor-style), then zstd
                    if (c.off + c.len <= pd.size()) {
                        Bytes x(p, p + c.len);
                        for (std::size_t k = 0; k < c.len; ++k) x[k] ^= pd[c.off + k];
                        // base is the prev chunk at that offset (approximation: the one containing c.off)
                        std::size_t xi = 0;
                        while (xi + 1 < pcs.size() && pcs[xi + 1].off <= c.off) ++xi;
                        nc.delta["xor"] = {zsize(cx, x.data(), x.size(), nullptr, 0, 3), pcs[xi].id};
                    }
                }
                chunks.emplace(c.id, std::move(nc));
            }
            pd = std::move(d);
            pcs = std::move(cs);
        }
    }
    std::size_t full_total = 0;
    for (auto& [id, nc] : chunks) full_total += nc.full;
    std::printf("versions 0..%d, %zu distinct chunks, store without deltas %.2f MB\n", last, chunks.size(),
                full_total / 1e6);
    std::printf("%-8s %6s %12s %14s %14s %14s\n", "strategy", "depth", "store MB", "clone v_mid MB", "clone last MB",
                "v_last alone");
    for (auto& s : strategies) {
        for (int depth : {0, 1, 2, 4, 8, 16, 32, 64, 1000}) {
            std::unordered_map<std::string, std::pair<int, std::size_t>> rec;  // id -> (depth, stored size)
            std::unordered_map<std::string, std::string> base_of;
            std::size_t store = 0;
            for (int v = 0; v <= last; ++v)
                for (auto& id : version_chunks[v]) {
                    if (rec.count(id)) continue;
                    auto& nc = chunks.at(id);
                    auto d = nc.delta.find(s);
                    int dep = 0;
                    std::size_t sz = nc.full;
                    if (depth > 0 && d != nc.delta.end() && d->second.first < nc.full && rec.count(d->second.second) &&
                        rec[d->second.second].first < depth) {
                        dep = rec[d->second.second].first + 1;
                        sz = d->second.first;
                        base_of[id] = d->second.second;
                    }
                    rec[id] = {dep, sz};
                    store += sz;
                }
            auto clone = [&](int v) {
                std::set<std::string> need;
                for (auto id : version_chunks[v])
                    while (need.insert(id).second) {
                        auto b = base_of.find(id);
                        if (b == base_of.end()) break;
                        id = b->second;
                    }
                std::size_t n = 0;
                for (auto& id : need) n += rec[id].second;
                return n;
            };
            std::size_t alone = 0;
            for (auto& id : std::set<std::string>(version_chunks[last].begin(), version_chunks[last].end()))
                alone += chunks.at(id).full;
            std::printf("%-8s %6d %12.2f %14.2f %14.2f %14.2f\n", s.c_str(), depth, store / 1e6, clone(last / 2) / 1e6,
                        clone(last) / 1e6, alone / 1e6);
        }
    }
    ZSTD_freeCCtx(cx);
}
