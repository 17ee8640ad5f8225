// Tensor layout of a safetensors file, for tensor-aware chunking (docs/format.md, "Chunking", "Tensor files").
//
// A safetensors file is: u64 little-endian N, N bytes of JSON (the header), then the data area. The header maps each
// tensor name to {"dtype": ..., "shape": [...], "data_offsets": [begin, end]} (offsets relative to the data area);
// an optional "__metadata__" entry maps strings to strings.
//
// Contract:
//  - safetensors_prefix_length(first 8 bytes, file size): 8 + N when the file may be a safetensors file (N at least 2
//    and at most kMaxTensorHeader, 8 + N within the file); otherwise nullopt. A pure function of the bytes.
//  - parse_safetensors(prefix, file size): the layout (regions covering [0, file size) in order, each tensor of
//    non-zero length its own region, every other byte range - the header, gaps, trailing bytes - a region of width 0)
//    or nullopt when the header is not a well-formed safetensors header for a file of that size (bad JSON, nesting
//    deeper than 8, a tensor without a valid dtype or offsets, offsets beyond the file, overlapping tensors, more
//    than kMaxTensors tensors). Never throws on malformed input: such a file is "not a tensor file" and is cut by
//    content-defined chunking as any other file.
//  - The layout depends only on the file's bytes and size, so the same file is always cut the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dvt::objects {

constexpr std::uint64_t kMaxTensorHeader = 16ull << 20;  // bytes of a safetensors JSON header we parse
constexpr std::size_t kMaxTensors = 1u << 20;            // tensors of one file
constexpr std::size_t kMaxTensorJsonDepth = 8;           // nesting of its JSON (a valid header needs 3)

struct TensorRegion {
    std::uint64_t begin = 0, end = 0;  // byte range in the file
    std::uint8_t width = 0;            // element width in bytes (1, 2, 4 or 8) of a tensor; 0: not tensor data
    std::string name;                  // the tensor's name ("" when width is 0)
};

struct TensorLayout {
    std::vector<TensorRegion> regions;  // in file order, contiguous, covering the whole file
};

std::optional<std::uint64_t> safetensors_prefix_length(std::span<const std::uint8_t> first8, std::uint64_t file_size);
std::optional<TensorLayout> parse_safetensors(std::span<const std::uint8_t> prefix, std::uint64_t file_size);

// Element width of a safetensors dtype name: 2 for F16, BF16, I16, U16; 4 for F32, I32, U32; 8 for F64, I64, U64;
// 1 for BOOL, U8, I8, F8_E4M3, F8_E5M2 and any other name of at most 16 characters; 0 (invalid) for an empty name.
std::uint8_t dtype_width(std::string_view dtype);

}  // namespace dvt::objects
