// dvt clone ID|dvt://KEY DIR [--peer IP:PORT]... (transport::clone_from; docs/transport.md). Removes its temp data
// when interrupted and then dies by the signal.
#include <iostream>
#include <optional>

#include "cmd/cli.hpp"
#include "cmd/signals.hpp"
#include "cmd/swarm_args.hpp"
#include "transport/pull.hpp"
#include "transport/remote.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

void register_clone(CLI::App& app, Context& ctx) {
    auto a = std::make_shared<SwarmArgs>();
    auto* sub = app.add_subcommand("clone", "Create a repository in DIR from a commit fetched from peers");
    sub->add_option("commit dir", a->positional, "The commit id (64 hex digits) and the new directory")
        ->required()
        ->expected(2);
    add_swarm_options(sub, *a);
    sub->callback([a, &ctx] {
        const std::string& source = a->positional[0];
        if (!source.starts_with("dvt://")) transport::parse_commit_id(source);  // usage errors first
        auto opts = parse_swarm_args(*a);
        std::filesystem::path dir = a->positional[1];
        if (!ctx.dir.empty() && dir.is_relative()) dir = std::filesystem::path(ctx.dir) / dir;
        // signals are blocked from the start of the fetch (the DHT lookup of a dvt:// address before it is not)
        std::optional<SignalBlock> signals;
        int caught = 0;
        opts.interrupted = [&] { return signals && (caught = signals->take()) != 0; };
        opts.progress = progress_printer(ctx);
        bool tty = ctx.progress_enabled();
        transport::CloneResult r;
        try {
            r = transport::clone_from(source, dir, a->branch, opts, [&ctx](const std::string& w) { ctx.warn(w); },
                                      [&] { signals.emplace(); });
        } catch (const transport::Interrupted&) {
            if (tty) *ctx.err << "\n";
            if (transport::interrupted_clone(dir))
                ctx.warn("interrupted: " + dir.string() + " keeps what was verified; the same dvt clone resumes it");
            signals->die(caught);
        } catch (...) {
            if (tty && signals) *ctx.err << "\n";
            throw;
        }
        if (tty) *ctx.err << "\n";
        if (ctx.json) {
            auto j = fetch_json(r.fetch);
            j["path"] = r.root.string();
            j["branch"] = "main";
            j["written"] = r.checkout.written;
            j["bytes_written"] = r.checkout.bytes_written;
            j["checkout_seconds"] = r.checkout.seconds;
            ctx.print_json(j);
            return;
        }
        ctx.info("cloned commit " + r.fetch.id.hex().substr(0, 12) + " into " + r.root.string() + ": " +
                 fetch_summary(r.fetch) + "; " + std::to_string(r.checkout.written) + " files written (" +
                 human_bytes(r.checkout.bytes_written) + ")");
    });
}

}  // namespace dvt::cmd
