#include "transport/remote.hpp"

#include <set>
#include <sstream>

#include "transport/keys.hpp"
#include "util/error.hpp"

namespace dvt::transport {

namespace {

void check_name(const std::string& name) {
    bool ok = !name.empty() && name.size() <= 100 && name[0] != '.' && name[0] != '-';
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) ok = false;
    if (!ok) throw Error(ErrorKind::usage, "'" + name + "' is not a valid remote name (letters, digits, - _ .)");
}

std::vector<std::string> words(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& w : v) out += (out.empty() ? "" : " ") + w;
    return out;
}

}  // namespace

Remote load_remote(const core::Config& c, const std::string& name) {
    check_name(name);
    auto peers = c.get("remote." + name + ".peers");
    auto trackers = c.get("remote." + name + ".trackers");
    auto url = c.get("remote." + name + ".url");
    auto mirrors = c.get("remote." + name + ".mirrors");
    auto bootstrap = c.get("remote." + name + ".bootstrap");
    if (!peers && !trackers && !url && !mirrors) throw Error(ErrorKind::not_found, "no remote named '" + name + "' (see dvt remote)");
    Remote r;
    r.name = name;
    try {
        for (const auto& p : words(peers.value_or(""))) r.peers.push_back(parse_endpoint(p, "peer address", false));
        for (const auto& t : words(trackers.value_or(""))) r.trackers.push_back(check_tracker_url(t));
        if (url) {
            parse_repo_url(*url);
            r.url = *url;
        }
        for (const auto& m : words(mirrors.value_or(""))) {
            if (!m.starts_with("http://")) throw Error(ErrorKind::usage, "mirror '" + m + "' is not an http:// URL");
            r.mirrors.push_back(m);
        }
        r.bootstrap = words(bootstrap.value_or(""));
    } catch (const Error& e) {
        throw Error(ErrorKind::corrupt, "remote '" + name + "' in .dvt/config: " + e.what());
    }
    return r;
}

void save_remote(core::Config& c, const Remote& r) {
    check_name(r.name);
    std::vector<std::string> peers;
    for (const auto& p : r.peers) peers.push_back(endpoint_string(p));
    remove_remote(c, r.name);
    if (!peers.empty()) c.set("remote." + r.name + ".peers", join(peers));
    if (!r.trackers.empty()) c.set("remote." + r.name + ".trackers", join(r.trackers));
    if (!r.url.empty()) c.set("remote." + r.name + ".url", r.url);
    if (!r.mirrors.empty()) c.set("remote." + r.name + ".mirrors", join(r.mirrors));
    if (!r.bootstrap.empty()) c.set("remote." + r.name + ".bootstrap", join(r.bootstrap));
}

void remove_remote(core::Config& c, const std::string& name) {
    check_name(name);
    c.unset("remote." + name + ".peers");
    c.unset("remote." + name + ".trackers");
    for (const char* k : {".url", ".mirrors", ".bootstrap"}) c.unset("remote." + name + k);
}

std::vector<Remote> list_remotes(const core::Config& c) {
    std::set<std::string> names;
    for (const auto& [k, v] : c.values()) {
        if (!k.starts_with("remote.")) continue;
        auto rest = k.substr(7);
        for (const char* suffix : {".peers", ".trackers", ".url", ".mirrors"})
            if (rest.ends_with(suffix)) names.insert(rest.substr(0, rest.size() - std::string(suffix).size()));
    }
    std::vector<Remote> out;
    for (const auto& n : names) out.push_back(load_remote(c, n));
    return out;
}

}  // namespace dvt::transport
