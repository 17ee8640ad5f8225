// dvt remote add NAME [--peer IP:PORT]... [--tracker URL]... [--url dvt://KEY] [--mirror URL]... [--bootstrap IP:PORT]...,
// dvt remote remove NAME, dvt remote [list],
// dvt remote show NAME [--timeout S] [--listen IP[:PORT]] [--bootstrap IP:PORT]...
// (docs/transport.md, "Remotes", "Replicas"). A remote is a named set of peers, trackers, mirrors and a published
// repository's address saved in .dvt/config; `show` prints it and, for a dvt:// address, the refs it publishes and
// how many peers hold a complete copy of each.
#include <cmath>

#include "cmd/cli.hpp"
#include "cmd/swarm_args.hpp"
#include "transport/keys.hpp"
#include "transport/remote.hpp"
#include "transport/survey.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

namespace {

nlohmann::json endpoints_json(const std::vector<transport::Endpoint>& eps) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& p : eps) arr.push_back(transport::endpoint_string(p));
    return arr;
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& w : v) out += (out.empty() ? "" : " ") + w;
    return out.empty() ? "(none)" : out;
}

struct ShowArgs {
    std::string name, listen;
    std::vector<std::string> bootstrap;
    double timeout = 10;
};

void show_remote(Context& ctx, const ShowArgs& a) {
    auto timeout = checked_seconds(a.timeout, "--timeout", 0.001, kMaxNetworkTimeout);
    auto repo = ctx.open_repo();
    auto r = transport::load_remote(repo->config(), a.name);  // not_found if absent
    std::vector<std::string> peers;
    for (const auto& p : r.peers) peers.push_back(transport::endpoint_string(p));
    nlohmann::json out = {{"name", r.name},         {"url", r.url.empty() ? nlohmann::json() : nlohmann::json(r.url)},
                          {"peers", peers},         {"trackers", r.trackers},
                          {"mirrors", r.mirrors},   {"bootstrap", r.bootstrap},
                          {"refs", nlohmann::json::array()}};
    std::vector<transport::PublishedRef> refs;
    if (!r.url.empty()) {
        auto pk = transport::parse_repo_url(r.url);
        transport::SurveyOptions o;
        // --bootstrap, else the remote's nodes, else config dht.bootstrap, else the public DHT
        o.dht = transport::dht_options(&repo->config(), a.bootstrap.empty() ? r.bootstrap : a.bootstrap, true);
        o.listen = transport::dht_listen_address(
            o.dht, a.listen.empty() ? std::nullopt : std::optional(transport::parse_listen_address(a.listen)));
        o.peers = r.peers;
        o.timeout = timeout;
        refs = transport::survey_published(*repo, pk, o, [&ctx](const std::string& w) { ctx.warn(w); });
    }
    for (const auto& p : refs) {
        nlohmann::json holders = nlohmann::json::array();
        for (const auto& ip : p.copies.seen) holders.push_back({{"ip", ip}, {"complete", p.copies.complete.count(ip) > 0}});
        out["refs"].push_back({{"ref", p.ref},
                               {"commit", p.commit.hex()},
                               {"seq", p.seq},
                               {"torrents", p.torrents},
                               {"peers_seen", p.copies.seen.size()},
                               {"complete_copies", p.copies.complete.size()},
                               {"peers", holders}});
    }
    if (ctx.json) {
        ctx.print_json(out);
        return;
    }
    auto& o = *ctx.out;
    o << r.name << "\n";
    o << "  url:       " << (r.url.empty() ? "(none)" : r.url) << "\n";
    o << "  peers:     " << joined(peers) << "\n";
    o << "  trackers:  " << joined(r.trackers) << "\n";
    o << "  mirrors:   " << joined(r.mirrors) << "\n";
    o << "  bootstrap: " << joined(r.bootstrap) << "\n";
    if (r.url.empty()) {
        o << "  no refs are published (the remote has no dvt:// url)\n";
        return;
    }
    if (refs.empty()) o << "  no refs are published\n";
    for (const auto& p : refs) {
        std::string watched = p.torrents > 1 ? "commit and " + std::to_string(p.torrents - 1) + " packs watched"
                                             : "commit watched; its packs are unknown here";
        o << "  " << p.ref << " " << p.commit.hex().substr(0, 12) << " (seq " << p.seq
          << "): " << p.copies.complete.size() << " complete copies, " << p.copies.seen.size() << " peers seen ("
          << watched << ")\n";
        for (const auto& ip : p.copies.seen)
            o << "    " << ip << (p.copies.complete.count(ip) ? " complete" : " incomplete") << "\n";
    }
}

}  // namespace

