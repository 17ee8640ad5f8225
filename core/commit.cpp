#include "core/commit.hpp"

#include <cstdio>

#include "core/revision.hpp"
#include "core/swarms.hpp"
#include "core/tree.hpp"
#include "hooks/git.hpp"
#include "hooks/runner.hpp"
#include "objects/limits.hpp"

namespace dvt::core {

using namespace dvt::objects;

namespace {

// "<status> <path>\n" per change: the stdin of pre-commit and post-commit.
std::string change_lines(const std::vector<DiffEntry>& changes) {
    std::string s;
    for (const auto& d : changes) {
        s += d.status;
        s += ' ';
        s += d.path;
        s += '\n';
    }
    return s;
}

hooks::HookCall hook_call(Repository& repo, const char* name, const refs::Head& head) {
    hooks::HookCall c;
    c.name = name;
    c.work_tree = repo.root();
    c.dvt_dir = repo.dvt_dir();
    if (head.commit) c.old_commit = head.commit->hex();
    if (head.branch_ref) c.branch = head.branch_ref->substr(11);
    return c;
}

void run_pre_commit(Repository& repo, const CommitOptions& opts, const refs::Head& head,
                    const std::optional<Commit>& parent, const ChunkerParams& chunker) {
    if (!opts.run_hooks || !hooks::hook_present(repo.dvt_dir(), "pre-commit")) return;
    FlatTree before;
    if (parent) before = flatten_tree(repo.store(), *parent);
    auto call = hook_call(repo, "pre-commit", head);
    call.input = change_lines(diff_trees(before, worktree_state(repo, {}, chunker)));
    call.env.emplace_back("DVT_COMMIT_MESSAGE", opts.message);
    if (opts.git_commit) call.env.emplace_back("DVT_GIT_COMMIT", *opts.git_commit);
    if (opts.git_dirty) call.env.emplace_back("DVT_GIT_DIRTY", *opts.git_dirty ? "1" : "0");
    auto status = hooks::run_hook(call);
    if (status && *status != 0)
        throw Error(ErrorKind::hook_rejected, "the pre-commit hook rejected the commit (exit status " +
                                                  std::to_string(*status) + "); nothing was committed");
}

CommitResult commit_locked(Repository& repo, const CommitOptions& opts, refs::Head& head, std::string* changes_out) {
    auto lock = repo.write_lock();
    head = repo.refs().head();
    std::optional<Commit> parent;
    if (head.commit) parent = load_commit(repo, *head.commit);
    // A commit cuts files as its first parent was cut (so unchanged files keep their ids and a clone commits as its
    // origin did); a first commit as the repository's config says (docs/format.md, "Commit").
    // Tensor-aware chunking follows chunker.tensors when the config sets it (so enabling it re-cuts the weight files
    // once), else the parent; a format-1 commit cannot carry it.
    ChunkerParams chunker = parent ? repo.chunker_of(*parent) : repo.chunker_params();
    if (repo.commit_format() < 2) chunker.tensors = false;
    else if (auto t = repo.tensor_chunking_setting()) chunker.tensors = *t;
    run_pre_commit(repo, opts, head, parent, chunker);

    auto entries = scan_worktree(repo.root());
    std::optional<StatCache> cache;  // holds file ids of the repository's own chunker only
    if (chunker == repo.chunker_params()) cache.emplace(repo);
    // its rows were written with the parent's chunker: when this commit cuts otherwise, every file is hashed again
    const bool cache_lookup = cache && (!parent || repo.chunker_of(*parent) == chunker);
    std::uint64_t total = 0, done = 0;
    for (const auto& e : entries) total += e.size;
    auto progress = [&](std::uint64_t n) {
        done += n;
        if (opts.progress) opts.progress(done, total);
    };
    Ingest ingest(repo, true, progress, chunker);

    std::vector<Hash32> ids(entries.size());
    std::vector<const WorkEntry*> misses;
    std::vector<std::size_t> miss_index;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        if (e.kind == EntryKind::symlink) continue;
        auto id = cache_lookup ? cache->lookup(e) : std::nullopt;
        if (id && ingest.reach_file(*id)) {
            ids[i] = *id;
            done += e.size;
            continue;
        }
        misses.push_back(&e);
        miss_index.push_back(i);
    }
    // Delta bases (docs/format.md, "Delta records"): a changed file's chunks may be stored against the chunks of the
    // same path in the first parent.
    std::optional<FlatTree> before;
    if (parent) before = flatten_tree(repo.store(), *parent);
    std::vector<std::optional<Hash32>> previous(misses.size());
    if (before && repo.delta_depth() > 0)
        for (std::size_t k = 0; k < misses.size(); ++k)
            if (auto it = before->find(misses[k]->path);
                it != before->end() && (it->second.kind == EntryKind::file || it->second.kind == EntryKind::executable))
                previous[k] = it->second.id;
    std::vector<std::uint64_t> read_sizes;
    auto hashed = ingest.add_files(misses, &read_sizes, &previous);
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
        FlatTree after;
        for (std::size_t i = 0; i < entries.size(); ++i)
            after[entries[i].path] = FlatEntry{entries[i].kind, entries[i].size, ids[i], entries[i].target};
        auto changes = diff_trees(*before, after);
        for (const auto& d : changes) {
            if (d.status == 'A') ++r.added;
            else if (d.status == 'D') ++r.deleted;
            else ++r.modified;
        }
        if (changes_out) *changes_out = change_lines(changes);
        if (built.root == parent->tree && !opts.allow_empty) {
            ingest.finish();
            if (cache) cache->store(rows);
            throw Error(ErrorKind::nothing_to_do, "nothing to commit, working tree clean");
        }
    } else {
        r.added = entries.size();
        if (changes_out)
            for (const auto& e : entries) *changes_out += "A " + e.path + "\n";
    }

