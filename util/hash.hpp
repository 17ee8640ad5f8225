// SHA-256 (OpenSSL, SHA-NI where the CPU has it) and the 32-byte id type used for every object.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dvt {

struct Hash32 {
    std::array<std::uint8_t, 32> bytes{};

    auto operator<=>(const Hash32&) const = default;
    bool is_zero() const;
    std::string hex() const;                                      // 64 lowercase hex digits
    static std::optional<Hash32> from_hex(std::string_view hex);  // exactly 64 hex digits, else nullopt
    static Hash32 from_bytes(std::span<const std::uint8_t> b);    // b.size() must be 32
};

struct Hash32Hasher {
    std::size_t operator()(const Hash32& h) const noexcept {
        std::size_t v;
        static_assert(sizeof v <= 32);
        __builtin_memcpy(&v, h.bytes.data(), sizeof v);
        return v;
    }
};

// Incremental SHA-256.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, std::size_t size);
    void update(std::string_view s) { update(s.data(), s.size()); }
    Hash32 finish();  // the object may be reused after reset()
    void reset();

private:
    void* m_ctx;
};

Hash32 sha256(const void* data, std::size_t size);
inline Hash32 sha256(std::span<const std::uint8_t> b) { return sha256(b.data(), b.size()); }
inline Hash32 sha256(std::string_view s) { return sha256(s.data(), s.size()); }

std::string to_hex(const void* data, std::size_t size);
bool is_hex(std::string_view s);

}  // namespace dvt
