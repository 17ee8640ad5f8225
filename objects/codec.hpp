// Per-record compression: zstd, or raw when compression does not pay.
//
// The rule (docs/format.md, "Compression"): a record is stored raw if the order-0 byte entropy of its content is at
// least `skip_entropy_bits` bits per byte (random-looking data such as JPEG payloads: zstd would not gain and the
// attempt costs time), or if zstd at `level` does not save at least 1/`min_gain_divisor` of the bytes. Readers do not
// depend on the rule: each record says how it is stored.
#pragma once

#include <cstdint>
#include <span>

#include "util/bytes.hpp"

namespace dvt::objects {

enum class Compression : std::uint8_t { none = 0, zstd = 1 };

struct CodecParams {
    int level = 3;                    // zstd level; 0 disables compression
    double skip_entropy_bits = 7.5;   // store raw without trying at or above this entropy
    std::uint32_t min_gain_divisor = 32;  // must save >= 1/32 (3.1 %) to be kept compressed
};

// Order-0 entropy in bits per byte (records over 64 KiB are estimated from a 16 KiB sample).
double byte_entropy(std::span<const std::uint8_t> data);

// Appends the stored form of `raw` to `out` and returns how it is stored.
Compression encode_record(std::span<const std::uint8_t> raw, const CodecParams& p, Bytes& out);

// Decodes a stored record into `out` (resized to raw_len). Throws ErrorKind::corrupt on any mismatch.
void decode_record(std::span<const std::uint8_t> stored, Compression c, std::uint32_t raw_len, Bytes& out,
                   const std::string& what);

}  // namespace dvt::objects
