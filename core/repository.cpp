#include "core/repository.hpp"

#include "objects/limits.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::core {

namespace fs = std::filesystem;

Repository::Repository(fs::path root, OpenOptions options)
    : m_root(std::move(root)), m_dvt(m_root / ".dvt"), m_options(std::move(options)) {}
Repository::~Repository() = default;

static void check_format(const Config& c, const fs::path& dvt) {
    auto f = c.get("core.format");
    if (!f) throw Error(ErrorKind::corrupt, dvt.string() + "/config has no core.format");
    bool known = false;
    for (int v = kRepositoryFormatMin; v <= kRepositoryFormat; ++v) known = known || *f == std::to_string(v);
    if (!known)
        throw Error(ErrorKind::unsupported, "repository format '" + *f + "' at " + dvt.string() +
                                                " is not supported by this dvt (it knows formats " +
                                                std::to_string(kRepositoryFormatMin) + " to " +
                                                std::to_string(kRepositoryFormat) + "); nothing was changed");
}

std::unique_ptr<Repository> Repository::open(const fs::path& start, OpenOptions options) {
    std::error_code ec;
    fs::path p = fs::absolute(start, ec);
    if (ec || !util::path_is_directory(p))
        throw Error(ErrorKind::not_a_repository, "no such directory: " + start.string());
    p = fs::weakly_canonical(p, ec);
    if (ec) throw_error_code(ec, "cannot resolve " + start.string());
    while (true) {
        if (util::path_is_directory(p / ".dvt")) break;
        if (p == p.root_path() || p.parent_path() == p)
            throw Error(ErrorKind::not_a_repository,
                        "not a dvt repository (or any parent up to /): " + start.string() + " (run 'dvt init')");
        p = p.parent_path();
    }
    std::unique_ptr<Repository> r(new Repository(p, std::move(options)));
    if (!util::path_exists(r->m_dvt / "config"))
        throw Error(ErrorKind::not_a_repository, r->m_dvt.string() + " is not a dvt repository (no config)");
    r->m_config = Config::load(r->m_dvt / "config");
    check_format(r->m_config, r->m_dvt);
    r->chunker_params().validate();
    r->m_index = objects::open_index_db(r->m_dvt / "index.db", r->m_options.on_notice);
    r->m_store = std::make_unique<objects::ObjectStore>(r->m_dvt, *r->m_index);
    r->m_stat_table = std::make_unique<objects::StatCacheFile>(r->m_dvt / "stat-cache");
    r->m_refs = std::make_unique<refs::RefStore>(r->m_dvt);
    r->m_store->reconcile();
    return r;
}

std::unique_ptr<Repository> Repository::init(const fs::path& worktree, const InitOptions& opts) {
    try {
        opts.chunker.validate();
    } catch (const Error& e) {
        throw Error(ErrorKind::usage, e.what());
    }
    if (opts.format < kRepositoryFormatMin || opts.format > kRepositoryFormat)
        throw Error(ErrorKind::usage, "repository format must be " + std::to_string(kRepositoryFormatMin) + " to " +
                                          std::to_string(kRepositoryFormat));
    if (opts.zstd_level < 0 || opts.zstd_level > 19) throw Error(ErrorKind::usage, "zstd level must be 0..19");
    if (opts.pack_size < kMinPackSize || opts.pack_size > kMaxPackSize)
        throw Error(ErrorKind::usage, "pack size must be from 1 MiB to 4 GiB");
    if (!refs::valid_ref_name(opts.branch)) throw Error(ErrorKind::usage, "invalid branch name '" + opts.branch + "'");
    std::error_code ec;
    fs::create_directories(worktree, ec);
    if (ec) throw_error_code(ec, "cannot create " + worktree.string());
    fs::path root = fs::absolute(worktree, ec);
    if (!ec) root = fs::weakly_canonical(root, ec);
    if (ec) throw_error_code(ec, "cannot resolve " + worktree.string());
    fs::path dvt = root / ".dvt";
    if (util::path_exists(dvt / "config")) throw Error(ErrorKind::conflict, "a dvt repository already exists at " + dvt.string());
    for (const char* d : {"", "refs/heads", "refs/tags", "logs", "packs", "commits", "tmp", "hooks"}) {
        fs::create_directories(dvt / d, ec);
        if (ec) throw_error_code(ec, "cannot create " + (dvt / d).string());
    }
    util::atomic_write_file(dvt / "HEAD", "ref: refs/heads/" + opts.branch + "\n");
    Config c;
    c.set("chunker.min", std::to_string(opts.chunker.min_size));
    c.set("chunker.avg", std::to_string(opts.chunker.avg_size));
    c.set("chunker.max", std::to_string(opts.chunker.max_size));
    if (opts.format >= 2) c.set("chunker.tensors", opts.chunker.tensors ? "1" : "0");  // a format-1 commit cannot say it
    c.set("compression.level", std::to_string(opts.zstd_level));
    c.set("pack.size", std::to_string(opts.pack_size));
    c.set("core.format", std::to_string(opts.format));
    // config is written last: a directory without it is not a repository, so a crashed init is simply redone
    c.save(dvt / "config");
    util::fsync_dir(root);
    return open(root);
}

objects::ChunkerParams Repository::chunker_params() const {
    objects::ChunkerParams p;
    p.min_size = static_cast<std::uint32_t>(m_config.get_int("chunker.min", p.min_size));
    p.avg_size = static_cast<std::uint32_t>(m_config.get_int("chunker.avg", p.avg_size));
    p.max_size = static_cast<std::uint32_t>(m_config.get_int("chunker.max", p.max_size));
    p.tensors = format() >= 2 && m_config.get_int("chunker.tensors", 0) == 1;
    return p;
}

