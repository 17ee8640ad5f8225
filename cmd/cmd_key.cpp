// dvt key show | generate [--force] | import FILE: the repository's publisher key (docs/transport.md, "Signed refs").
#include "cmd/cli.hpp"
#include "transport/keys.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

void register_key(CLI::App& app, Context& ctx) {
    struct Args {
        bool force = false;
        std::string file;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("key", "The repository's publisher key: show, generate, import");
    sub->require_subcommand(0, 1);
    sub->add_subcommand("show", "Print the public key and the repository address dvt://<key> (the default)");
    auto* gen = sub->add_subcommand("generate", "Make a new key (refuses to replace one without --force)");
    gen->add_flag("--force", a->force, "Replace the existing key (readers of the old address lose track)");
    auto* imp = sub->add_subcommand("import", "Use the key in FILE (64 hex digits; a team shares one key file)");
    imp->add_option("file", a->file, "Key file")->required();
    imp->add_flag("--force", a->force, "Replace the existing key");
    sub->callback([a, gen, imp, &ctx] {
        auto repo = ctx.open_repo();
        if (gen->parsed() || imp->parsed()) {
            auto lock = repo->write_lock();
            if (transport::load_repo_key(repo->dvt_dir()) && !a->force)
                throw Error(ErrorKind::conflict, "this repository already has a publisher key (use --force to replace it)");
            std::optional<std::filesystem::path> from;
            if (imp->parsed()) from = a->file;
            transport::create_repo_key(repo->dvt_dir(), from);
        }
        auto key = transport::load_repo_key(repo->dvt_dir());
        if (!key) throw Error(ErrorKind::not_found, "this repository has no publisher key (dvt key generate)");
        if (ctx.json)
            ctx.print_json({{"public_key", key->public_hex()}, {"url", "dvt://" + key->public_hex()}});
        else
            *ctx.out << "dvt://" << key->public_hex() << "\n";
    });
}

}  // namespace dvt::cmd
