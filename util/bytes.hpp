// Little-endian integer encoding and a bounds-checked reader for binary records.
// Every decoder reads through ByteReader, so a truncated or oversized field becomes ErrorKind::corrupt, never UB.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/hash.hpp"

namespace dvt {

using Bytes = std::vector<std::uint8_t>;

inline void put_u8(Bytes& out, std::uint8_t v) { out.push_back(v); }
inline void put_u16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
}
inline void put_u32(Bytes& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline void put_u64(Bytes& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline void put_bytes(Bytes& out, const void* p, std::size_t n) {
    if (n == 0) return;
    std::size_t old = out.size();
    out.resize(old + n);
    std::memcpy(out.data() + old, p, n);
}
inline void put_str(Bytes& out, std::string_view s) { put_bytes(out, s.data(), s.size()); }
inline void put_hash(Bytes& out, const Hash32& h) { put_bytes(out, h.bytes.data(), 32); }

inline std::uint16_t load_u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
inline std::uint32_t load_u32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}
inline std::uint64_t load_u64(const std::uint8_t* p) { return load_u32(p) | std::uint64_t(load_u32(p + 4)) << 32; }

class ByteReader {
public:
    ByteReader(std::span<const std::uint8_t> data, std::string what) : m_data(data), m_what(std::move(what)) {}

    std::size_t remaining() const { return m_data.size() - m_pos; }
    std::size_t position() const { return m_pos; }
    bool at_end() const { return m_pos == m_data.size(); }

    std::span<const std::uint8_t> take(std::size_t n) {
        if (n > remaining()) fail("truncated");
        auto s = m_data.subspan(m_pos, n);
        m_pos += n;
        return s;
    }
    std::uint8_t u8() { return take(1)[0]; }
    std::uint16_t u16() {
        auto s = take(2);
        return static_cast<std::uint16_t>(s[0] | s[1] << 8);
    }
    std::uint32_t u32() { return load_u32(take(4).data()); }
    std::uint64_t u64() { return load_u64(take(8).data()); }
    Hash32 hash() { return Hash32::from_bytes(take(32)); }
    std::string_view str(std::size_t n) {
        auto s = take(n);
        return {reinterpret_cast<const char*>(s.data()), s.size()};
    }
    void expect_end() {
        if (!at_end()) fail("trailing bytes");
    }
    [[noreturn]] void fail(const std::string& why) const {
        throw Error(ErrorKind::corrupt, m_what + ": " + why + " at byte " + std::to_string(m_pos));
    }

private:
    std::span<const std::uint8_t> m_data;
    std::size_t m_pos = 0;
    std::string m_what;
};

}  // namespace dvt
