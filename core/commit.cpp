#include "core/commit.hpp"

#include "core/revision.hpp"
#include "core/tree.hpp"

namespace dvt::core {

using namespace dvt::objects;

CommitResult create_commit(Repository& repo, const CommitOptions& opts) {
    auto lock = repo.write_lock();
    auto head = repo.refs().head();
    std::optional<Commit> parent;
    if (head.commit) parent = load_commit(repo, *head.commit);

    auto entries = scan_worktree(repo.root());
    StatCache cache(repo);
    std::uint64_t total = 0, done = 0;
    for (const auto& e : entries) total += e.size;
    auto progress = [&](std::uint64_t n) {
        done += n;
        if (opts.progress) opts.progress(done, total);
    };
    Ingest ingest(repo, true, progress);

    std::vector<Hash32> ids(entries.size());
    std::vector<const WorkEntry*> misses;
    std::vector<std::size_t> miss_index;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        if (e.kind == EntryKind::symlink) continue;
        auto id = cache.lookup(e);
        if (id && ingest.reach_file(*id)) {
            ids[i] = *id;
            done += e.size;
            continue;
        }
        misses.push_back(&e);
        miss_index.push_back(i);
    }
    std::vector<std::uint64_t> read_sizes;
    auto hashed = ingest.add_files(misses, &read_sizes);
    std::vector<StatRow> rows;
    for (std::size_t k = 0; k < misses.size(); ++k) {
        ids[miss_index[k]] = hashed[k];
        auto& e = entries[miss_index[k]];
        if (read_sizes[k] != e.size) {
            // the file changed after the scan: record what was read, and do not cache the stale stat data
            e.size = read_sizes[k];
            continue;
        }
        rows.push_back(StatRow{e.path, e.size, e.mtime_ns, e.ctime_ns, e.ino, e.mode, hashed[k]});
    }
    BuiltTree built = build_trees(ingest, entries, ids);

    CommitResult r;
    if (parent) {
        auto before = flatten_tree(repo.store(), parent->tree);
        FlatTree after;
        for (std::size_t i = 0; i < entries.size(); ++i)
            after[entries[i].path] = FlatEntry{entries[i].kind, entries[i].size, ids[i], entries[i].target};
        for (const auto& d : diff_trees(before, after)) {
            if (d.status == 'A') ++r.added;
            else if (d.status == 'D') ++r.deleted;
            else ++r.modified;
        }
        if (built.root == parent->tree && !opts.allow_empty) {
            ingest.finish();
            cache.store(rows);
            throw Error(ErrorKind::nothing_to_do, "nothing to commit, working tree clean");
        }
    } else {
        r.added = entries.size();
    }

    Commit c;
    c.tree = built.root;
    if (head.commit) c.parents.push_back(*head.commit);
    Author a = repo.author();
    c.author_name = a.name;
    c.author_email = a.email;
    c.time = a.time;
    c.tz_offset_minutes = a.tz_minutes;
    c.files = built.files;
    c.bytes = built.bytes;
    c.git_commit = opts.git_commit;
    c.git_dirty = opts.git_dirty;
    c.message = opts.message;
    if (!c.message.empty() && c.message.back() != '\n') c.message += '\n';
    c.packs = ingest.finish();
    Bytes raw = c.encode();
    Hash32 id = commit_id_of(raw);
    repo.store().write_commit(id, raw);
    std::string first_line = opts.message.substr(0, opts.message.find('\n'));
    repo.refs().advance_head(head.commit, id, std::string(parent ? "commit: " : "commit (initial): ") + first_line);
    cache.store(rows);
    r.id = id;
    r.commit = std::move(c);
    r.stats = ingest.stats();
    return r;
}

}  // namespace dvt::core
