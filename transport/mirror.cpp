#include "transport/mirror.hpp"

#include <unistd.h>

#include <algorithm>
#include <set>

#include "objects/torrent_id.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::transport {

namespace fs = std::filesystem;

namespace {

void copy_atomic(const fs::path& from, const fs::path& to) {
    fs::path tmp = to.parent_path() / (".tmp-" + to.filename().string() + "-" + std::to_string(::getpid()));
    std::error_code ec;
    fs::remove(tmp, ec);
    if (::link(from.c_str(), tmp.c_str()) != 0) {  // another file system: copy, then fsync
        fs::copy_file(from, tmp, ec);
        if (ec) throw Error(ErrorKind::io, "cannot copy " + from.string() + " to " + tmp.string() + ": " + ec.message());
        util::Fd fd = util::open_read(tmp);
        util::fsync_fd(fd.get(), tmp.string());
    }
    fs::permissions(tmp, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read, ec);
    if (::rename(tmp.c_str(), to.c_str()) != 0) throw_errno("cannot rename into " + to.string());
}

}  // namespace

MirrorResult export_mirror(core::Repository& repo, const std::vector<Hash32>& commits, const fs::path& dir) {
    MirrorResult res;
    auto& store = repo.store();
    std::error_code ec;
    fs::create_directories(dir / "packs", ec);
    fs::create_directories(dir / "commits", ec);
    if (ec) throw Error(ErrorKind::io, "cannot create the mirror in " + dir.string() + ": " + ec.message());
    std::set<Hash32> packs;
    auto write_commit_file = [&](const Hash32& id) {
        fs::path cdir = dir / "commits" / id.hex();
        fs::path cfile = cdir / objects::kCommitTorrentName;
        if (util::path_exists(cfile)) return;
        fs::create_directories(cdir, ec);
        util::atomic_write_file(cfile, store.read_commit_bytes(id), 0444);
        ++res.commits;
    };
    for (const auto& id : commits) {
        auto c = store.read_commit(id);
        if (!c) throw Error(ErrorKind::not_found, "commit " + id.hex() + " not found");
        for (const auto& p : c->packs) packs.insert(p.id);
        write_commit_file(id);
    }
    // The commit files (not the packs) of their ancestors present here: a puller across a gap proves ancestry with
    // them (docs/transport.md, "Pull across a gap"). Iterative; each commit once; the walk ends at absent commits.
    std::set<Hash32> seen(commits.begin(), commits.end());
    std::vector<Hash32> stack(commits.begin(), commits.end());
    while (!stack.empty()) {
        Hash32 id = stack.back();
        stack.pop_back();
        auto c = store.read_commit(id);
        if (!c) continue;
        if (!std::count(commits.begin(), commits.end(), id)) write_commit_file(id);
        for (const auto& p : c->parents)
            if (store.has_commit(p) && seen.insert(p).second) stack.push_back(p);
    }
    for (const auto& id : packs) {
        auto info = store.pack_by_id(id);
        if (!info || info->partial)
            throw Error(ErrorKind::not_found, "pack " + id.hex() + " is not complete here: pull it before mirroring");
        fs::path dest = dir / "packs" / objects::pack_torrent_name(id);
        fs::path torrent = dir / "packs" / (id.hex() + ".torrent");
        if (!util::path_exists(dest)) {
            copy_atomic(store.pack_path(id), dest);
            ++res.packs;
            res.bytes += info->ref.length;
        }
        if (!util::path_exists(torrent)) {
            Bytes t = objects::torrent_file(objects::pack_torrent_name(id), info->ref.length, id,
                                            objects::pack_piece_length(info->ref.length), store.piece_layer(info->num));
            util::atomic_write_file(torrent, t, 0444);
        }
    }
    util::fsync_dir(dir / "packs");
    util::fsync_dir(dir / "commits");
    return res;
}

}  // namespace dvt::transport
