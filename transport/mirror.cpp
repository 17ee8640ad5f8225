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

namespace {

class DirectorySink : public MirrorSink {
public:
    explicit DirectorySink(fs::path dir) : m_dir(std::move(dir)) {
        std::error_code ec;
        fs::create_directories(m_dir / "packs", ec);
        fs::create_directories(m_dir / "commits", ec);
        if (ec) throw Error(ErrorKind::io, "cannot create the mirror in " + m_dir.string() + ": " + ec.message());
    }
    std::string where() const override { return m_dir.string(); }
    bool has(const std::string& key, std::uint64_t) override { return util::path_exists(m_dir / key); }
    void put(const std::string& key, const Bytes& data) override {
        fs::path p = m_dir / key;
        std::error_code ec;
        fs::create_directories(p.parent_path(), ec);
        util::atomic_write_file(p, data, 0444);
    }
    void put_file(const std::string& key, const fs::path& file, std::uint64_t) override { copy_atomic(file, m_dir / key); }
    void finish() override {
        util::fsync_dir(m_dir / "packs");
        util::fsync_dir(m_dir / "commits");
    }

private:
    fs::path m_dir;
};

}  // namespace

std::unique_ptr<MirrorSink> directory_sink(const fs::path& dir) { return std::make_unique<DirectorySink>(dir); }

MirrorResult export_mirror(core::Repository& repo, const std::vector<Hash32>& commits, MirrorSink& sink) {
    MirrorResult res;
    auto& store = repo.store();
    std::set<Hash32> packs;
    auto write_commit_file = [&](const Hash32& id) {
        std::string key = "commits/" + id.hex() + "/" + objects::kCommitTorrentName;
        Bytes b = store.read_commit_bytes(id);
        if (sink.has(key, b.size())) return;
        sink.put(key, b);
        ++res.commits;
    };
    auto is_complete = [&](const Hash32& pack) {
        auto info = store.pack_by_id(pack);
        return info && !info->partial;
    };
    for (const auto& id : commits) {
        auto c = store.read_commit(id);
        if (!c) throw Error(ErrorKind::not_found, "commit " + id.hex() + " not found");
        for (const auto& p : c->packs)
            // the locator's pack goes when it is here complete: a repository that pulled the version whole lacks it,
            // and a puller of some paths then finds them through the pack indexes (docs/format.md, "Locator")
            if (!(c->locator && p.id == c->locator->pack) || is_complete(p.id)) packs.insert(p.id);
    }
    // packs first, commit files last: a reader that finds a commit file finds what it names
    for (const auto& id : packs) {
        auto info = store.pack_by_id(id);
        if (!info || info->partial)
            throw Error(ErrorKind::not_found, "pack " + id.hex() + " is not complete here: pull it before mirroring");
        std::string key = "packs/" + objects::pack_torrent_name(id);
        if (!sink.has(key, info->ref.length)) {
            sink.put_file(key, store.pack_path(id), info->ref.length);
            ++res.packs;
            res.bytes += info->ref.length;
        }
        Bytes t = objects::torrent_file(objects::pack_torrent_name(id), info->ref.length, id,
                                        objects::pack_piece_length(info->ref.length), store.piece_layer(info->num));
        std::string tkey = "packs/" + id.hex() + ".torrent";
        if (!sink.has(tkey, t.size())) sink.put(tkey, t);
    }
    for (const auto& id : commits) write_commit_file(id);
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
    sink.finish();
    return res;
}

}  // namespace dvt::transport
