// Measures the compression rule on real files: per 16 KiB piece, order-0 entropy, zstd gain and time, bucketed by
// entropy. Used to choose the "store raw" threshold of docs/format.md (Compression).
//   build: g++ -O2 -std=c++23 -I. bench/codec_probe.cpp objects/codec.cpp util/error.cpp -lzstd -o /tmp/codec_probe
//   run:   /tmp/codec_probe LEVEL FILE...
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <vector>

#include "objects/codec.hpp"

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    int level = std::atoi(argv[1]);
    struct Bucket {
        double raw = 0, stored = 0, secs = 0;
        long n = 0;
    };
    std::map<int, Bucket> buckets;  // entropy * 4, floored
    std::vector<char> out(ZSTD_compressBound(16384));
    ZSTD_CCtx* cx = ZSTD_createCCtx();
    for (int f = 2; f < argc; ++f) {
        std::ifstream in(argv[f], std::ios::binary);
        std::vector<std::uint8_t> buf(16384);
        while (in.read(reinterpret_cast<char*>(buf.data()), 16384) || in.gcount() > 0) {
            std::size_t n = static_cast<std::size_t>(in.gcount());
            double e = dvt::objects::byte_entropy({buf.data(), n});
            auto t0 = std::chrono::steady_clock::now();
            std::size_t c = ZSTD_compressCCtx(cx, out.data(), out.size(), buf.data(), n, level);
            double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            auto& b = buckets[static_cast<int>(e * 4)];
            b.raw += n;
            b.stored += std::min(c, n);
            b.secs += dt;
            b.n++;
        }
    }
    std::printf("| entropy bits/byte | pieces | MB | zstd-%d ratio | saved MB | zstd MB/s |\n|---|---|---|---|---|---|\n", level);
    for (auto& [k, b] : buckets)
        std::printf("| %.2f-%.2f | %ld | %.1f | %.3f | %.1f | %.0f |\n", k / 4.0, (k + 1) / 4.0, b.n, b.raw / 1e6,
                    b.raw / b.stored, (b.raw - b.stored) / 1e6, b.raw / 1e6 / b.secs);
}
