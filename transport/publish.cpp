#include "transport/publish.hpp"

#include "transport/s3.hpp"

#include <algorithm>
#include <map>

#include "core/revision.hpp"
#include "hooks/runner.hpp"
#include "transport/dht.hpp"
#include "transport/follower.hpp"
#include "transport/keys.hpp"
#include "transport/pull.hpp"
#include "transport/replicas.hpp"
#include "transport/seeder.hpp"
#include "util/error.hpp"

namespace dvt::transport {

namespace {

using Refs = std::vector<std::pair<std::string, Hash32>>;

// .dvt/hooks/pre-push: one line "<ref> <commit>" per ref on stdin; non-zero aborts before anything is sent
void run_pre_push_hook(core::Repository& repo, const Refs& refs) {
    hooks::HookCall call;
    call.name = "pre-push";
    call.work_tree = repo.root();
    call.dvt_dir = repo.dvt_dir();
    for (const auto& [name, id] : refs) call.input += name + " " + id.hex() + "\n";
    auto head = repo.refs().head();
    if (head.commit) call.new_commit = head.commit->hex();
    if (head.branch_ref) call.branch = head.branch_ref->substr(11);
    if (auto st = hooks::run_hook(call); st && *st != 0)
        throw Error(ErrorKind::hook_rejected, "the pre-push hook rejected the push (exit " + std::to_string(*st) + ")");
}

// Seeds the pushed heads until `want` other peers are seeds of each of their torrents; returns how many are.
std::size_t wait_replicas(core::Repository& repo, SwarmSession& session, const Refs& refs, const PublishOptions& o,
                          const std::function<bool()>& interrupted) {
    Seeder seeder(session, repo);
    seeder.rescan();
    ReplicaCounter counter(session);
    for (const auto& r : refs) {
        if (!r.first.starts_with("refs/heads/")) continue;
        std::vector<lt::torrent_handle> hs{seeder.commit_handle(r.second)};
        // not the locator's pack: a whole pull does not fetch it (docs/format.md, "Locator"), so no replica holds it
        auto c = core::load_commit(repo, r.second);
        for (const auto& p : c.packs)
            if (!(c.locator && p.id == c.locator->pack)) hs.push_back(seeder.pack_handle(p.id));
        counter.watch(r.second, hs);
    }
    auto want = static_cast<std::size_t>(o.replicas);
    auto deadline = std::chrono::steady_clock::now() + o.timeout;
    std::size_t have = 0;
    while (true) {
        session.poll(std::chrono::milliseconds(50), [&](lt::alert* al) {
            seeder.on_alert(al);
            counter.on_alert(al);
        });
        counter.update();
        auto now_have = counter.min_complete();
        if (now_have >= want) return now_have;
        if (now_have != have && o.info)  // progress: a copy was completed
            o.info(std::to_string(now_have) + " of " + std::to_string(want) + " peers hold a complete copy so far");
        have = now_have;
        if (interrupted()) throw Error(ErrorKind::no_peers, "interrupted while waiting for replicas");
        if (std::chrono::steady_clock::now() >= deadline)
            throw Error(ErrorKind::no_peers, "only " + std::to_string(have) + " of " + std::to_string(want) +
                                                 " peers hold a complete copy after " +
                                                 std::to_string(o.timeout.count() / 1000) + " s");
    }
}

}  // namespace

PublishResult publish(core::Repository& repo, const PublishOptions& o) {
    auto info = [&o](const std::string& m) {
        if (o.info) o.info(m);
    };
    bool stopped = false;  // sticky: o.interrupted() may consume what it reports
    std::function<bool()> interrupted = [&] { return stopped = stopped || (o.interrupted && o.interrupted()); };
    auto check_interrupted = [&] {
        if (interrupted()) throw Interrupted();
    };
    // the DHT steps poll `interrupted` and then fail with no_peers "interrupted": that is an Interrupted here
    auto interruptible = [&](auto&& step) {
        try {
            return step();
        } catch (const Error&) {
            if (stopped) throw Interrupted();
            throw;
        }
    };
    auto dht = dht_options(&repo.config(), o.bootstrap, o.dht);
    Refs refs;
    for (const char* prefix : {"refs/heads/", "refs/tags/"})
        for (const auto& r : repo.refs().list(prefix)) refs.push_back(r);
    if (refs.empty()) throw Error(ErrorKind::nothing_to_do, "no branch or tag to push (commit first)");
    try {
        run_pre_push_hook(repo, refs);
    } catch (const Error& e) {  // a Ctrl-C reaches the hook too: that is not the hook's verdict
        if (e.kind() == ErrorKind::hook_rejected && interrupted()) throw Interrupted();
        throw;
    }
    check_interrupted();
    PublishResult out;

    // 1. the mirror
    if (!o.mirror.empty()) {
        std::vector<Hash32> commits;
        for (const auto& r : refs) commits.push_back(r.second);
        auto sink = is_s3_url(o.mirror) ? s3_sink(s3_target(o.mirror, o.s3_endpoint, repo.config()))
                                        : directory_sink(o.mirror);
        out.mirror = export_mirror(repo, commits, *sink);
        if (o.mirrored) o.mirrored(*out.mirror);
    }
    if (!o.mirror_url.empty()) {
        auto lock = repo.write_lock();
        repo.config().set("mirror.url", o.mirror_url);
        repo.save_config();
    }
    if (!dht.enabled) {
        if (o.mirror.empty())
            throw Error(ErrorKind::usage, "nothing to push to: give --bootstrap HOST:PORT or --dht (or set "
                                          "dht.bootstrap), or --mirror DIR|s3://BUCKET/PREFIX");
        return out;
    }
    check_interrupted();

    // 2. signed records
    auto key = load_repo_key(repo.dvt_dir());
    if (!key) throw Error(ErrorKind::not_found, "this repository has no publisher key (dvt key generate)");
    Endpoint listen = dht_listen_address(dht, o.listen);
    // A `dvt serve` of this repository with the DHT and the key publishes moved refs itself within 2 s; pushing
    // through it leaves no dead DHT node behind (wait_server_published). Otherwise put them here.
    auto by_server = wait_server_published(
        repo, refs, std::min<std::chrono::milliseconds>(o.timeout, std::chrono::seconds(10)), interrupted);
    check_interrupted();
    SwarmSession session(listen);
    dht.read_only = true;  // push is short-lived: do not leave a dead entry in other nodes' routing tables
    enable_dht(session, dht);
    std::vector<Published> published;
    out.dht = true;
    out.by_server = by_server.has_value();
    if (by_server) {
        published = std::move(*by_server);
    } else {
        interruptible([&] { wait_dht_ready(session, o.timeout, interrupted); });
        check_interrupted();
        std::vector<std::string> skipped;
        auto items = ref_items(refs, repo.config().get_or("mirror.url", ""), &skipped);
        for (const auto& name : skipped)
            if (o.warn) o.warn(name + " is longer than 64 bytes and cannot be published");
        published = interruptible([&] { return put_items(session, *key, items, o.timeout, interrupted); });
        if (!published.empty()) published.pop_back();  // the ref list
    }
    std::map<std::string, Hash32> commit_of(refs.begin(), refs.end());
    for (const auto& p : published) {
        out.refs.push_back(PublishedRecord{p.salt, commit_of.at(p.salt), p.seq, p.nodes});
        info("published " + p.salt + " = " + commit_of.at(p.salt).hex().substr(0, 12) + " (seq " +
             std::to_string(p.seq) + ", " + std::to_string(p.nodes) + " DHT nodes" +
             (by_server ? ", by the running dvt serve)" : ")"));
    }
    out.url = "dvt://" + key->public_hex();

    // 3. replicas: seed the pushed heads until N other peers are seeds of each of their torrents
    if (o.replicas > 0) {
        check_interrupted();
        out.replicas = wait_replicas(repo, session, refs, o, interrupted);
        info(std::to_string(*out.replicas) + " peers hold a complete copy");
    }
    return out;
}

}  // namespace dvt::transport
