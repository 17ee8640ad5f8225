#include "core/commit.hpp"

#include <algorithm>
#include <cstdio>

#include "core/locator.hpp"
#include "core/revision.hpp"
#include "core/swarms.hpp"
#include "core/tree.hpp"
#include "core/version.hpp"
#include "core/walk.hpp"
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

    if (parent) measure_commit(StoreObjects(repo.store()), *parent);  // the version's limits, before it is walked
    // The total is not known before the walk: the parent's size stands for it until the walk passes it.
    std::uint64_t done = 0, total = parent ? parent->bytes : 0;
    auto progress = [&](std::uint64_t n) {
        done += n;
        total = std::max(total, done);
        if (opts.progress) opts.progress(done, total);
    };
    Ingest ingest(repo, true, progress, chunker);
    WalkOptions wo;
    wo.build = true;
    // the stat cache holds file ids of the repository's own chunker, written with the parent's: when this commit cuts
    // otherwise (chunker.tensors just turned on), every file is hashed again
    wo.use_cache = chunker == repo.chunker_params();
    wo.trust_cache = !parent || repo.chunker_of(*parent) == chunker;
    // Delta bases (docs/format.md, "Delta records"): a changed file's chunks may be stored against the chunks of the
    // same path in the first parent.
    wo.delta_bases = repo.delta_depth() > 0;
    wo.record_changes = changes_out != nullptr;
    wo.progress = progress;
    std::optional<Hash32> base;
    if (parent) base = parent->tree;
    WalkResult walked = walk_worktree(repo, base, ingest, wo);
    const BuiltTree& built = walked.built;

    CommitResult r;
    r.added = walked.added;
    r.modified = walked.modified;
    r.deleted = walked.deleted;
    if (changes_out) *changes_out = change_lines(walked.changes);
    if (parent && built.root == parent->tree && !opts.allow_empty) {
        ingest.finish();
        throw Error(ErrorKind::nothing_to_do, "nothing to commit, working tree clean");
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
    // where each directory's objects lie, for partial pulls (docs/format.md, "Locator"): one more pack
    add_locator(repo, c);
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
