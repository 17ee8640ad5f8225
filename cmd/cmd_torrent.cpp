// dvt torrent REV [--out DIR] [--json] (transport::write_torrent_files; docs/cli.md, docs/transport.md "Seeding with
// another BitTorrent client"): writes the commit's and its packs' .torrent files and prints their magnet links.
#include <iostream>

#include "cmd/cli.hpp"
#include "cmd/swarm_args.hpp"
#include "core/revision.hpp"
#include "transport/torrent_files.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

void register_torrent(CLI::App& app, Context& ctx) {
    struct Args {
        std::string rev = "HEAD", out = ".";
        std::vector<std::string> trackers, mirrors, peers;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand(
        "torrent", "Write a commit's and its packs' .torrent files (for other BitTorrent clients) and print magnet links");
    sub->add_option("revision", a->rev, "The commit (default HEAD)");
    sub->add_option("--out", a->out, "Directory for the .torrent files (created if needed; default: the current one)");
    sub->add_option("--tracker", a->trackers, "Add this tracker announce URL to every torrent (repeatable)")
        ->allow_extra_args(false);
    sub->add_option("--mirror", a->mirrors,
                    "Add this mirror (dvt push --mirror) as a web seed to every torrent (repeatable)")
        ->allow_extra_args(false);
    add_peer_option(sub, a->peers, "Add this peer IP:PORT to the magnet links (x.pe; repeatable)");
    sub->callback([a, &ctx] {
        transport::TorrentFileOptions o;
        for (const auto& t : a->trackers) o.trackers.push_back(transport::check_tracker_url(t));
        for (const auto& m : a->mirrors) o.web_seeds.push_back(transport::check_mirror_url(m));
        o.peers = peer_endpoints(a->peers);
        std::filesystem::path out = a->out;
        if (!ctx.dir.empty() && out.is_relative()) out = std::filesystem::path(ctx.dir) / out;
        auto repo = ctx.open_repo();
        Hash32 id = core::resolve_commit(*repo, a->rev);
        auto r = transport::write_torrent_files(*repo, id, out, o);
        if (ctx.json) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& t : r.torrents)
                list.push_back({{"id", t.id.hex()},
                                {"kind", t.kind},
                                {"info_hash", t.info_hash.hex()},
                                {"name", t.name},
                                {"length", t.length},
                                {"complete", t.complete},
                                {"file", t.file.string()},
                                {"magnet", t.magnet}});
            ctx.print_json({{"commit", r.commit.hex()}, {"torrents", list}});
            return;
        }
        for (const auto& t : r.torrents) *ctx.out << t.magnet << "\n";
        std::size_t partial = 0;
        for (const auto& t : r.torrents) partial += !t.complete;
        ctx.info("wrote " + std::to_string(r.torrents.size()) + " torrents of commit " + r.commit.hex().substr(0, 12) +
                 " (1 commit, " + std::to_string(r.torrents.size() - 1) + " packs) to " + out.string() +
                 (partial ? "; " + std::to_string(partial) +
                                " packs are not complete here: their torrents have no piece layer (clients fetch it "
                                "from peers)"
                          : ""));
    });
}

}  // namespace dvt::cmd
