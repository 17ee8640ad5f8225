// The repository config file .dvt/config: git-style sections, "key = value" lines (docs/format.md, "Config").
// Keys are addressed as "section.key". Unknown keys are kept and ignored.
//
// What set() accepts is what parse() reads back unchanged (docs/cli.md, `dvt config`):
//   key     section "." name; section: letters, digits, '-'; name: letters, digits, '-', '_', '.' (no leading,
//           trailing or doubled '.'), e.g. "user.name", "remote.origin.peers"
//   value   one line: no control character other than a tab inside it, no blank at either end
//   known   numeric settings are checked against their range (kIntSettings), on set and on read
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace dvt::core {

constexpr std::uint64_t kMinPackSize = 1ull << 20;  // pack.size, init --pack-size: 1 MiB ..
constexpr std::uint64_t kMaxPackSize = 4ull << 30;  // .. 4 GiB

struct IntSetting {
    const char* key;
    std::int64_t min, max;
};
// The numeric settings dvt reads, with their ranges (a value outside is a usage error, on set and on read).
inline constexpr IntSetting kIntSettings[] = {
    {"pack.size", static_cast<std::int64_t>(kMinPackSize), static_cast<std::int64_t>(kMaxPackSize)},
    {"compression.level", 0, 19},
    {"pack.delta-depth", 0, 64},  // objects::kMaxDeltaDepth (static_assert in core/repository.cpp)
    {"pack.tensor-delta-depth", 0, 64},  // tensor delta chains (compression 3); at most pack.delta-depth applies
    {"pack.extra-packs", 0, 32},  // a commit names at most ⌈bytes / pack.size⌉ + this many packs (core/swarms.hpp)
    // 32-bit so that they cannot wrap; ChunkerParams::validate() checks what the chunker accepts
    {"chunker.min", 0, 0xFFFFFFFF},
    {"chunker.avg", 0, 0xFFFFFFFF},
    {"chunker.max", 0, 0xFFFFFFFF},
    {"chunker.tensors", 0, 1},  // tensor-aware chunking of safetensors files (docs/format.md, "Chunking")
};

bool valid_config_key(const std::string& key);

class Config {
public:
    static Config parse(const std::string& text);  // throws corrupt on a malformed line
    static Config load(const std::filesystem::path& p);
    std::string serialize() const;
    void save(const std::filesystem::path& p) const;  // atomic

    std::optional<std::string> get(const std::string& key) const;
    std::string get_or(const std::string& key, const std::string& fallback) const;
    // A whole number (decimal, optional '-'); usage error if it is not one or lies outside the key's kIntSettings range.
    std::int64_t get_int(const std::string& key, std::int64_t fallback) const;
    // usage error (nothing changed) for a key or value that would not read back as written, or a known setting's
    // value out of its range
    void set(const std::string& key, const std::string& value);
    void unset(const std::string& key);
    const std::map<std::string, std::string>& values() const { return m_values; }

private:
    std::map<std::string, std::string> m_values;
};

}  // namespace dvt::core
