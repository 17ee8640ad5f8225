// dvt init [DIR]: create an empty repository.
#include "cmd/cli.hpp"
#include "transport/keys.hpp"

namespace dvt::cmd {

void register_init(CLI::App& app, Context& ctx) {
    struct Args {
        std::string dir = ".";
        std::uint32_t min = 0, avg = 16 * 1024, max = 0;
        int level = 3;
        std::uint64_t pack_size = 64ull << 20;
        std::string branch = "main";
        std::string key;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("init", "Create an empty dvt repository (DIR/.dvt)");
    sub->add_option("dir", a->dir, "Directory to version (created if missing)");
    sub->add_option("--chunk-avg", a->avg, "Average chunk size in bytes (power of two; default 16384)");
    sub->add_option("--chunk-min", a->min, "Minimum chunk size (default avg/4)");
    sub->add_option("--chunk-max", a->max, "Maximum chunk size (default avg*4)");
    sub->add_option("--zstd-level", a->level, "zstd level for compressible chunks, 0 = off (default 3)");
    sub->add_option("--pack-size", a->pack_size, "Target pack size in bytes (default 64 MiB)");
    sub->add_option("-b,--initial-branch", a->branch, "Name of the first branch (default main)");
    sub->add_option("--key", a->key, "Publisher key file to use (64 hex digits, mode 0600); default: a new key");
    sub->callback([a, &ctx] {
        core::InitOptions o;
        o.chunker.avg_size = a->avg;
        o.chunker.min_size = a->min ? a->min : a->avg / 4;
        o.chunker.max_size = a->max ? a->max : a->avg * 4;
        o.zstd_level = a->level;
        o.pack_size = a->pack_size;
        o.branch = a->branch;
        std::filesystem::path dir = a->dir;
        if (!ctx.dir.empty() && dir.is_relative()) dir = std::filesystem::path(ctx.dir) / dir;
        if (!a->key.empty()) transport::load_key_file(a->key);  // a bad key file fails before anything is created
        auto repo = core::Repository::init(dir, o);
        std::optional<std::filesystem::path> key_file;
        if (!a->key.empty()) key_file = a->key;
        transport::create_repo_key(repo->dvt_dir(), key_file);
        if (ctx.json)
            ctx.print_json({{"path", repo->root().string()}, {"branch", a->branch}});
        else if (!ctx.quiet)
            *ctx.out << "Initialized empty dvt repository in " << repo->dvt_dir().string() << "\n";
    });
}

}  // namespace dvt::cmd
