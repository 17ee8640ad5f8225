#include "transport/pull.hpp"

#include <libtorrent/read_resume_data.hpp>

#include <algorithm>
#include <cctype>
#include <limits>

#include "core/clone_state.hpp"
#include "core/history.hpp"
#include "core/hook_points.hpp"
#include "core/tree.hpp"
#include "transport/dht.hpp"
#include "transport/lsd.hpp"
#include "transport/session.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::transport {

namespace fs = std::filesystem;

Hash32 parse_commit_id(std::string_view text) {
    std::string lower(text);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto h = lower.size() == 64 && std::all_of(lower.begin(), lower.end(),
                                               [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })
                 ? Hash32::from_hex(lower)
                 : std::nullopt;
    if (!h)
        throw Error(ErrorKind::usage,
                    "'" + std::string(text) + "' is not a commit id (a swarm fetch needs the full 64-hex-digit id)");
    if (*h == Hash32{}) throw Error(ErrorKind::usage, "the all-zero id names no commit");
    return *h;
}

std::unique_ptr<SwarmSession> open_session(const PullOptions& opts) {
    if (opts.peers.empty() && opts.trackers.empty() && opts.web_seeds.empty() && !opts.dht.enabled && !opts.lsd)
        throw Error(ErrorKind::usage,
                    "no peer, tracker, mirror, DHT or LAN discovery given (use --peer IP:PORT, --tracker URL, "
                    "--bootstrap IP:PORT, --dht, --lsd, or a remote)");
    Endpoint listen;
    if (opts.listen) {
        listen = *opts.listen;
    } else if (!opts.peers.empty()) {
        listen = Endpoint(local_address_towards(opts.peers.front()), 0);
    } else if (auto a = opts.trackers.empty() ? std::nullopt : tracker_address(opts.trackers.front())) {
        listen = Endpoint(local_address_towards(Endpoint(*a, 80)), 0);
    } else if (auto w = opts.web_seeds.empty() ? std::nullopt : tracker_address(opts.web_seeds.front())) {
        listen = Endpoint(local_address_towards(Endpoint(*w, 80)), 0);
    } else if (auto node = opts.dht.enabled ? first_bootstrap_address(opts.dht) : std::nullopt) {
        listen = Endpoint(local_address_towards(*node), 0);
    } else if (opts.lsd) {
        listen = Endpoint(lsd_local_address(), 0);
    } else {
        throw Error(ErrorKind::usage, "give --listen IP: no peer, tracker or bootstrap node is an IP address");
    }
    auto s = std::make_unique<SwarmSession>(listen);
    s->set_rate_limits(opts.upload_limit, opts.download_limit);
    // "auto" port mapping: only when dvt chose the address and looks for peers beyond the ones it was given
    s->set_reach(opts.net.utp, wants_port_mapping(opts.net, s->listen_endpoint().address(),
                                                  !opts.listen && (opts.dht.enabled || opts.lsd)));
    if (opts.lsd) enable_lsd(*s);
    if (opts.dht.enabled) {
        DhtOptions d = opts.dht;
        d.read_only = true;  // a pull is short-lived
        enable_dht(*s, d);
        wait_dht_ready(*s, std::min<std::chrono::milliseconds>(opts.timeout, std::chrono::seconds(30)));
    }
    return s;
}

Hash32 resolve_published(const PublicKey& pk, const std::string& ref, const PullOptions& opts,
                         std::vector<std::string>& web_seeds, const std::function<void(const std::string&)>& warn) {
    if (!opts.dht.enabled) throw Error(ErrorKind::usage, "a dvt:// address needs the DHT: give --bootstrap HOST:PORT or --dht");
    PullOptions o = opts;
    o.peers.clear();
    o.trackers.clear();
    o.web_seeds.clear();
    auto session = open_session(o);
    auto r = resolve_ref(*session, pk, ref, opts.timeout, warn);
    auto seeds = record_web_seeds(r.answer.item);
    web_seeds.insert(web_seeds.end(), seeds.begin(), seeds.end());
    return r.commit;
}

