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

}  // namespace dvt::core