void register_remote(CLI::App& app, Context& ctx) {
    struct Args {
        std::string name, url;
        std::vector<std::string> peers, trackers, mirrors, bootstrap;
        ShowArgs show;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("remote", "Named sets of peers and trackers to pull from (add, remove, list, show)");
    sub->require_subcommand(0, 1);
    auto* add = sub->add_subcommand("add", "Save peers, trackers, mirrors or a dvt:// address under NAME (replaces NAME)");
    add->add_option("name", a->name, "Remote name")->required();
    add_peer_option(add, a->peers, "IP:PORT (repeatable)");
    add->add_option("--tracker", a->trackers, "Tracker announce URL (repeatable)")->allow_extra_args(false);
    add->add_option("--url", a->url, "A published repository, dvt://<public key>");
    add->add_option("--mirror", a->mirrors, "An http:// or https:// mirror (repeatable)")->allow_extra_args(false);
    add->add_option("--bootstrap", a->bootstrap, "DHT bootstrap node HOST:PORT for the dvt:// address (repeatable)")
        ->allow_extra_args(false);
    auto* rm = sub->add_subcommand("remove", "Forget remote NAME");
    rm->add_option("name", a->name, "Remote name")->required();
    sub->add_subcommand("list", "List the remotes (the default)");
    auto* show = sub->add_subcommand("show", "A remote's settings, its published refs and how many peers hold each");
    show->add_option("name", a->show.name, "Remote name")->required();
    show->add_option("--timeout", a->show.timeout, "Seconds for each DHT step and for watching the swarms (default 10)");
    show->add_option("--listen", a->show.listen, "Local IP[:PORT] (default: the address towards the first DHT node)");
    show->add_option("--bootstrap", a->show.bootstrap,
                     "DHT bootstrap node HOST:PORT (repeatable; default: the remote's, then config dht.bootstrap)")
        ->allow_extra_args(false);
    sub->callback([a, add, rm, show, &ctx] {
        if (show->parsed()) {
            show_remote(ctx, a->show);
            return;
        }
        auto repo = ctx.open_repo();
        if (add->parsed() || rm->parsed()) {
            transport::Remote r;
            r.name = a->name;
            r.peers = peer_endpoints(a->peers);
            for (const auto& t : a->trackers) r.trackers.push_back(transport::check_tracker_url(t));
            if (!a->url.empty()) r.url = "dvt://" + transport::public_hex(transport::parse_repo_url(a->url));
            for (const auto& m : a->mirrors) {
                r.mirrors.push_back(transport::check_mirror_url(m));
            }
            r.bootstrap = transport::dht_options(nullptr, a->bootstrap, false).bootstrap;  // checks each node
            auto lock = repo->write_lock();
            if (add->parsed()) {
                if (r.peers.empty() && r.trackers.empty() && r.url.empty() && r.mirrors.empty())
                    throw Error(ErrorKind::usage, "remote add needs at least one --peer, --tracker, --url or --mirror");
                transport::save_remote(repo->config(), r);
            } else {
                transport::load_remote(repo->config(), a->name);  // not_found if absent
                transport::remove_remote(repo->config(), a->name);
            }
            repo->save_config();
            return;
        }
        auto remotes = transport::list_remotes(repo->config());
        if (ctx.json) {
            nlohmann::json arr = nlohmann::json::array();
            for (const auto& r : remotes)
                arr.push_back({{"name", r.name},
                               {"peers", endpoints_json(r.peers)},
                               {"trackers", r.trackers},
                               {"url", r.url.empty() ? nlohmann::json() : nlohmann::json(r.url)}});
            ctx.print_json({{"remotes", arr}});
            return;
        }
        for (const auto& r : remotes) {
            *ctx.out << r.name;
            if (!r.url.empty()) *ctx.out << " url=" << r.url;
            for (const auto& p : r.peers) *ctx.out << " peer=" << transport::endpoint_string(p);
            for (const auto& t : r.trackers) *ctx.out << " tracker=" << t;
            *ctx.out << "\n";
        }
    });
}

}  // namespace dvt::cmd
