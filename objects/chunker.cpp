#include "objects/chunker.hpp"

#include <bit>
#include <string>

#include "util/error.hpp"
#include "util/hash.hpp"

namespace dvt::objects {

void ChunkerParams::validate() const {
    bool ok = std::has_single_bit(avg_size) && min_size >= 64 && min_size < avg_size && avg_size < max_size &&
              max_size <= 16u * 1024 * 1024 && avg_size >= 256;
    if (!ok)
        throw Error(ErrorKind::unsupported, "invalid chunker parameters min=" + std::to_string(min_size) +
                                                " avg=" + std::to_string(avg_size) + " max=" + std::to_string(max_size));
}

// GEAR[i] = first 8 bytes (little-endian) of SHA-256("dvt-gear-v1" || byte i).
const std::array<std::uint64_t, 256>& Chunker::gear_table() {
    static const std::array<std::uint64_t, 256> table = [] {
        std::array<std::uint64_t, 256> t{};
        for (int i = 0; i < 256; ++i) {
            std::string seed = "dvt-gear-v1";
            seed.push_back(static_cast<char>(i));
            Hash32 h = sha256(seed);
            std::uint64_t v = 0;
            for (int k = 7; k >= 0; --k) v = (v << 8) | h.bytes[static_cast<std::size_t>(k)];
            t[static_cast<std::size_t>(i)] = v;
        }
        return t;
    }();
    return table;
}

static std::uint64_t high_mask(int bits) { return bits <= 0 ? 0 : (~std::uint64_t(0)) << (64 - bits); }

Chunker::Chunker(const ChunkerParams& p) : m_params(p) {
    p.validate();
    int bits = std::countr_zero(p.avg_size);
    m_mask_small = high_mask(bits + 2);
    m_mask_large = high_mask(bits - 2);
}

std::size_t Chunker::cut(const std::uint8_t* data, std::size_t n, bool at_eof) const {
    if (!at_eof && n < m_params.max_size)
        throw Error(ErrorKind::internal, "Chunker::cut: caller must supply max_size bytes unless at end of input");
    if (n <= m_params.min_size) return n;
    const auto& gear = gear_table();
    std::size_t normal = std::min<std::size_t>(m_params.avg_size, n);
    std::size_t end = std::min<std::size_t>(m_params.max_size, n);
    std::uint64_t fp = 0;
    std::size_t i = m_params.min_size;
    for (; i < normal; ++i) {
        fp = (fp << 1) + gear[data[i]];
        if (!(fp & m_mask_small)) return i + 1;
    }
    for (; i < end; ++i) {
        fp = (fp << 1) + gear[data[i]];
        if (!(fp & m_mask_large)) return i + 1;
    }
    return end;
}

}  // namespace dvt::objects
