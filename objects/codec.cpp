#include "objects/codec.hpp"

#include <zstd.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "objects/limits.hpp"

namespace dvt::objects {

namespace {
struct CCtxDeleter {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};
ZSTD_CCtx* thread_cctx() {
    thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> ctx(ZSTD_createCCtx());
    return ctx.get();
}
ZSTD_DCtx* thread_dctx() {
    thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> ctx(ZSTD_createDCtx());
    return ctx.get();
}
}  // namespace

static void check_frame(std::span<const std::uint8_t> stored, std::uint32_t raw_len, const std::string& what) {
    // exactly one zstd frame, which states its content size, and that size is raw_len
    unsigned long long declared = ZSTD_getFrameContentSize(stored.data(), stored.size());
    if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN || declared != raw_len)
        throw Error(ErrorKind::corrupt, what + ": zstd frame does not state the record's raw length");
    std::size_t frame = ZSTD_findFrameCompressedSize(stored.data(), stored.size());
    if (ZSTD_isError(frame) || frame != stored.size())
        throw Error(ErrorKind::corrupt, what + ": zstd data is not exactly one frame");
}


double byte_entropy(std::span<const std::uint8_t> data) {
    if (data.empty()) return 0.0;
    // Large records are judged on 4096 evenly spaced 4-byte groups (16 KiB): the estimate is within a few hundredths
    // of a bit of the full count on the reference data and costs a quarter of it for 64 KiB chunks.
    if (data.size() > 4 * 16384) {
        thread_local Bytes sample;
        sample.resize(16384);
        std::size_t stride = (data.size() / 4096) & ~std::size_t{3};
        for (std::size_t i = 0; i < 4096; ++i) std::memcpy(sample.data() + 4 * i, data.data() + i * stride, 4);
        data = sample;
    }
    // four interleaved histograms avoid store-to-load stalls on runs of equal bytes
    std::uint32_t h[4][256] = {};
    std::size_t i = 0, n = data.size();
    for (; i + 4 <= n; i += 4) {
        ++h[0][data[i]];
        ++h[1][data[i + 1]];
        ++h[2][data[i + 2]];
        ++h[3][data[i + 3]];
    }
    for (; i < n; ++i) ++h[0][data[i]];
    double e = 0.0, total = static_cast<double>(n);
    for (int b = 0; b < 256; ++b) {
        std::uint32_t c = h[0][b] + h[1][b] + h[2][b] + h[3][b];
        if (c) {
            double p = c / total;
            e -= p * std::log2(p);
        }
    }
    return e;
}

Compression encode_record(std::span<const std::uint8_t> raw, const CodecParams& p, Bytes& out) {
    if (p.level > 0 && raw.size() >= 64 && byte_entropy(raw) < p.skip_entropy_bits) {
        // compress into a reused per-thread buffer, so nothing is zero-filled or reallocated per record
        thread_local Bytes scratch;
        std::size_t bound = ZSTD_compressBound(raw.size());
        if (scratch.size() < bound) scratch.resize(bound);
        std::size_t n = ZSTD_compressCCtx(thread_cctx(), scratch.data(), bound, raw.data(), raw.size(), p.level);
        if (!ZSTD_isError(n) && n <= raw.size() - raw.size() / p.min_gain_divisor) {
            out.insert(out.end(), scratch.data(), scratch.data() + n);
            return Compression::zstd;
        }
    }
    out.insert(out.end(), raw.begin(), raw.end());
    return Compression::none;
}

