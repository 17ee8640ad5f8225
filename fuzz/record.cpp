// Fuzz target: pack records (objects/codec.hpp decode_record, objects/pack.hpp decode_record_bytes): the 12-byte
// record header (type, compression, reserved, raw_len, stored_len) and the stored bytes, as found in a pack at an
// offset its index names. The header's compression and raw_len drive decode_record as an index entry would.
// Properties: an accepted record has exactly raw_len bytes; compressing those again with the default parameters
// and decoding gives them back; decode_record_bytes, given an index entry that agrees with the header and the right
// id, accepts the record exactly when the header is well formed (reserved bytes zero, stored_len right).
// Delta records (compression 2): the input's last two bytes are a length L, the L bytes before them the base chunk, and
// what lies between the header and the base the stored bytes (base id and zstd frame). Properties: an accepted delta
// has raw_len bytes; encoding them again against the same base decodes back to them; decode_record_bytes accepts the
// record exactly when the header is well formed (depth in 1..64, stored_len right) and the record names the base.
#include <algorithm>

#include "fuzz/fuzz.hpp"
#include "objects/limits.hpp"
#include "objects/pack.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    using namespace dvt::objects;
    if (size < kRecordHeaderSize) return 0;
    const std::uint8_t* h = data;
    const auto compression = static_cast<Compression>(h[1]);
    const std::uint32_t raw_len = load_u32(h + 4);
    if (compression == Compression::zstd_delta) {
        if (size < kRecordHeaderSize + 2) return 0;
        std::size_t base_len = load_u16(data + size - 2);
        if (base_len > size - kRecordHeaderSize - 2) return 0;
        const std::size_t stored_len = size - kRecordHeaderSize - 2 - base_len;
        auto stored = fuzz::bytes(data + kRecordHeaderSize, stored_len);
        auto base = fuzz::bytes(data + kRecordHeaderSize + stored_len, base_len);
        const Hash32 base_id = sha256(base.data(), base.size());
        Bytes out;
        if (!fuzz::accepted([&] { decode_delta(stored, raw_len, base, out, "fuzz delta"); })) return 0;
        fuzz::require(out.size() == raw_len, "delta: decoded length differs from raw_len");
        Bytes again, back;
        encode_delta(out, base, base_id, 3, again);
        fuzz::require(fuzz::accepted([&] { decode_delta(again, raw_len, base, back, "re-encoded delta"); }),
                      "delta: a delta dvt encoded does not decode");
        fuzz::require(back == out, "delta: encode/decode round trip changed the bytes");
        PackEntry e;
        e.id = sha256(out.data(), out.size());
        e.stored_len = static_cast<std::uint32_t>(stored_len);
        e.raw_len = raw_len;
        e.type = static_cast<ObjectType>(h[0]);
        e.compression = compression;
        e.depth = load_u16(h + 2);
        Bytes record(data, data + kRecordHeaderSize + stored_len);
        const bool header_ok = h[0] == 1 && e.depth >= 1 && e.depth <= kMaxDeltaDepth && load_u32(h + 8) == stored_len &&
                               raw_len <= kMaxChunkSize && Hash32::from_bytes({stored.data(), 32}) == base_id &&
                               base_id != e.id;
        Bytes dec;
        const bool ok =
            fuzz::accepted([&] { decode_record_bytes(record, e, dec, "fuzz delta", base, &base_id); });
        fuzz::require(ok == header_ok, "delta: decode_record_bytes disagrees with the header and base check");
        fuzz::require(!ok || dec == out, "delta: decode_record_bytes gave other bytes than decode_delta");
        return 0;
    }
    auto stored = fuzz::bytes(data + kRecordHeaderSize, size - kRecordHeaderSize);
    Bytes out;
    if (!fuzz::accepted([&] { decode_record(stored, compression, raw_len, out, "fuzz record"); })) return 0;
    fuzz::require(out.size() == raw_len, "record: decoded length differs from raw_len");

    if (out.size() <= (1u << 20)) {  // the round trip costs a compression: only for chunk-sized records
        Bytes again, back;
        Compression c2 = encode_record(out, CodecParams{}, again);
        fuzz::require(fuzz::accepted([&] { decode_record(again, c2, raw_len, back, "re-encoded record"); }),
                      "record: a record dvt encoded does not decode");
        fuzz::require(back == out, "record: encode/decode round trip changed the bytes");
    }

    PackEntry e;
    e.id = sha256(out.data(), out.size());
    e.stored_len = static_cast<std::uint32_t>(stored.size());
    e.raw_len = raw_len;
    e.type = static_cast<ObjectType>(h[0]);
    e.compression = compression;
    const bool header_ok = h[2] == 0 && h[3] == 0 && load_u32(h + 8) == stored.size();
    Bytes again;
    const bool ok = fuzz::accepted([&] { decode_record_bytes(fuzz::bytes(data, size), e, again, "fuzz record"); });
    fuzz::require(ok == header_ok, "record: decode_record_bytes disagrees with the record header check");
    fuzz::require(!ok || again == out, "record: decode_record_bytes gave other bytes than decode_record");
    return 0;
}
