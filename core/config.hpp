// The repository config file .dvt/config: git-style sections, "key = value" lines (docs/format.md, "Config").
// Keys are addressed as "section.key". Unknown keys are kept and ignored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace dvt::core {

class Config {
public:
    static Config parse(const std::string& text);  // throws corrupt on a malformed line
    static Config load(const std::filesystem::path& p);
    std::string serialize() const;
    void save(const std::filesystem::path& p) const;  // atomic

    std::optional<std::string> get(const std::string& key) const;
    std::string get_or(const std::string& key, const std::string& fallback) const;
    std::int64_t get_int(const std::string& key, std::int64_t fallback) const;  // throws usage if not a number
    void set(const std::string& key, const std::string& value);
    void unset(const std::string& key);
    const std::map<std::string, std::string>& values() const { return m_values; }

private:
    std::map<std::string, std::string> m_values;
};

}  // namespace dvt::core