void decode_record(std::span<const std::uint8_t> stored, Compression c, std::uint32_t raw_len, Bytes& out,
                   const std::string& what) {
    // Nothing is allocated for a record before its claimed sizes are checked against the limits and each other
    // (docs/format.md, "Limits"): a few stored bytes claiming gigabytes are refused, not decompressed.
    if (raw_len > kMaxRecordSize)
        throw Error(ErrorKind::corrupt, what + ": raw length " + std::to_string(raw_len) + " exceeds the limit of " +
                                            std::to_string(kMaxRecordSize) + " bytes");
    if (stored.size() > raw_len)
        throw Error(ErrorKind::corrupt, what + ": stored length exceeds raw length");
    if (c == Compression::none) {
        if (stored.size() != raw_len) throw Error(ErrorKind::corrupt, what + ": stored length differs from raw length");
        out.resize(raw_len);
        if (raw_len) std::memcpy(out.data(), stored.data(), raw_len);
        return;
    }
    if (is_delta(c)) throw Error(ErrorKind::corrupt, what + ": a delta record needs its base");
    if (c != Compression::zstd) throw Error(ErrorKind::corrupt, what + ": unknown compression");
    check_frame(stored, raw_len, what);
    out.resize(raw_len);
    std::size_t n = ZSTD_decompressDCtx(thread_dctx(), out.data(), raw_len, stored.data(), stored.size());
    if (ZSTD_isError(n) || n != raw_len)
        throw Error(ErrorKind::corrupt, what + ": zstd data is damaged");
}

void encode_delta(std::span<const std::uint8_t> raw, std::span<const std::uint8_t> base, const Hash32& base_id,
                  int level, Bytes& out) {
    ZSTD_CCtx* c = thread_cctx();
    ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level > 0 ? level : 1);
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
    if (ZSTD_isError(ZSTD_CCtx_refPrefix(c, base.data(), base.size())))
        throw Error(ErrorKind::internal, "zstd: cannot reference a delta base");
    std::size_t at = out.size();
    std::size_t bound = ZSTD_compressBound(raw.size());
    out.resize(at + kDeltaBaseIdSize + bound);
    std::memcpy(out.data() + at, base_id.bytes.data(), kDeltaBaseIdSize);
    std::size_t n = ZSTD_compress2(c, out.data() + at + kDeltaBaseIdSize, bound, raw.data(), raw.size());
    // leave the context as encode_record expects it (ZSTD_compressCCtx sets its level; the prefix is single-use)
    ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
    if (ZSTD_isError(n)) throw Error(ErrorKind::internal, std::string("zstd: ") + ZSTD_getErrorName(n));
    out.resize(at + kDeltaBaseIdSize + n);
}

Hash32 delta_base_id(std::span<const std::uint8_t> stored, const std::string& what) {
    if (stored.size() < kDeltaBaseIdSize) throw Error(ErrorKind::corrupt, what + ": delta record too short for its base id");
    return Hash32::from_bytes(stored.first(kDeltaBaseIdSize));
}

void decode_delta(std::span<const std::uint8_t> stored, std::uint32_t raw_len, std::span<const std::uint8_t> base,
                  Bytes& out, const std::string& what) {
    if (raw_len > kMaxChunkSize)
        throw Error(ErrorKind::corrupt, what + ": delta of " + std::to_string(raw_len) + " bytes exceeds the chunk limit");
    if (stored.size() > raw_len) throw Error(ErrorKind::corrupt, what + ": stored length exceeds raw length");
    if (base.size() > kMaxChunkSize) throw Error(ErrorKind::corrupt, what + ": delta base exceeds the chunk limit");
    delta_base_id(stored, what);
    auto frame = stored.subspan(kDeltaBaseIdSize);
    check_frame(frame, raw_len, what);
    ZSTD_DCtx* d = thread_dctx();
    ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
    if (ZSTD_isError(ZSTD_DCtx_refPrefix(d, base.data(), base.size())))
        throw Error(ErrorKind::internal, "zstd: cannot reference a delta base");
    out.resize(raw_len);
    std::size_t n = ZSTD_decompressDCtx(d, out.data(), raw_len, frame.data(), frame.size());
    ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
    if (ZSTD_isError(n) || n != raw_len) throw Error(ErrorKind::corrupt, what + ": zstd delta data is damaged");
}

