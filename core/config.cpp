#include "core/config.hpp"

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

std::int64_t Config::get_int(const std::string& key, std::int64_t fallback) const {
    auto v = get(key);
    if (!v) return fallback;
    try {
        std::size_t used = 0;
        long long n = std::stoll(*v, &used);
        if (used != v->size()) throw std::invalid_argument("trailing");
        return n;
    } catch (const std::exception&) {
        throw Error(ErrorKind::usage, "config " + key + " = '" + *v + "' is not a whole number");
    }
}

void Config::set(const std::string& key, const std::string& value) {
    if (key.find('.') == std::string::npos || value.find('\n') != std::string::npos)
        throw Error(ErrorKind::usage, "invalid config key or value: " + key);
    m_values[key] = value;
}

void Config::unset(const std::string& key) { m_values.erase(key); }

}  // namespace dvt::core