bool have_paths(core::Repository& repo, const Hash32& id, const std::vector<std::string>& paths) {
    auto& store = repo.store();
    auto c = store.read_commit(id);
    if (!c) return false;
    try {
        auto flat = core::flatten_paths(store, *c, paths);
        if (flat.empty()) return false;
        for (const auto& [path, fe] : flat) {
            if (fe.kind == objects::EntryKind::symlink || fe.kind == objects::EntryKind::directory) continue;
            for (const auto& ch : store.read_file_object(fe.id).chunks)
                if (!store.locate(ch.id)) return false;
        }
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::not_found) return false;
        throw;
    }
    return true;
}

bool have_everything(core::Repository& repo, const Hash32& id) {
    auto& store = repo.store();
    if (!store.has_commit(id)) return false;
    auto c = store.read_commit(id);
    bool partial = false;
    for (const auto& p : c->packs) {
        auto have = store.pack_by_id(p.id);
        if (!have) return false;
        partial = partial || have->partial;
    }
    // a pack held in part (a clone that fetched only the live pieces, or a pull of some paths): every object needed
    return !partial || have_paths(repo, id, {});
}

namespace {

// Whether a clone that failed holds something verified worth keeping: the version imported (its ref), or a partial
// pack whose resume data lists a piece libtorrent verified against the pack's merkle tree.
// Pieces of packs in partial/ that resume data lists as verified (a later pull or clone does not fetch them again).
bool holds_verified_pieces(core::Repository& repo) {
    std::error_code ec;
    for (fs::directory_iterator it(repo.store().partial_dir(), ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() != ".resume") continue;
        auto text = util::try_read_text(it->path());
        if (!text) continue;
        lt::error_code lec;
        auto atp = lt::read_resume_data({text->data(), static_cast<std::ptrdiff_t>(text->size())}, lec);
        if (!lec && atp.have_pieces.count() > 0) return true;
    }
    return false;
}

bool holds_verified(core::Repository& repo) {
    try {
        if (repo.refs().read("refs/heads/main")) return true;
    } catch (const Error&) {
    }
    return holds_verified_pieces(repo);
}

}  // namespace

std::optional<Hash32> interrupted_clone(const fs::path& dir) {
    try {
        return core::interrupted_clone(dir);
    } catch (const Error&) {
        return std::nullopt;
    }
}

