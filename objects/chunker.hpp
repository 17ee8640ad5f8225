// Content-defined chunking: a normalized gear-hash chunker of the FastCDC family.
//
// Boundaries are a pure function of the bytes and of (min, avg, max), so an insertion near the start of a file moves
// only the chunks around it. The algorithm and the gear table are part of the repository format (docs/format.md,
// "Chunking"): changing either changes chunk ids, so both are pinned by golden test vectors.
//
// For a chunk starting at byte 0 of `data`:
//   fp = 0; skip the first `min` bytes; for i in [min, min(avg, n)): fp = (fp << 1) + GEAR[data[i]];
//   cut after byte i if (fp & mask_small) == 0; then for i in [avg, min(max, n)) the same with mask_large;
//   otherwise cut at min(max, n).
// mask_small has log2(avg)+2 high bits set (harder to match below avg), mask_large log2(avg)-2 (easier above avg).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace dvt::objects {

struct ChunkerParams {
    std::uint32_t min_size = 4 * 1024;
    std::uint32_t avg_size = 16 * 1024;
    std::uint32_t max_size = 64 * 1024;
    // Tensor-aware chunking (docs/format.md, "Chunking"; objects/tensor_layout.hpp): a safetensors file is cut at its
    // tensors' boundaries and each tensor's data in pieces of max_size from the tensor's start. Part of a version-2
    // commit's `chunker` line ("safetensors"), so a clone cuts files as the commit's writer did.
    bool tensors = false;
    bool operator==(const ChunkerParams&) const = default;

    // avg must be a power of two; 64 <= min < avg < max <= 16 MiB. Throws ErrorKind::unsupported otherwise.
    void validate() const;
};

class Chunker {
public:
    explicit Chunker(const ChunkerParams& p);

    // Length of the chunk that starts at data[0]. `n` is the number of bytes available; unless `at_eof`, the caller
    // must provide at least max_size bytes (so the result never depends on how the input was buffered).
    std::size_t cut(const std::uint8_t* data, std::size_t n, bool at_eof) const;

    const ChunkerParams& params() const { return m_params; }
    static const std::array<std::uint64_t, 256>& gear_table();

private:
    ChunkerParams m_params;
    std::uint64_t m_mask_small;
    std::uint64_t m_mask_large;
};

}  // namespace dvt::objects
