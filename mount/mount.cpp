#define FUSE_USE_VERSION 312
#include "mount/mount.hpp"

#include <fuse3/fuse.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "core/revision.hpp"
#include "util/error.hpp"

namespace dvt::mount {

namespace {

using objects::EntryKind;

struct State {
    explicit State(const core::VersionReader& r) : reader(r) {}
    const core::VersionReader& reader;
    uid_t uid = ::getuid();
    gid_t gid = ::getgid();
    std::atomic<std::uint64_t> opens{0}, reads{0}, bytes_read{0}, read_errors{0};
    std::mutex error_mutex;
    std::string last_error;
};

State& state() { return *static_cast<State*>(fuse_get_context()->private_data); }

void fill_stat(const State& s, const core::ReaderEntry& e, struct stat* st) {
    std::memset(st, 0, sizeof *st);
    st->st_uid = s.uid;
    st->st_gid = s.gid;
    st->st_mtim.tv_sec = st->st_ctim.tv_sec = st->st_atim.tv_sec = static_cast<time_t>(s.reader.commit().time);
    switch (e.kind) {
        case EntryKind::directory: st->st_mode = S_IFDIR | 0555; st->st_nlink = 2; break;
        case EntryKind::symlink: st->st_mode = S_IFLNK | 0777; st->st_nlink = 1; break;
        case EntryKind::executable: st->st_mode = S_IFREG | 0555; st->st_nlink = 1; break;
        case EntryKind::file: st->st_mode = S_IFREG | 0444; st->st_nlink = 1; break;
    }
    st->st_size = static_cast<off_t>(e.kind == EntryKind::directory ? 4096 : e.size);
    st->st_blksize = 65536;
    st->st_blocks = static_cast<blkcnt_t>((e.kind == EntryKind::directory ? 0 : e.size + 511) / 512);
}

// Runs an operation; an exception becomes EIO (remembered for the stats), never escapes into libfuse.
template <class F>
int guarded(F&& f) {
    try {
        return f();
    } catch (const std::exception& e) {
        State& s = state();
        std::lock_guard lock(s.error_mutex);
        if (s.last_error.empty()) s.last_error = e.what();
        return -EIO;
    } catch (...) {
        return -EIO;
    }
}

void* op_init(fuse_conn_info*, fuse_config* cfg) {
    cfg->kernel_cache = 1;  // a version never changes: keep its pages between opens
    cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 3600;
    return fuse_get_context()->private_data;
}

int op_getattr(const char* path, struct stat* st, fuse_file_info*) {
    return guarded([&] {
        auto e = state().reader.lookup(path);
        if (!e) return -ENOENT;
        fill_stat(state(), *e, st);
        return 0;
    });
}

int op_readlink(const char* path, char* buf, size_t size) {
    return guarded([&] {
        auto e = state().reader.lookup(path);
        if (!e) return -ENOENT;
        if (e->kind != EntryKind::symlink) return -EINVAL;
        if (size == 0) return -EINVAL;
        std::size_t n = std::min(size - 1, e->target.size());
        std::memcpy(buf, e->target.data(), n);
        buf[n] = '\0';
        return 0;
    });
}

int op_open(const char* path, fuse_file_info* fi) {
    return guarded([&] {
        if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) return -EROFS;
        auto e = state().reader.lookup(path);
        if (!e) return -ENOENT;
        if (e->kind == EntryKind::directory) return -EISDIR;
        fi->fh = reinterpret_cast<std::uint64_t>(new core::ReaderEntry(std::move(*e)));
        fi->keep_cache = 1;
        state().opens++;
        return 0;
    });
}

int op_release(const char*, fuse_file_info* fi) {
    delete reinterpret_cast<core::ReaderEntry*>(fi->fh);
    fi->fh = 0;
    return 0;
}

int op_read(const char*, char* buf, size_t size, off_t off, fuse_file_info* fi) {
    State& s = state();
    s.reads++;
    int r = guarded([&] {
        const auto& e = *reinterpret_cast<const core::ReaderEntry*>(fi->fh);
        if (off < 0) return -EINVAL;
        std::size_t n = s.reader.read(e, static_cast<std::uint64_t>(off),
                                      std::span(reinterpret_cast<std::uint8_t*>(buf), size));
        s.bytes_read += n;
        return static_cast<int>(n);
    });
    if (r < 0) s.read_errors++;
    return r;
}

int op_opendir(const char* path, fuse_file_info*) {
    return guarded([&] {
        auto e = state().reader.lookup(path);
        if (!e) return -ENOENT;
        return e->kind == EntryKind::directory ? 0 : -ENOTDIR;
    });
}

int op_readdir(const char* path, void* buf, fuse_fill_dir_t filler, off_t, fuse_file_info*, fuse_readdir_flags) {
    return guarded([&] {
        State& s = state();
        auto entries = s.reader.list(path);
        filler(buf, ".", nullptr, 0, fuse_fill_dir_flags{});
        filler(buf, "..", nullptr, 0, fuse_fill_dir_flags{});
        struct stat st;
        for (const auto& e : entries) {
            fill_stat(s, core::ReaderEntry{e.kind, e.size, e.id, e.target, {}, e.name}, &st);
            if (filler(buf, e.name.c_str(), &st, 0, fuse_fill_dir_flags{})) break;
        }
        return 0;
    });
}

int op_statfs(const char*, struct statvfs* sv) {
    std::memset(sv, 0, sizeof *sv);
    sv->f_bsize = sv->f_frsize = 4096;
    sv->f_blocks = (state().reader.commit().bytes + 4095) / 4096;
    sv->f_files = state().reader.commit().files;
    sv->f_namemax = 1024;
    return 0;
}

// libfuse's messages: the last one explains a failed mount.
std::mutex g_log_mutex;
std::string g_last_log;
void log_to_string(fuse_log_level level, const char* fmt, va_list ap) {
    char line[512];
    std::vsnprintf(line, sizeof line, fmt, ap);
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    if (level <= FUSE_LOG_ERR) {
        std::lock_guard lock(g_log_mutex);
        g_last_log = s;
    }
}

}  // namespace

