#include "core/hook_points.hpp"

#include "core/revision.hpp"
#include "core/tree.hpp"
#include "hooks/runner.hpp"

namespace dvt::core {

void run_post_pull_hook(Repository& repo, const std::optional<Hash32>& old_head, const Hash32& id,
                        const std::vector<std::string>& paths) {
    if (!hooks::hook_present(repo.dvt_dir(), "post-pull")) return;
    hooks::HookCall call;
    call.name = "post-pull";
    call.work_tree = repo.root();
    call.dvt_dir = repo.dvt_dir();
    if (old_head) call.old_commit = old_head->hex();
    call.new_commit = id.hex();
    auto head = repo.refs().head();
    if (head.branch_ref) call.branch = head.branch_ref->substr(11);
    FlatTree before;
    if (old_head) before = flatten_tree(repo.store(), load_commit(repo, *old_head), paths);
    auto after = flatten_tree(repo.store(), load_commit(repo, id), paths);
    for (const auto& d : diff_trees(before, after)) call.input += std::string(1, d.status) + " " + d.path + "\n";
    std::string joined;
    for (const auto& p : paths) joined += (joined.empty() ? "" : "\n") + p;
    call.env.emplace_back("DVT_PULL_PATHS", joined);
    if (auto st = hooks::run_hook(call); st && *st != 0) hooks::warn_hook_failed("post-pull", *st);
}

}  // namespace dvt::core
