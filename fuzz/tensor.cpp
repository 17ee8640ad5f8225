// Fuzz target: tensor-aware chunking's decoders (objects/tensor_layout.hpp parse_safetensors, objects/codec.hpp
// decode_tensor_delta). The first byte chooses:
//  - even: a safetensors prefix. Bytes 1-2 (u16 LE) are how many bytes the file has beyond the input; the rest is the
//    start of the file. Property: a layout, when there is one, covers [0, file size) with contiguous non-empty
//    regions in order, tensor regions (width 1, 2, 4 or 8) named, other regions (width 0) unnamed.
//  - odd: a tensor delta record. Bytes 1-4 (u32 LE) are raw_len; the input's last two bytes a length L, the L bytes
//    before them the base, what lies between the stored record (base id, width, zstd frame). Properties: an accepted
//    record decodes to raw_len bytes; encoding them again against the same base and width decodes back to them.
#include "fuzz/fuzz.hpp"
#include "objects/codec.hpp"
#include "objects/pack.hpp"
#include "objects/tensor_layout.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    using namespace dvt::objects;
    if (size < 3) return 0;
    if ((data[0] & 1) == 0) {
        const std::uint64_t extra = load_u16(data + 1);
        auto file = fuzz::bytes(data + 3, size - 3);
        const std::uint64_t file_size = file.size() + extra;
        auto n = safetensors_prefix_length(file.first(std::min<std::size_t>(8, file.size())), file_size);
        if (!n || *n > file.size()) return 0;
        auto l = parse_safetensors(file.first(*n), file_size);
        if (!l) return 0;
        fuzz::note_accepted();
        std::uint64_t at = 0;
        for (const auto& r : l->regions) {
            fuzz::require(r.begin == at && r.end > r.begin, "layout: regions not contiguous and non-empty");
            fuzz::require(r.width == 0 || r.width == 1 || r.width == 2 || r.width == 4 || r.width == 8,
                          "layout: bad element width");
            fuzz::require((r.width == 0) == r.name.empty(), "layout: a tensor without a name or a gap with one");
            at = r.end;
        }
        fuzz::require(at == file_size, "layout: regions do not cover the file");
        return 0;
    }
    if (size < 7) return 0;
    const std::uint32_t raw_len = load_u32(data + 1);
    const std::size_t base_len = load_u16(data + size - 2);
    if (base_len > size - 7) return 0;
    const std::size_t stored_len = size - 7 - base_len;
    auto stored = fuzz::bytes(data + 5, stored_len);
    auto base = fuzz::bytes(data + 5 + stored_len, base_len);
    Bytes out;
    if (!fuzz::accepted([&] { decode_tensor_delta(stored, raw_len, base, out, "fuzz tensor delta"); })) return 0;
    fuzz::require(out.size() == raw_len, "tensor delta: decoded length differs from raw_len");
    Bytes again, back;
    encode_tensor_delta(out, base, sha256(base.data(), base.size()), stored[kDeltaBaseIdSize], 3, again);
    fuzz::require(fuzz::accepted([&] { decode_tensor_delta(again, raw_len, base, back, "re-encoded tensor delta"); }),
                  "tensor delta: a record dvt encoded does not decode");
    fuzz::require(back == out, "tensor delta: encode/decode round trip changed the bytes");
    return 0;
}
