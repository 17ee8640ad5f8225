#include "util/hash.hpp"

#include <openssl/evp.h>

#include <cstring>

#include "util/error.hpp"

namespace dvt {

bool Hash32::is_zero() const {
    for (auto b : bytes)
        if (b) return false;
    return true;
}

std::string Hash32::hex() const { return to_hex(bytes.data(), bytes.size()); }

static int hex_val(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<Hash32> Hash32::from_hex(std::string_view hex) {
    if (hex.size() != 64) return std::nullopt;
    Hash32 h;
    for (std::size_t i = 0; i < 32; ++i) {
        int hi = hex_val(hex[2 * i]), lo = hex_val(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        h.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return h;
}

Hash32 Hash32::from_bytes(std::span<const std::uint8_t> b) {
    Hash32 h;
    if (b.size() != 32) throw Error(ErrorKind::internal, "Hash32::from_bytes: wrong size");
    std::memcpy(h.bytes.data(), b.data(), 32);
    return h;
}

bool is_hex(std::string_view s) {
    for (char c : s)
        if (hex_val(c) < 0) return false;
    return true;
}

std::string to_hex(const void* data, std::size_t size) {
    static const char* digits = "0123456789abcdef";
    std::string out(size * 2, '0');
    auto p = static_cast<const std::uint8_t*>(data);
    for (std::size_t i = 0; i < size; ++i) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    return out;
}

Sha256::Sha256() : m_ctx(EVP_MD_CTX_new()) {
    if (!m_ctx) throw Error(ErrorKind::internal, "EVP_MD_CTX_new failed");
    reset();
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(m_ctx)); }

void Sha256::reset() {
    if (EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(m_ctx), EVP_sha256(), nullptr) != 1)
        throw Error(ErrorKind::internal, "EVP_DigestInit_ex failed");
}

void Sha256::update(const void* data, std::size_t size) {
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(m_ctx), data, size);
}

Hash32 Sha256::finish() {
    Hash32 h;
    unsigned int len = 0;
    EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(m_ctx), h.bytes.data(), &len);
    reset();
    return h;
}

Hash32 sha256(const void* data, std::size_t size) {
    Hash32 h;
    unsigned int len = 0;
    EVP_Digest(data, size, h.bytes.data(), &len, EVP_sha256(), nullptr);
    return h;
}

}  // namespace dvt