CloneResult clone(const Hash32& id, const fs::path& dir, const PullOptions& opts) {
    std::error_code ec;
    bool existed = fs::exists(dir, ec);
    bool resuming = false;
    if (existed && (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec))) {
        auto was = fs::is_directory(dir, ec) ? core::interrupted_clone(dir) : std::nullopt;
        if (!was) throw Error(ErrorKind::conflict, "destination '" + dir.string() + "' already exists and is not empty");
        if (*was != id)
            throw Error(ErrorKind::conflict, "destination '" + dir.string() + "' is an interrupted clone of commit " +
                                                 was->hex() + ": run that clone again to finish it, or remove it");
        resuming = true;  // the same clone again: what it verified is kept, the rest is fetched
    }
    auto session = open_session(opts);  // before creating anything: a listen failure leaves no trace

    struct Undo {  // on failure: remove what the clone created (all of DIR, or what it put into an empty DIR)
        fs::path path;
        bool keep_dir;
        bool active = true;
        ~Undo() {
            if (!active) return;
            std::error_code e;
            if (!keep_dir) {
                fs::remove_all(path, e);
                return;
            }
            std::vector<fs::path> entries;
            for (const auto& de : fs::directory_iterator(path, e)) entries.push_back(de.path());
            for (const auto& p : entries) fs::remove_all(p, e);
        }
    } undo{dir, existed, !resuming};

    CloneResult res;
    std::unique_ptr<core::Repository> repo;
    if (resuming) {
        repo = core::Repository::open(dir);
    } else {
        repo = core::Repository::init(dir, core::InitOptions{});
        core::mark_clone(repo->dvt_dir(), id);  // from here on, a failure that verified something keeps DIR
    }
    res.root = repo->root();
    auto adopt = [&] {
        // a clone cuts files as its origin did: the commit's chunker becomes the repository's (format 1: none known)
        if (auto c = repo->store().read_commit(id); c && c->chunker) repo->adopt_chunker(*c->chunker);
        if (repo->refs().read("refs/heads/main") != id)
            repo->refs().update("refs/heads/main", std::nullopt, id, "clone: " + id.hex() + " from the swarm");
    };
    auto keep = [&] {  // a failure: DIR stays when it holds something verified (or was kept before)
        if (!resuming && !holds_verified(*repo)) return false;
        undo.active = false;
        return true;
    };
    try {
        if (resuming && have_everything(*repo, id)) {  // imported before the interruption: only the checkout is left
            res.fetch.id = id;
            res.fetch.commit = *repo->store().read_commit(id);
            res.fetch.packs_total = version_packs(res.fetch.commit);
            auto lock = repo->write_lock();
            adopt();
        } else {
            res.fetch = fetch(*session, *repo, id, opts, adopt);
        }
        session.reset();  // close the swarm before writing the work tree
        core::CheckoutOptions co;
        co.force = resuming;  // a half-written work tree of this clone's own files is written again
        res.checkout = core::checkout(*repo, "main", co);
        core::unmark_clone(repo->dvt_dir());
    } catch (const Interrupted&) {
        keep();
        throw;
    } catch (const Error& e) {
        // a refused version (corrupt) is not worth resuming: nothing of it was stored
        if (e.kind() == ErrorKind::corrupt || e.kind() == ErrorKind::unsupported) throw;
        if (!keep())
            throw Error(e.kind(), std::string(e.what()) + " (nothing was verified: " +
                                      (existed ? "what the clone put into " : "") + dir.string() + " was removed)");
        throw Error(e.kind(), std::string(e.what()) + " (the clone in " + dir.string() +
                                  " keeps what it verified: the same dvt clone resumes it)");
    }
    undo.active = false;
    return res;
}

namespace {

// Whether `id` descends from `base` across commits this repository lacks: their commit files are fetched from the
// swarm (each verified by its id before its parents are followed), walked, and dropped.
GapWalk walk_gap(core::Repository& repo, const Hash32& base, const Hash32& id, const PullOptions& opts,
                 std::unique_ptr<SwarmSession>& session) {
    GapWalk g;
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + opts.timeout;
    bool no_source = false;
    auto fetch_missing = [&](const Hash32& c) -> std::optional<objects::Commit> {
        if (no_source) return std::nullopt;  // g.error says why
        if (std::chrono::steady_clock::now() >= deadline) {
            if (g.error.empty()) g.error = "the pull's timeout passed";
            return std::nullopt;
        }
        try {
            if (!session) session = open_session(opts);
            return fetch_commit_alone(*session, repo, c, opts, deadline, g.bytes);
        } catch (const Error& e) {
            // nobody delivered it (no_peers, network), no way to ask (usage), or another pull of that commit file
            // holds its temp directory (conflict): that line of history ends here; anything else ends the pull
            if (e.kind() != ErrorKind::no_peers && e.kind() != ErrorKind::network && e.kind() != ErrorKind::usage &&
                e.kind() != ErrorKind::conflict)
                throw;
            if (e.kind() == ErrorKind::usage) no_source = true;  // no peer, tracker or mirror to ask
            if (g.error.empty()) g.error = "commit " + c.hex() + ": " + e.what();
            return std::nullopt;
        }
    };
    core::AncestryLimits limits;
    limits.max_fetched = kMaxGapCommits;
    limits.max_seen = kMaxGapIds;
    if (auto b = repo.store().read_commit(base); b && b->time > std::numeric_limits<std::int64_t>::min() + kGapClockSlack)
        limits.not_before = b->time - kGapClockSlack;
    try {
        g.result = core::find_ancestor(repo, base, id, fetch_missing, limits);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::corrupt && e.kind() != ErrorKind::unsupported) throw;
        throw Error(e.kind(), "cannot tell whether commit " + id.hex() + " descends from " + base.hex() +
                                  " (HEAD and the work tree are unchanged): " + e.what());
    }
    g.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return g;
}