std::optional<bool> Repository::tensor_chunking_setting() const {
    if (!m_config.get("chunker.tensors")) return std::nullopt;
    return m_config.get_int("chunker.tensors", 0) == 1;
}

int Repository::format() const {
    return static_cast<int>(m_config.get_int("core.format", kRepositoryFormat));  // open() checked it
}

void Repository::accept_commit_format(int commit_format) {
    if (commit_format <= format()) return;
    if (commit_format > kRepositoryFormat)
        throw Error(ErrorKind::unsupported, "commit format " + std::to_string(commit_format) + " is not supported by this dvt");
    m_config.set("core.format", std::to_string(commit_format));
    save_config();
}

void Repository::adopt_chunker(const objects::ChunkerParams& p) {
    if (p == chunker_params()) return;
    p.validate();
    if (m_refs->head().commit) throw Error(ErrorKind::internal, "adopt_chunker: HEAD names a commit already");
    m_config.set("chunker.min", std::to_string(p.min_size));
    m_config.set("chunker.avg", std::to_string(p.avg_size));
    m_config.set("chunker.max", std::to_string(p.max_size));
    m_config.set("chunker.tensors", p.tensors ? "1" : "0");
    save_config();
}

objects::CodecParams Repository::codec_params() const {
    objects::CodecParams p;
    p.level = static_cast<int>(m_config.get_int("compression.level", p.level));
    return p;
}

std::uint16_t Repository::delta_depth() const {
    static_assert(objects::kMaxDeltaDepth == 64, "core/config.hpp bounds pack.delta-depth by it");
    if (format() < 2) return 0;
    return static_cast<std::uint16_t>(m_config.get_int("pack.delta-depth", kDefaultDeltaDepth));  // 0..64 (kIntSettings)
}

// pack.tensor-delta-depth when unset: tensor pieces stored whole, so a clone fetches each weight once (the clone
// target beats the store target here; docs/performance.md, "Delta chain caps").
constexpr std::uint16_t kDefaultTensorDeltaDepth = 0;

std::uint16_t Repository::tensor_delta_depth() const {
    auto d = static_cast<std::uint16_t>(m_config.get_int("pack.tensor-delta-depth", kDefaultTensorDeltaDepth));
    return std::min(d, delta_depth());  // 0..64 (kIntSettings)
}

std::uint64_t Repository::pack_size() const {
    return static_cast<std::uint64_t>(m_config.get_int("pack.size", 64ll << 20));  // within kIntSettings' range
}

std::size_t Repository::extra_packs() const {
    return static_cast<std::size_t>(m_config.get_int("pack.extra-packs", kDefaultExtraPacks));  // 0..32 (kIntSettings)
}

Author Repository::author() const {
    Author a;
    const char* n = std::getenv("DVT_AUTHOR_NAME");
    const char* e = std::getenv("DVT_AUTHOR_EMAIL");
    a.name = n ? n : m_config.get_or("user.name", "");
    a.email = e ? e : m_config.get_or("user.email", "");
    if (a.name.empty() || a.email.empty()) {
        std::string user = "dvt";
        if (auto* pw = ::getpwuid(::getuid())) user = pw->pw_name;
        char host[256] = "localhost";
        ::gethostname(host, sizeof host - 1);
        if (a.name.empty()) a.name = user;
        if (a.email.empty()) a.email = user + "@" + host;
    }
    if (const char* d = std::getenv("DVT_AUTHOR_DATE")) {
        try {
            a.time = std::stoll(d);
        } catch (...) {
            throw Error(ErrorKind::usage, "DVT_AUTHOR_DATE must be seconds since the epoch");
        }
    } else {
        a.time = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                     .count();
        std::time_t t = static_cast<std::time_t>(a.time);
        std::tm lt{};
        ::localtime_r(&t, &lt);
        a.tz_minutes = static_cast<int>(lt.tm_gmtoff / 60);
    }
    return a;
}

util::FileLock Repository::write_lock() {
    return util::FileLock(m_dvt / "lock", m_options.lock_timeout_ms, [this] {
        if (m_options.on_lock_wait)
            m_options.on_lock_wait("waiting for the repository lock (another dvt command is writing to " +
                                   m_dvt.string() + "; up to " + std::to_string(m_options.lock_timeout_ms / 1000) +
                                   " s)");
    });
}

std::set<Hash32> Repository::shallow() const {
    std::set<Hash32> out;
    auto text = util::try_read_text(m_dvt / "shallow");
    if (!text) return out;
    std::size_t pos = 0;
    while (pos < text->size()) {
        auto nl = text->find('\n', pos);
        std::string line = text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text->size() : nl + 1;
        if (line.empty()) continue;
        auto h = Hash32::from_hex(line);
        if (!h) throw Error(ErrorKind::corrupt, (m_dvt / "shallow").string() + ": '" + line + "' is not a commit id");
        out.insert(*h);
    }
    return out;
}

void Repository::add_shallow(const Hash32& id) {
    auto all = shallow();
    if (!all.insert(id).second) return;
    std::string text;
    for (const auto& h : all) text += h.hex() + "\n";
    util::atomic_write_file(m_dvt / "shallow", text);
}

}  // namespace dvt::core
