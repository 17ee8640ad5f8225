// Per-record compression: zstd, or raw when compression does not pay.
//
// The rule (docs/format.md, "Compression"): a record is stored raw if the order-0 byte entropy of its content is at
// least `skip_entropy_bits` bits per byte (random-looking data such as JPEG payloads: zstd would not gain and the
// attempt costs time), or if zstd at `level` does not save at least 1/`min_gain_divisor` of the bytes. Readers do not
// depend on the rule: each record says how it is stored.
#pragma once

#include <cstdint>
#include <span>

#include <string>

#include "util/bytes.hpp"
#include "util/hash.hpp"

namespace dvt::objects {

// zstd_delta (format version 2, docs/format.md "Delta records"): a chunk stored as base_id[32] followed by one zstd
// frame made with the base chunk's raw bytes as prefix (ZSTD_CCtx_refPrefix); only in version-2 packs.
// tensor_delta (format version 2, docs/format.md "Tensor delta records"): a chunk of a tensor stored as base_id[32],
// the element width w (1, 2, 4 or 8), then one zstd frame of the chunk XOR its base (which has the same length),
// split into w byte planes; only in version-2 packs.
enum class Compression : std::uint8_t { none = 0, zstd = 1, zstd_delta = 2, tensor_delta = 3 };
constexpr std::size_t kDeltaBaseIdSize = 32;
constexpr std::uint8_t kMaxCompression = 3;
// Records that need a base chunk to decode (delta records): their depth is 1..kMaxDeltaDepth.
constexpr bool is_delta(Compression c) { return c == Compression::zstd_delta || c == Compression::tensor_delta; }

struct CodecParams {
    int level = 3;                    // zstd level; 0 disables compression
    double skip_entropy_bits = 7.5;   // store raw without trying at or above this entropy
    std::uint32_t min_gain_divisor = 32;  // must save >= 1/32 (3.1 %) to be kept compressed
};

// Order-0 entropy in bits per byte (records over 64 KiB are estimated from a 16 KiB sample).
double byte_entropy(std::span<const std::uint8_t> data);

// Appends the stored form of `raw` to `out` and returns how it is stored.
Compression encode_record(std::span<const std::uint8_t> raw, const CodecParams& p, Bytes& out);

// Decodes a stored record into `out` (resized to raw_len). Throws ErrorKind::corrupt on any mismatch, and for
// Compression::zstd_delta (which needs its base: decode_delta).
void decode_record(std::span<const std::uint8_t> stored, Compression c, std::uint32_t raw_len, Bytes& out,
                   const std::string& what);


// Delta records. encode_delta appends base_id and one zstd frame (at `level`, content size stated) of `raw` made with
// `base` as prefix to `out`; the caller decides whether it pays. decode_delta checks the frame rules of decode_record
// (one frame, content size = raw_len, raw_len and stored length within the limits) and decompresses with `base`
// (whose bytes the caller has verified against the base id) as prefix; it does not verify the result (the caller
// checks SHA-256 against the record's id). delta_base_id: the base id of a stored delta record (corrupt if shorter).
void encode_delta(std::span<const std::uint8_t> raw, std::span<const std::uint8_t> base, const Hash32& base_id,
                  int level, Bytes& out);
Hash32 delta_base_id(std::span<const std::uint8_t> stored, const std::string& what);
void decode_delta(std::span<const std::uint8_t> stored, std::uint32_t raw_len, std::span<const std::uint8_t> base,
                  Bytes& out, const std::string& what);

// Tensor delta records. encode_tensor_delta appends base_id, `width` and one zstd frame (at `level`, content size
// stated) of planes(raw XOR base, width) to `out`; raw and base must have the same length and width be 1, 2, 4 or 8
// (else ErrorKind::internal). planes(d, w): for n = |d| / w elements, byte p of element k goes to position p*n + k;
// the |d| mod w trailing bytes follow unchanged. decode_tensor_delta checks, before allocating: raw_len within the
// chunk limit, stored length at most raw_len, the width, base length = raw_len, the frame rules of decode_record
// (corrupt otherwise); it does not verify the result (the caller checks SHA-256 against the record's id).
void encode_tensor_delta(std::span<const std::uint8_t> raw, std::span<const std::uint8_t> base, const Hash32& base_id,
                         std::uint8_t width, int level, Bytes& out);
void decode_tensor_delta(std::span<const std::uint8_t> stored, std::uint32_t raw_len, std::span<const std::uint8_t> base,
                         Bytes& out, const std::string& what);
// Either kind of delta record (is_delta(c)).
void decode_any_delta(Compression c, std::span<const std::uint8_t> stored, std::uint32_t raw_len,
                      std::span<const std::uint8_t> base, Bytes& out, const std::string& what);

}  // namespace dvt::objects
