#include "core/config.hpp"

#include <cctype>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::core {

static std::string trim(std::string s) {
    auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

// Whether serialize() writes `key` so that parse() reads the same key back: serialize() puts the part before the first
// '.' in the [section] line and the rest at the start of a "name = value" line, where surrounding blanks are trimmed,
// a leading '#', ';' or '[' makes another kind of line, and an '=' ends the name.
static bool writable_key(const std::string& key) {
    auto dot = key.find('.');
    if (dot == 0 || dot == std::string::npos) return false;
    std::string section = key.substr(0, dot), name = key.substr(dot + 1);
    if (trim(section) != section || trim(name) != name || name.find('=') != std::string::npos) return false;
    return name.empty() || (name[0] != '#' && name[0] != ';' && name[0] != '[');
}

Config Config::parse(const std::string& text) {
    Config c;
    std::string section;
    std::size_t pos = 0, lineno = 0;
    while (pos <= text.size()) {
        auto nl = text.find('\n', pos);
        std::string line = trim(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
        pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
        ++lineno;
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (line.front() == '[') {
            if (line.back() != ']') throw Error(ErrorKind::corrupt, "config line " + std::to_string(lineno) + ": bad section");
            section = trim(line.substr(1, line.size() - 2));
            continue;
        }
        auto eq = line.find('=');
        if (eq == std::string::npos || section.empty())
            throw Error(ErrorKind::corrupt, "config line " + std::to_string(lineno) + ": expected 'key = value'");
        std::string key = section + "." + trim(line.substr(0, eq));
        if (!writable_key(key))  // e.g. "[a. b]": dvt would write it back as another key
            throw Error(ErrorKind::corrupt, "config line " + std::to_string(lineno) + ": malformed key '" + key + "'");
        c.m_values[key] = trim(line.substr(eq + 1));
    }
    return c;
}

Config Config::load(const std::filesystem::path& p) {
    auto text = util::try_read_text(p);
    if (!text) throw Error(ErrorKind::not_a_repository, p.string() + " is missing");
    return parse(*text);
}

std::string Config::serialize() const {
    std::string out, section;
    for (const auto& [k, v] : m_values) {
        auto dot = k.find('.');
        std::string s = k.substr(0, dot), name = k.substr(dot + 1);
        if (s != section) {
            out += "[" + s + "]\n";
            section = s;
        }
        out += "\t" + name + " = " + v + "\n";
    }
    return out;
}

void Config::save(const std::filesystem::path& p) const { util::atomic_write_file(p, serialize()); }

std::optional<std::string> Config::get(const std::string& key) const {
    auto it = m_values.find(key);
    if (it == m_values.end()) return std::nullopt;
    return it->second;
}

std::string Config::get_or(const std::string& key, const std::string& fallback) const {
    auto v = get(key);
    return v ? *v : fallback;
}

namespace {

const IntSetting* int_setting(const std::string& key) {
    for (const auto& s : kIntSettings)
        if (key == s.key) return &s;
    return nullptr;
}

// Strict: an optional '-' and 1..18 decimal digits (no '+', blanks, exponent; cannot overflow an int64).
std::optional<std::int64_t> parse_int(const std::string& v) {
    std::size_t i = v.size() > 1 && v[0] == '-' ? 1 : 0;
    if (v.size() - i == 0 || v.size() - i > 18) return std::nullopt;
    std::int64_t n = 0;
    for (std::size_t k = i; k < v.size(); ++k) {
        if (v[k] < '0' || v[k] > '9') return std::nullopt;
        n = n * 10 + (v[k] - '0');
    }
    return i ? -n : n;
}

std::int64_t checked_int(const std::string& key, const std::string& v) {
    auto n = parse_int(v);
    const IntSetting* s = int_setting(key);
    if (!n || (s && (*n < s->min || *n > s->max)))
        throw Error(ErrorKind::usage, "config " + key + " = '" + v + "' is not a whole number" +
                                          (s ? " from " + std::to_string(s->min) + " to " + std::to_string(s->max)
                                             : std::string()));
    return *n;
}

bool valid_section(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    return true;
}

bool valid_name(const std::string& s) {
    if (s.empty() || s.front() == '.' || s.back() == '.' || s.find("..") != std::string::npos) return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
    return true;
}

}  // namespace

bool valid_config_key(const std::string& key) {
    auto dot = key.find('.');
    return dot != std::string::npos && key.size() <= 256 && valid_section(key.substr(0, dot)) &&
           valid_name(key.substr(dot + 1));
}

std::int64_t Config::get_int(const std::string& key, std::int64_t fallback) const {
    auto v = get(key);
    if (!v) return fallback;
    return checked_int(key, *v);
}

void Config::set(const std::string& key, const std::string& value) {
    if (!valid_config_key(key))
        throw Error(ErrorKind::usage, "invalid config key '" + key +
                                          "' (section.name: letters, digits and '-', then letters, digits, '-', '_', '.')");
    for (char c : value)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
            throw Error(ErrorKind::usage, "config " + key + ": the value must be one line without control characters");
    if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' || value.back() == '\t'))
        throw Error(ErrorKind::usage, "config " + key + ": the value cannot start or end with a blank");
    if (int_setting(key)) checked_int(key, value);
    m_values[key] = value;
}

void Config::unset(const std::string& key) { m_values.erase(key); }

}  // namespace dvt::core
