#include "transport/remote.hpp"

#include <set>
#include <sstream>

#include "core/worktree.hpp"
#include "hooks/lockfile.hpp"
#include "transport/keys.hpp"
#include "transport/dht.hpp"
#include "transport/lsd.hpp"
#include "transport/session.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

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
            r.mirrors.push_back(check_mirror_url(m));
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

std::optional<std::string> default_remote(const core::Config& c, bool mirrors_count) {
    if (c.get("remote.origin.peers") || c.get("remote.origin.trackers") ||
        (mirrors_count && c.get("remote.origin.mirrors")))
        return "origin";
    return std::nullopt;
}

namespace {

namespace fs = std::filesystem;

// dvt.lock above `start` (hooks/lockfile.hpp): the pinned commit, the dataset directory (initialised as an empty
// repository if it has none yet) and the peers and trackers to use.
struct Pin {
    std::string commit;
    fs::path dir;
    std::vector<std::string> peers, trackers;
};

Pin read_pin(const fs::path& start, const Say& info) {
    auto say = [&info](const std::string& m) {
        if (info) info(m);
    };
    auto lock_path = hooks::lock_file_path(start);
    if (!lock_path)
        throw Error(ErrorKind::usage, "pull needs a commit id, or a dvt.lock at the root of the git work tree "
                                      "(see 'dvt pin'; DVT_PIN_FILE names another lock file)");
    auto lock = hooks::read_lock_file(*lock_path);
    Pin p{lock.commit, hooks::dataset_dir(*lock_path, lock), lock.peers, lock.trackers};
    if (!util::path_exists(p.dir / ".dvt" / "config")) {  // a fresh checkout of the code (CI): start the dataset here
        core::Repository::init(p.dir, core::InitOptions{});
        say("initialised an empty dataset repository in " + p.dir.string() + " for the pinned commit");
    }
    say("pulling " + p.commit.substr(0, 12) + " into " + p.dir.string() + " as pinned in " + lock_path->string());
    return p;
}

}  // namespace

PullSource resolve_pull_source(PullRequest req) {
    auto& opts = req.options;
    auto& pos = req.positional;
    auto start = [&req] { return req.dir.empty() ? fs::current_path() : fs::absolute(req.dir); };
    std::unique_ptr<core::Repository> repo;
    std::optional<Remote> follow;  // `dvt pull` in a clone of a dvt:// repository: its latest version
    if (pos.empty() && !hooks::lock_file_path(start())) {
        try {
            repo = req.open(req.dir);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::not_a_repository) throw;  // no repository: the dvt.lock path reports it
        }
        if (repo && repo->config().get("remote.origin.url")) {
            follow = load_remote(repo->config(), "origin");
            req.branch = repo->config().get_or("remote.origin.branch", req.branch);
            pos = {follow->url};
        }
    }
    if (pos.empty()) {  // in a git work tree: the commit, directory and peers pinned in dvt.lock
        auto pin = read_pin(start(), req.info);
        pos = {pin.commit};
        req.dir = pin.dir;
        repo.reset();
        if (opts.peers.empty() && opts.trackers.empty()) {
            for (const auto& p : pin.peers) opts.peers.push_back(parse_endpoint(p, "peer address", false));
            for (const auto& t : pin.trackers) opts.trackers.push_back(check_tracker_url(t));
        }
    }
    bool published = pos.back().starts_with("dvt://");
    Hash32 id;
    if (!published) id = parse_commit_id(pos.back());
    if (!repo) repo = req.open(req.dir);
    auto& config = repo->config();
    std::optional<std::string> remote;
    if (pos.size() == 2) remote = pos[0];
    else if (opts.peers.empty() && opts.trackers.empty() && !follow) remote = default_remote(config, true);
    if (remote) {
        auto r = load_remote(config, *remote);
        opts.peers.insert(opts.peers.end(), r.peers.begin(), r.peers.end());
        opts.trackers.insert(opts.trackers.end(), r.trackers.begin(), r.trackers.end());
        opts.web_seeds.insert(opts.web_seeds.end(), r.mirrors.begin(), r.mirrors.end());
        if (!opts.dht.enabled && !r.bootstrap.empty()) opts.dht = dht_options(nullptr, r.bootstrap, false);
        if (!published && !r.url.empty() && !opts.dht.enabled) opts.dht = dht_options(&config, {}, true);
    }
    if (!opts.dht.enabled) opts.dht = dht_options(&config, {}, false);
    opts.lsd = lsd_option(&config, opts.lsd);
    opts.net = net_options(&config, opts.net.port_mapping == PortMapping::on);
    if (published) {
        if (follow && !opts.dht.enabled) opts.dht = dht_options(nullptr, follow->bootstrap, true);
        if (follow) {
            opts.peers.insert(opts.peers.end(), follow->peers.begin(), follow->peers.end());
            opts.web_seeds.insert(opts.web_seeds.end(), follow->mirrors.begin(), follow->mirrors.end());
        }
        std::vector<std::string> seeds;
        id = resolve_published(parse_repo_url(pos.back()), "refs/heads/" + req.branch, opts, seeds, req.warn);
        opts.web_seeds.insert(opts.web_seeds.end(), seeds.begin(), seeds.end());
    }
    auto cwd = start();
    for (const auto& p : req.paths) opts.paths.push_back(core::repo_relative(*repo, cwd, p));
    return PullSource{std::move(repo), id, std::move(opts)};
}

CloneResult clone_from(const std::string& source, const fs::path& dir, const std::string& branch, PullOptions opts,
                       const Say& warn, const std::function<void()>& fetching) {
    bool published = source.starts_with("dvt://");
    Hash32 id;
    if (!published) id = parse_commit_id(source);
    if (opts.peers.empty() && opts.trackers.empty() && opts.web_seeds.empty() && !opts.dht.enabled && !opts.lsd)
        throw Error(ErrorKind::usage,
                    "clone needs --peer IP:PORT, --tracker URL, --mirror URL, the DHT (--bootstrap) or --lsd");
    std::optional<Remote> origin;
    if (published) {  // a published repository: its branch through the DHT
        auto pk = parse_repo_url(source);
        std::vector<std::string> seeds;
        id = resolve_published(pk, "refs/heads/" + branch, opts, seeds, warn);
        opts.web_seeds.insert(opts.web_seeds.end(), seeds.begin(), seeds.end());
        origin = Remote{"origin", "dvt://" + public_hex(pk), opts.peers, opts.trackers, opts.web_seeds,
                        opts.dht.bootstrap};
    }
    if (fetching) fetching();
    auto r = clone(id, dir, opts);
    if (origin) {  // remember where it came from: `dvt pull` then follows the published branch
        auto repo = core::Repository::open(r.root);
        auto lock = repo->write_lock();
        save_remote(repo->config(), *origin);
        repo->config().set("remote.origin.branch", branch);
        repo->save_config();
    }
    return r;
}

}  // namespace dvt::transport
