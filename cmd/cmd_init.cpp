// dvt init [DIR]: create an empty repository.
#include "cmd/cli.hpp"
#include "transport/keys.hpp"

namespace dvt::cmd {

void register_init(CLI::App& app, Context& ctx) {
    struct Args {
        std::string dir = ".";
        std::string min, avg = "16384", max;  // parsed strictly (parse_count): CLI11 would wrap "2^64" around
        int level = 3;
        std::string pack_size = std::to_string(64ull << 20);
        std::string branch = "main";
        std::string key;
        bool no_tensor_chunks = false;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("init", "Create an empty dvt repository (DIR/.dvt)");
    sub->add_option("dir", a->dir, "Directory to version (created if missing)");
    sub->add_option("--chunk-avg", a->avg, "Average chunk size in bytes (power of two; default 16384)");
    sub->add_option("--chunk-min", a->min, "Minimum chunk size (default avg/4)");
    sub->add_option("--chunk-max", a->max, "Maximum chunk size (default avg*4)");
    sub->add_flag("--no-tensor-chunks", a->no_tensor_chunks,
                  "Cut safetensors files by content like any file (default: at tensor boundaries, config chunker.tensors)");
    sub->add_option("--zstd-level", a->level, "zstd level for compressible chunks, 0 = off (default 3)");
    sub->add_option("--pack-size", a->pack_size, "Target pack size in bytes (1 MiB to 4 GiB; default 64 MiB)");
    sub->add_option("-b,--initial-branch", a->branch, "Name of the first branch (default main)");
    sub->add_option("--key", a->key, "Publisher key file to use (64 hex digits, mode 0600); default: a new key");
    sub->callback([a, &ctx] {
        core::InitOptions o;
        // up to 16 MiB each (the chunker's own limit, checked with the rest by Repository::init): avg * 4 cannot wrap
        auto chunk = [](const std::string& v, const char* what) {
            return static_cast<std::uint32_t>(parse_count(v, what, 1, 16u << 20));
        };
        o.chunker.avg_size = chunk(a->avg, "--chunk-avg");
        o.chunker.min_size = a->min.empty() ? o.chunker.avg_size / 4 : chunk(a->min, "--chunk-min");
        o.chunker.max_size = a->max.empty() ? o.chunker.avg_size * 4 : chunk(a->max, "--chunk-max");
        o.chunker.tensors = !a->no_tensor_chunks;
        o.zstd_level = a->level;
        o.pack_size = parse_count(a->pack_size, "--pack-size", core::kMinPackSize, core::kMaxPackSize);
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