PullResult fetch_and_check_out(core::Repository& repo, const Hash32& id, const PullOptions& opts, bool force) {
    PullResult res;
    std::unique_ptr<SwarmSession> session;
    auto record = [&] {  // keeps the commit reachable (gc) from the moment it is imported
        auto old = repo.refs().read("refs/remotes/swarm/fetched");
        if (old != id) repo.refs().update("refs/remotes/swarm/fetched", old, id, "pull: " + id.hex());
    };
    if (have_everything(repo, id) || (!opts.paths.empty() && have_paths(repo, id, opts.paths))) {
        res.fetch.id = id;
        res.fetch.commit = *repo.store().read_commit(id);
        res.fetch.packs_total = version_packs(res.fetch.commit);
        auto lock = repo.write_lock();
        record();
    } else {
        session = open_session(opts);
        try {
            res.fetch = fetch(*session, repo, id, opts, record);
        } catch (const Error& e) {
            // no peers, a timeout, a disk error: the verified pieces stay in partial/ (fetch) for the next pull
            if (e.kind() == ErrorKind::corrupt || e.kind() == ErrorKind::unsupported || !holds_verified_pieces(repo))
                throw;
            throw Error(e.kind(), std::string(e.what()) + " (the verified pieces are kept: the next pull resumes)");
        }
    }

    auto head = repo.refs().head();
    core::CheckoutOptions co;
    co.force = force;
    if (!opts.paths.empty()) {  // like `dvt checkout <id> -- PATHS`: those paths only, HEAD does not move
        co.paths = opts.paths;
        res.checkout = core::checkout(repo, id.hex(), co);
        res.checkout.branch = head.branch_ref ? std::optional<std::string>(head.branch_ref->substr(11)) : std::nullopt;
        return res;
    }
    std::string branch = head.branch_ref ? head.branch_ref->substr(std::string("refs/heads/").size()) : "";
    if (head.branch_ref && head.commit == id) {
        res.checkout = core::checkout(repo, branch, co);  // already there: restore the tree, stay on the branch
        return res;
    }
    // a descendant of the branch's commit (shown by the commits here, or across a gap by the commit files in between,
    // before the work tree changes): the branch moves with the checkout in one ref write, else HEAD is detached
    bool ff = head.branch_ref && (!head.commit || core::is_ancestor(repo, *head.commit, id));
    if (head.branch_ref && !ff) {
        res.gap = walk_gap(repo, *head.commit, id, opts, session);
        ff = res.gap->result.outcome == core::AncestryOutcome::found;
    }
    session.reset();  // close the swarm before writing the work tree
    co.advance_branch = ff;
    co.advance_message = "pull: fast-forward to " + id.hex();
    res.checkout = core::checkout(repo, id.hex(), co);
    res.fast_forward = ff && res.checkout.branch.has_value();
    return res;
}

}  // namespace

PullResult pull(core::Repository& repo, const Hash32& id, const PullOptions& opts, bool force) {
    auto old_head = repo.refs().head().commit;
    PullResult res = fetch_and_check_out(repo, id, opts, force);
    // a whole pull of the commit an interrupted clone was making, now checked out, finishes that clone: its mark goes
    if (opts.paths.empty() && repo.refs().head().commit == id && core::interrupted_clone(repo.root()) == id)
        core::unmark_clone(repo.dvt_dir());
    core::run_post_pull_hook(repo, old_head, id, opts.paths);
    return res;
}

}  // namespace dvt::transport