namespace {
bool valid_width(std::uint8_t w) { return w == 1 || w == 2 || w == 4 || w == 8; }

// out = planes(a XOR b, w) (see codec.hpp); out has |a| bytes
void xor_planes(const std::uint8_t* a, const std::uint8_t* b, std::size_t len, std::uint8_t w, std::uint8_t* out) {
    std::size_t n = len / w;
    for (std::size_t k = 0; k < n; ++k)
        for (std::size_t p = 0; p < w; ++p) out[p * n + k] = a[k * w + p] ^ b[k * w + p];
    for (std::size_t i = n * w; i < len; ++i) out[i] = a[i] ^ b[i];
}

// inverse: out[k*w+p] = planes[p*n+k] XOR base[k*w+p]
void unplane_xor(const std::uint8_t* planes, const std::uint8_t* base, std::size_t len, std::uint8_t w,
                 std::uint8_t* out) {
    std::size_t n = len / w;
    for (std::size_t p = 0; p < w; ++p)
        for (std::size_t k = 0; k < n; ++k) out[k * w + p] = planes[p * n + k] ^ base[k * w + p];
    for (std::size_t i = n * w; i < len; ++i) out[i] = planes[i] ^ base[i];
}
}  // namespace

void encode_tensor_delta(std::span<const std::uint8_t> raw, std::span<const std::uint8_t> base, const Hash32& base_id,
                         std::uint8_t width, int level, Bytes& out) {
    if (raw.size() != base.size() || !valid_width(width))
        throw Error(ErrorKind::internal, "encode_tensor_delta: base of another length or bad element width");
    thread_local Bytes planes, scratch;
    planes.resize(raw.size());
    xor_planes(raw.data(), base.data(), raw.size(), width, planes.data());
    std::size_t bound = ZSTD_compressBound(raw.size());
    if (scratch.size() < bound) scratch.resize(bound);
    std::size_t n = ZSTD_compressCCtx(thread_cctx(), scratch.data(), bound, planes.data(), planes.size(),
                                      level > 0 ? level : 1);
    if (ZSTD_isError(n)) throw Error(ErrorKind::internal, std::string("zstd: ") + ZSTD_getErrorName(n));
    out.insert(out.end(), base_id.bytes.begin(), base_id.bytes.end());
    out.push_back(width);
    out.insert(out.end(), scratch.data(), scratch.data() + n);
}

void decode_tensor_delta(std::span<const std::uint8_t> stored, std::uint32_t raw_len, std::span<const std::uint8_t> base,
                         Bytes& out, const std::string& what) {
    if (raw_len > kMaxChunkSize)
        throw Error(ErrorKind::corrupt, what + ": delta of " + std::to_string(raw_len) + " bytes exceeds the chunk limit");
    if (stored.size() > raw_len) throw Error(ErrorKind::corrupt, what + ": stored length exceeds raw length");
    if (stored.size() < kDeltaBaseIdSize + 1)
        throw Error(ErrorKind::corrupt, what + ": tensor delta record too short for its base id and element width");
    std::uint8_t width = stored[kDeltaBaseIdSize];
    if (!valid_width(width))
        throw Error(ErrorKind::corrupt, what + ": tensor delta has element width " + std::to_string(width));
    if (base.size() != raw_len)
        throw Error(ErrorKind::corrupt, what + ": tensor delta base has " + std::to_string(base.size()) +
                                            " bytes, the chunk " + std::to_string(raw_len));
    auto frame = stored.subspan(kDeltaBaseIdSize + 1);
    check_frame(frame, raw_len, what);
    thread_local Bytes planes;
    planes.resize(raw_len);
    std::size_t n = ZSTD_decompressDCtx(thread_dctx(), planes.data(), raw_len, frame.data(), frame.size());
    if (ZSTD_isError(n) || n != raw_len) throw Error(ErrorKind::corrupt, what + ": zstd tensor delta data is damaged");
    out.resize(raw_len);
    unplane_xor(planes.data(), base.data(), raw_len, width, out.data());
}

void decode_any_delta(Compression c, std::span<const std::uint8_t> stored, std::uint32_t raw_len,
                      std::span<const std::uint8_t> base, Bytes& out, const std::string& what) {
    if (c == Compression::zstd_delta) decode_delta(stored, raw_len, base, out, what);
    else if (c == Compression::tensor_delta) decode_tensor_delta(stored, raw_len, base, out, what);
    else throw Error(ErrorKind::internal, what + ": not a delta record");
}

}  // namespace dvt::objects
