#include "core/verify.hpp"

#include "core/ingest.hpp"
#include "core/revision.hpp"
#include "core/worktree.hpp"

namespace dvt::core {

FlatTree hash_worktree(Repository& repo, std::optional<objects::ChunkerParams> chunker) {
    auto entries = scan_worktree(repo.root());
    std::vector<const WorkEntry*> files;
    for (const auto& e : entries)
        if (e.kind != objects::EntryKind::symlink) files.push_back(&e);
    Ingest ingest(repo, false, {}, chunker);
    auto ids = ingest.add_files(files);
    FlatTree t;
    std::size_t k = 0;
    for (const auto& e : entries) {
        FlatEntry f{e.kind, e.size, Hash32{}, e.target};
        if (e.kind != objects::EntryKind::symlink) f.id = ids[k++];
        t[e.path] = f;
    }
    return t;
}

VerifyResult verify_worktree(Repository& repo, const Hash32& id, bool fast) {
    VerifyResult r;
    r.commit = load_commit(repo, id);
    auto expected = flatten_tree(repo.store(), r.commit);
    auto chunker = repo.chunker_of(r.commit);  // cut as the commit was
    auto actual = fast ? worktree_state(repo, {}, chunker) : hash_worktree(repo, chunker);
    r.diffs = diff_trees(expected, actual);
    return r;
}

}  // namespace dvt::core
