// Folding a version's tree DAG bottom-up without recursion: the one tree walk of the whole-version checks
// (core/version: measure_tree) and of fsck (core/maintenance). Each distinct tree is opened once and its result kept
// in a memo by id; a subtree met again (a shared directory, or a "DAG bomb" naming one subtree many times) is folded
// from the memo. The stack holds at most kMaxTreeDepth + 1 trees (docs/format.md, "Limits"): a deeper chain stops the
// walk before its next tree is read.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "objects/limits.hpp"
#include "objects/object.hpp"

namespace dvt::core {

// Folds the tree `root` into memo[root] and returns a pointer to it (stable while the memo lives: a std::map or
// std::unordered_map of Hash32 -> R), or nullptr if the root could not be opened or the walk went too deep.
//  - open(id) -> std::optional<std::pair<objects::Tree, R>>: the tree's entries and the result to fold them into.
//    nullopt: the walk does not descend; the tree's result is then what open() put into the memo, or none (a failed
//    tree: its parent is handed nullptr). open() may throw, which ends the walk.
//  - add(R& acc, const Hash32& tree, const objects::TreeEntry& e, const R* sub) folds entry `e` of `tree` into acc;
//    for a directory `sub` is the subtree's result (nullptr when it failed), for anything else nullptr.
//  - too_deep(const std::vector<Hash32>& stack) is called when a directory not in the memo lies kMaxTreeDepth + 1
//    levels down (stack: the trees being folded, root first); it may throw, else the walk returns nullptr.
template <class Memo, class Open, class Add, class TooDeep>
const typename Memo::mapped_type* fold_tree(const Hash32& root, Memo& memo, Open&& open, Add&& add,
                                            TooDeep&& too_deep) {
    using R = typename Memo::mapped_type;
    struct Frame {
        Hash32 id;
        objects::Tree tree;
        std::size_t next = 0;
        R acc;
    };
    std::vector<Frame> stack;
    auto known = [&](const Hash32& id) -> const R* {
        auto it = memo.find(id);
        return it == memo.end() ? nullptr : &it->second;
    };
    // Starts tree `id`: true when a frame was pushed, else *result is its result (memoized, or set by open()).
    auto enter = [&](const Hash32& id, const R** result) -> bool {
        if ((*result = known(id))) return false;
        auto opened = open(id);
        if (!opened) {
            *result = known(id);
            return false;
        }
        stack.push_back(Frame{id, std::move(opened->first), 0, std::move(opened->second)});
        return true;
    };
    const R* result = nullptr;
    if (!enter(root, &result)) return result;
    while (!stack.empty()) {
        Frame& f = stack.back();
        if (f.next == f.tree.entries.size()) {
            Hash32 id = f.id;
            R acc = std::move(f.acc);
            stack.pop_back();
            result = &(memo[id] = std::move(acc));
            if (!stack.empty()) {  // fold into the parent, whose entry `next` named it
                Frame& p = stack.back();
                add(p.acc, p.id, p.tree.entries[p.next], result);
                ++p.next;
            }
            continue;
        }
        const objects::TreeEntry& e = f.tree.entries[f.next];
        const R* sub = nullptr;
        if (e.kind == objects::EntryKind::directory) {
            if (!known(e.id) && stack.size() > objects::kMaxTreeDepth) {
                std::vector<Hash32> ids;
                for (const auto& fr : stack) ids.push_back(fr.id);
                too_deep(ids);
                return nullptr;
            }
            if (enter(e.id, &sub)) continue;  // pushed (`f` and `e` are invalid from here): folded in when done
        }
        add(f.acc, f.id, e, sub);
        ++f.next;
    }
    return result;
}

}  // namespace dvt::core