    Commit c;
    c.format = repo.commit_format();
    c.chunker = chunker;
    if (c.format < 2) c.chunker.reset();  // a version-1 commit carries none
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
    // at most ⌈bytes / pack.size⌉ + pack.extra-packs packs (docs/format.md, "Re-packing")
    c.packs = bound_commit_packs(repo, c, &r.repack);
    if (c.packs.size() > kMaxCommitPacks)
        throw Error(ErrorKind::unsupported, "the version needs " + std::to_string(c.packs.size()) +
                                                " packs, more than a commit may name (" +
                                                std::to_string(kMaxCommitPacks) + "); a larger pack.size holds it");
    Bytes raw = c.encode();
    if (raw.size() > kMaxCommitSize)
        throw Error(ErrorKind::unsupported, "the commit would take " + std::to_string(raw.size()) +
                                                " bytes, more than the limit of " + std::to_string(kMaxCommitSize) +
                                                " (a shorter message?)");
    Hash32 id = commit_id_of(raw);
    repo.store().write_commit(id, raw);
    std::string first_line = opts.message.substr(0, opts.message.find('\n'));
    repo.refs().advance_head(head.commit, id, std::string(parent ? "commit: " : "commit (initial): ") + first_line);
    if (cache) cache->store(rows);
    r.id = id;
    r.commit = std::move(c);
    r.stats = ingest.stats();
    return r;
}

}  // namespace

CommitResult create_commit(Repository& repo, const CommitOptions& opts) {
    CommitOptions o = opts;
    if (o.detect_git && !o.git_commit) {
        try {
            if (auto p = hooks::git_provenance(repo.root())) {
                o.git_commit = p->commit;
                o.git_dirty = p->dirty;
            }
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::io) throw;  // a bad DVT_GIT_WORK_TREE is the user's to fix
            std::fprintf(stderr, "dvt: warning: git provenance not recorded: %s\n", e.what());
        }
    }
    bool post = o.run_hooks && hooks::hook_present(repo.dvt_dir(), "post-commit");
    refs::Head head;
    std::string changes;
    CommitResult r = commit_locked(repo, o, head, post ? &changes : nullptr);
    if (post) {  // the write lock is released: the hook may run dvt commands that write
        auto call = hook_call(repo, "post-commit", head);
        call.new_commit = r.id.hex();
        call.input = std::move(changes);
        call.env.emplace_back("DVT_COMMIT_MESSAGE", r.commit.message);
        if (auto st = hooks::run_hook(call); st && *st != 0) hooks::warn_hook_failed("post-commit", *st);
    }
    return r;
}

}  // namespace dvt::core
