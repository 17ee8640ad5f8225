// dvt push [--bootstrap IP:PORT]... [--dht] [--listen IP[:PORT]] [--replicas N] [--timeout S]
//          [--mirror DIR] [--mirror-url URL]
// Publishes refs/heads/* and refs/tags/* as signed records in the DHT, exports an HTTP mirror, and optionally seeds
// until N other peers hold complete copies (transport/publish.hpp; docs/transport.md, "Signed refs", "HTTP mirrors",
// "Replicas").
#include <cmath>

#include "cmd/cli.hpp"
#include "cmd/signals.hpp"
#include "transport/publish.hpp"
#include "transport/pull.hpp"
#include "util/error.hpp"
#include "util/http.hpp"

namespace dvt::cmd {

void register_push(CLI::App& app, Context& ctx) {
    struct Args {
        std::vector<std::string> bootstrap;
        bool dht = false;
        std::string listen, mirror, mirror_url, s3_endpoint;
        int replicas = 0;
        double timeout = 120;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("push", "Publish branches and tags as signed DHT records; export a mirror; wait for replicas");
    sub->add_option("--bootstrap", a->bootstrap, "DHT bootstrap node HOST:PORT (repeatable; default: config dht.bootstrap)")
        ->allow_extra_args(false);
    sub->add_flag("--dht", a->dht, "Use the public BitTorrent DHT (when no bootstrap node is configured)");
    sub->add_option("--listen", a->listen, "Local IP[:PORT] for the DHT and seeding (default: towards the first node)");
    sub->add_option("--replicas", a->replicas, "Seed until this many other peers hold a complete copy of every pushed head");
    sub->add_option("--timeout", a->timeout, "Seconds to wait for the DHT and for --replicas (default 120)");
    sub->add_option("--mirror", a->mirror,
                    "Also export commits and packs to this directory (for any HTTP server) or S3-compatible bucket "
                    "(s3://BUCKET/PREFIX; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)");
    sub->add_option("--s3-endpoint", a->s3_endpoint, "The S3 endpoint (http(s)://HOST[:PORT]; default: AWS's for AWS_REGION)");
    sub->add_option("--mirror-url", a->mirror_url, "The URL that serves --mirror DIR; published with the refs as a web seed");
    sub->callback([a, &ctx] {
        auto timeout = checked_seconds(a->timeout, "--timeout", 0.001, kMaxNetworkTimeout);
        if (a->replicas < 0) throw Error(ErrorKind::usage, "--replicas must be 0 or more");
        if (!a->mirror_url.empty() && !util::is_http_url(a->mirror_url))
            throw Error(ErrorKind::usage, "--mirror-url must be an http:// or https:// URL");
        transport::PublishOptions o;
        if (!a->listen.empty()) o.listen = transport::parse_listen_address(a->listen);
        o.bootstrap = a->bootstrap;
        o.dht = a->dht;
        o.mirror = a->mirror;
        o.s3_endpoint = a->s3_endpoint;
        if (!a->mirror.empty() && !a->mirror.starts_with("s3://") && std::filesystem::path(a->mirror).is_relative())
            o.mirror = std::filesystem::absolute(std::filesystem::path(ctx.dir.empty() ? "." : ctx.dir) / a->mirror).string();
        o.mirror_url = a->mirror_url;
        o.replicas = a->replicas;
        o.timeout = timeout;
        o.info = [&ctx](const std::string& m) { ctx.info(m); };
        o.warn = [&ctx](const std::string& m) { ctx.warn(m); };
        o.mirrored = [&ctx, &o](const transport::MirrorResult& m) {
            ctx.info("mirror " + o.mirror + ": " + std::to_string(m.commits) + " commits and " +
                     std::to_string(m.packs) + " packs written (" + human_bytes(m.bytes) + ")");
        };
        auto repo = ctx.open_repo();
        SignalBlock signals;
        int caught = 0;
        o.interrupted = [&] { return (caught = signals.take()) != 0; };
        transport::PublishResult r;
        try {
            r = transport::publish(*repo, o);
        } catch (const transport::Interrupted&) {
            repo.reset();
            signals.die(caught);
        }
        if (!ctx.json) return;
        nlohmann::json out = {{"refs", nlohmann::json::array()}};
        if (r.mirror)
            out["mirror"] = {{"path", o.mirror}, {"commits_written", r.mirror->commits},
                             {"packs_written", r.mirror->packs}, {"bytes_written", r.mirror->bytes}};
        if (r.dht) {
            out["published_by"] = r.by_server ? "server" : "push";
            for (const auto& p : r.refs)
                out["refs"].push_back({{"ref", p.ref}, {"commit", p.commit.hex()}, {"seq", p.seq}, {"nodes", p.nodes}});
            out["url"] = r.url;
            if (r.replicas) out["replicas"] = *r.replicas;
        }
        ctx.print_json(out);
    });
}

}  // namespace dvt::cmd
