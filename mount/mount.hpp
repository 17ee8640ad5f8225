// A read-only FUSE mount of one version (#18, `dvt mount <rev> DIR`): the version's files, symlinks and directories
// appear at once; their bytes are read on demand through core::VersionReader, so every byte a process reads was
// verified against its id, and a chunk that cannot be had fails the read with EIO (never other bytes).
//
// Contract:
//  - serve_mount() mounts at `mountpoint` (an existing empty directory), calls on_ready once the mount is visible,
//    and serves until the mount is unmounted (`fusermount3 -u`, `umount`) or the process gets SIGTERM, SIGINT or
//    SIGHUP (then it unmounts itself). Runs in the calling thread (the foreground), with a few FUSE worker threads.
//  - Read-only: opening for writing is EROFS; every mode is read-only (0444 files, 0555 executables and directories).
//    Times are the commit's; owner the mounting user. Contents never change, so the kernel may cache them.
//  - Errors before the mount are one-line Errors: a mount point that does not exist is not_found, one that is not a
//    directory usage, a mount the kernel or fusermount3 refuses (no /dev/fuse, not permitted, busy) io.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/reader.hpp"
#include "core/repository.hpp"
#include "transport/lazy_source.hpp"

namespace dvt::mount {

struct MountOptions {
    std::filesystem::path mountpoint;
    std::function<void(const Hash32& commit)> on_ready;  // the mount is visible
    bool debug = false;              // libfuse's request log on stderr
    // Read what the repository lacks from peers (transport/lazy_source.hpp): `rev` may then be a commit id the
    // repository does not hold (fetched with its metadata before the mount appears); bytes are fetched on first read.
    std::optional<transport::LazyOptions> lazy;
};

struct MountStats {
    std::uint64_t opens = 0;
    std::uint64_t reads = 0;
    std::uint64_t bytes_read = 0;
    std::uint64_t read_errors = 0;  // reads that failed with EIO (their first error is in last_error)
    std::string last_error;
    std::optional<transport::LazyStats> lazy;  // what the lazy source fetched (MountOptions::lazy)
};

MountStats serve_mount(const core::VersionReader& reader, const MountOptions& opts);

struct MountResult {
    Hash32 commit;
    MountStats stats;
};
// `dvt mount`: resolves `rev` in `repo` (core/revision.hpp) and serves that version at opts.mountpoint. Takes no lock:
// it only reads objects, which nothing rewrites in place (gc of a version being read can make reads fail with EIO).
// With opts.lazy: a 64-hex `rev` is taken as is (else resolved here); a LazySource (which holds the pull lock) adds
// the commit (ErrorKind::no_peers, corrupt, unsupported as a pull's) and is the store's source while mounted.
MountResult mount_version(core::Repository& repo, const std::string& rev, const MountOptions& opts);

}  // namespace dvt::mount
