// dvt remote add NAME --peer IP:PORT... --tracker URL..., dvt remote remove NAME, dvt remote [list]
// (docs/transport.md, "Remotes"). A remote is a named set of peers and trackers saved in .dvt/config.
#include "cmd/cli.hpp"
#include "transport/remote.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

void register_remote(CLI::App& app, Context& ctx) {
    struct Args {
        std::string name;
        std::vector<std::string> peers, trackers;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("remote", "Named sets of peers and trackers to pull from (add, remove, list)");
    sub->require_subcommand(0, 1);
    auto* add = sub->add_subcommand("add", "Save peers and trackers under NAME (replaces an existing NAME)");
    add->add_option("name", a->name, "Remote name")->required();
    add->add_option("--peer", a->peers, "IP:PORT (repeatable)")->allow_extra_args(false);
    add->add_option("--tracker", a->trackers, "Tracker announce URL (repeatable)")->allow_extra_args(false);
    auto* rm = sub->add_subcommand("remove", "Forget remote NAME");
    rm->add_option("name", a->name, "Remote name")->required();
    sub->add_subcommand("list", "List the remotes (the default)");
    sub->callback([a, sub, add, rm, &ctx] {
        auto repo = ctx.open_repo();
        if (add->parsed() || rm->parsed()) {
            transport::Remote r;
            r.name = a->name;
            for (const auto& p : a->peers) r.peers.push_back(transport::parse_endpoint(p, "peer address", false));
            for (const auto& t : a->trackers) r.trackers.push_back(transport::check_tracker_url(t));
            auto lock = repo->write_lock();
            if (add->parsed()) {
                if (r.peers.empty() && r.trackers.empty())
                    throw Error(ErrorKind::usage, "remote add needs at least one --peer or --tracker");
                transport::save_remote(repo->config(), r);
            } else {
                transport::load_remote(repo->config(), a->name);  // not_found if absent
                transport::remove_remote(repo->config(), a->name);
            }
            repo->save_config();
            return;
        }
        (void)sub;
        auto remotes = transport::list_remotes(repo->config());
        if (ctx.json) {
            nlohmann::json arr = nlohmann::json::array();
            for (const auto& r : remotes) {
                nlohmann::json peers = nlohmann::json::array();
                for (const auto& p : r.peers) peers.push_back(transport::endpoint_string(p));
                arr.push_back({{"name", r.name}, {"peers", peers}, {"trackers", r.trackers}});
            }
            ctx.print_json({{"remotes", arr}});
            return;
        }
        for (const auto& r : remotes) {
            *ctx.out << r.name;
            for (const auto& p : r.peers) *ctx.out << " peer=" << transport::endpoint_string(p);
            for (const auto& t : r.trackers) *ctx.out << " tracker=" << t;
            *ctx.out << "\n";
        }
    });
}

}  // namespace dvt::cmd
