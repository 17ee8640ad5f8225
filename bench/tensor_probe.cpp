// Compares delta transforms for the chunks of a safetensors file against its previous version (issue 17 item 2):
// both versions are cut as tensor-aware chunking cuts them (each tensor in pieces of MAX bytes from its start), and
// for each piece whose bytes changed it prints the total stored bytes of
//   full       zstd of the piece alone (what a new chunk costs without deltas)
//   prefix     zstd with the previous piece as prefix (the zstd delta record, compression 2)
//   xor        zstd of piece XOR previous piece
//   xor+planes zstd of planes(piece XOR previous piece, element width) (the tensor delta record, compression 3)
// at zstd level LEVEL (default 3). A measurement tool, not built by default:
//   build: g++ -O2 -std=c++23 -I. bench/tensor_probe.cpp objects/codec.cpp objects/tensor_layout.cpp util/error.cpp \
//            util/hash.cpp -lzstd -lcrypto -o /tmp/tensor_probe
//   run:   /tmp/tensor_probe OLD.safetensors NEW.safetensors [MAX=65536] [LEVEL=3]
#include <zstd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "objects/codec.hpp"
#include "objects/tensor_layout.hpp"

namespace {
using dvt::Bytes;

Bytes read_file(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::size_t zsize(const std::uint8_t* d, std::size_t n, int level) {
    Bytes out(ZSTD_compressBound(n));
    return ZSTD_compress(out.data(), out.size(), d, n, level);
}

std::size_t prefix_size(const std::uint8_t* d, const std::uint8_t* base, std::size_t n, int level) {
    ZSTD_CCtx* c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_refPrefix(c, base, n);
    Bytes out(ZSTD_compressBound(n));
    std::size_t r = ZSTD_compress2(c, out.data(), out.size(), d, n);
    ZSTD_freeCCtx(c);
    return r;
}

dvt::objects::TensorLayout layout_of(const Bytes& f) {
    auto n = dvt::objects::safetensors_prefix_length(std::span(f).first(8), f.size());
    if (!n) throw std::runtime_error("not a safetensors file");
    auto l = dvt::objects::parse_safetensors(std::span(f).first(*n), f.size());
    if (!l) throw std::runtime_error("malformed safetensors header");
    return *l;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s OLD NEW [MAX] [LEVEL]\n", argv[0]);
        return 2;
    }
    Bytes a = read_file(argv[1]), b = read_file(argv[2]);
    std::size_t max = argc > 3 ? std::stoul(argv[3]) : 65536;
    int level = argc > 4 ? std::stoi(argv[4]) : 3;
    auto la = layout_of(a), lb = layout_of(b);
    std::map<std::string, const dvt::objects::TensorRegion*> old;
    for (const auto& r : la.regions)
        if (r.width) old[r.name] = &r;
    std::uint64_t raw = 0, full = 0, prefix = 0, x = 0, xp = 0, sp = 0, pieces = 0;
    Bytes t;
    for (const auto& r : lb.regions) {
        if (!r.width) continue;
        auto it = old.find(r.name);
        if (it == old.end() || it->second->end - it->second->begin != r.end - r.begin) continue;
        for (std::uint64_t off = 0; off < r.end - r.begin; off += max) {
            std::size_t n = std::min<std::uint64_t>(max, r.end - r.begin - off);
            const std::uint8_t* nb = b.data() + r.begin + off;
            const std::uint8_t* ob = a.data() + it->second->begin + off;
            if (std::equal(nb, nb + n, ob)) continue;
            ++pieces;
            raw += n;
            full += std::min(n, zsize(nb, n, level));
            prefix += prefix_size(nb, ob, n, level);
            t.resize(n);
            for (std::size_t i = 0; i < n; ++i) t[i] = nb[i] ^ ob[i];
            x += zsize(t.data(), n, level);
            Bytes rec;
            dvt::objects::encode_tensor_delta(std::span(nb, n), std::span(ob, n), dvt::Hash32{}, r.width, level, rec);
            xp += rec.size() - 33;
            // sub+planes: element-wise integer difference (little-endian words of the element width, mod 2^(8w))
            {
                std::size_t w = r.width, ne = n / w;
                Bytes d(n);
                for (std::size_t k = 0; k < ne; ++k) {
                    unsigned borrow = 0;
                    for (std::size_t p = 0; p < w; ++p) {
                        int v = int(nb[k * w + p]) - int(ob[k * w + p]) - int(borrow);
                        borrow = v < 0;
                        d[p * ne + k] = static_cast<std::uint8_t>(v);
                    }
                }
                for (std::size_t i = ne * w; i < n; ++i) d[i] = nb[i] ^ ob[i];
                sp += zsize(d.data(), n, level);
            }
        }
    }
    auto mb = [](std::uint64_t v) { return v / 1e6; };
    std::printf("changed pieces %llu, raw %.2f MB, level %d\n", static_cast<unsigned long long>(pieces), mb(raw), level);
    std::printf("full %.2f MB  prefix %.2f MB  xor %.2f MB  xor+planes %.2f MB  sub+planes %.2f MB\n", mb(full),
                mb(prefix), mb(x), mb(xp), mb(sp));
}
