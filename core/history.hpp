// Walking commit history: newest first by commit time (ties broken by id), every parent followed, each commit once.
#pragma once

#include <functional>
#include <vector>

#include "core/repository.hpp"

namespace dvt::core {

struct LogEntry {
    Hash32 id;
    objects::Commit commit;
};

// Calls visit() for each commit reachable from `starts`, newest first; stops when visit returns false.
void walk_history(Repository& repo, const std::vector<Hash32>& starts, const std::function<bool(const LogEntry&)>& visit);

// Every commit reachable from refs, HEAD and reflogs (what gc keeps).
std::vector<Hash32> reachable_commits(Repository& repo);
std::vector<Hash32> root_commits(Repository& repo);

// Whether `ancestor` is `of` or reachable from it through parents present here (the walk stops at commits a shallow
// repository lacks, so false can also mean "not known here").
bool is_ancestor(Repository& repo, const Hash32& ancestor, const Hash32& of);

}  // namespace dvt::core