namespace {
MountStats serve(const core::VersionReader& reader, const Hash32& commit_id, const MountOptions& opts) {
    namespace fs = std::filesystem;
    std::error_code ec;
    auto st = fs::status(opts.mountpoint, ec);
    if (!fs::exists(st)) throw Error(ErrorKind::not_found, "mount point " + opts.mountpoint.string() + " does not exist");
    if (!fs::is_directory(st)) throw Error(ErrorKind::usage, "mount point " + opts.mountpoint.string() + " is not a directory");

    fuse_operations ops{};
    ops.init = op_init;
    ops.getattr = op_getattr;
    ops.readlink = op_readlink;
    ops.open = op_open;
    ops.release = op_release;
    ops.read = op_read;
    ops.opendir = op_opendir;
    ops.readdir = op_readdir;
    ops.statfs = op_statfs;

    State s(reader);
    std::string options = "ro,default_permissions,fsname=dvt,subtype=dvt";
    std::vector<std::string> argv_s{"dvt", "-o", options};
    if (opts.debug) argv_s.push_back("-d");
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
    if (!opts.debug) fuse_set_log_func(log_to_string);
    auto fail = [](const std::string& what) {
        std::lock_guard lock(g_log_mutex);
        return Error(ErrorKind::io, what + (g_last_log.empty() ? "" : ": " + g_last_log));
    };

    fuse* f = fuse_new(&args, &ops, sizeof ops, &s);
    fuse_opt_free_args(&args);
    if (!f) throw fail("cannot set up the FUSE file system");
    if (fuse_mount(f, opts.mountpoint.c_str()) != 0) {
        fuse_destroy(f);
        throw fail("cannot mount on " + opts.mountpoint.string());
    }
    fuse_session* se = fuse_get_session(f);
    if (fuse_set_signal_handlers(se) != 0) {
        fuse_unmount(f);
        fuse_destroy(f);
        throw fail("cannot install signal handlers for the mount");
    }
    if (opts.on_ready) opts.on_ready(commit_id);
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 8);
    int rc = fuse_loop_mt(f, cfg);
    fuse_loop_cfg_destroy(cfg);
    fuse_remove_signal_handlers(se);
    fuse_unmount(f);
    fuse_destroy(f);
    if (rc < 0) throw Error(ErrorKind::io, "the FUSE loop failed: " + std::string(std::strerror(-rc)));

    MountStats out;
    out.opens = s.opens;
    out.reads = s.reads;
    out.bytes_read = s.bytes_read;
    out.read_errors = s.read_errors;
    out.last_error = s.last_error;
    return out;
}
}  // namespace

MountStats serve_mount(const core::VersionReader& reader, const MountOptions& opts) {
    return serve(reader, Hash32{}, opts);
}

MountResult mount_version(core::Repository& repo, const std::string& rev, const MountOptions& opts) {
    MountResult r;
    if (!opts.lazy) {
        r.commit = core::resolve_commit(repo, rev);
        core::VersionReader reader(repo.store(), core::load_commit(repo, r.commit));
        r.stats = serve(reader, r.commit, opts);
        return r;
    }
    auto hex = Hash32::from_hex(rev);
    r.commit = hex ? *hex : core::resolve_commit(repo, rev);
    auto source = std::make_shared<transport::LazySource>(repo, *opts.lazy);
    objects::Commit c = source->add_commit(r.commit);
    repo.store().set_source(source);
    struct Unplug {
        objects::ObjectStore& store;
        ~Unplug() { store.set_source(nullptr); }
    } unplug{repo.store()};
    core::VersionReader reader(repo.store(), c);
    r.stats = serve(reader, r.commit, opts);
    r.stats.lazy = source->stats();
    return r;
}

}  // namespace dvt::mount
