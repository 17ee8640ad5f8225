// Walking commit history: newest first by commit time (ties broken by id), every parent followed, each commit once.
#pragma once

#include <functional>
#include <optional>
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

// Proving ancestry across commits this repository lacks (a pull across a gap, docs/transport.md, "Pull across a gap").
// The walk goes from `of` through parents, breadth first (first parents before other parents), reading each commit
// from the store when present and asking `fetch_missing` otherwise. `fetch_missing` must return only a commit it
// verified against its id (or nullopt when nobody could provide it: that line of history ends there); what it throws
// ends the walk and propagates. Nothing is written to the repository. The walk is iterative and bounded:
struct AncestryLimits {
    std::size_t max_fetched = 10'000;  // commits obtained through fetch_missing
    std::size_t max_seen = 1u << 18;   // distinct commit ids queued (262,144: a commit may name 1,024 parents)
    // The parents of a commit dated before this (seconds since the epoch) are not followed: a descendant of the
    // ancestor is assumed not to be older than it by more than the caller's slack. A wrong clock can then make the
    // walk miss a descendant (outcome too_old), never find one that is not.
    std::optional<std::int64_t> not_before;
};

enum class AncestryOutcome {
    found,           // `ancestor` is `of` or one of its ancestors
    not_descendant,  // every line of history from `of` was walked to its root without meeting `ancestor`
    limit,           // a bound of AncestryLimits was reached first
    incomplete,      // not met, but some commits could not be fetched (or the deadline passed): not known
    too_old,         // not met: every line of history ended at a root or at a commit dated before `not_before`
};

struct AncestryResult {
    AncestryOutcome outcome = AncestryOutcome::not_descendant;
    std::size_t fetched = 0;          // commits obtained through fetch_missing
    std::size_t unavailable = 0;      // commits fetch_missing could not provide
    std::size_t too_old = 0;          // commits whose parents were not followed (dated before `not_before`)
    std::size_t between = 0;          // found: commits strictly between `ancestor` and `of` on the path found
    std::size_t between_missing = 0;  // found: of those, the ones this repository does not have
};

AncestryResult find_ancestor(Repository& repo, const Hash32& ancestor, const Hash32& of,
                             const std::function<std::optional<objects::Commit>(const Hash32&)>& fetch_missing,
                             const AncestryLimits& limits = {});

const char* to_string(AncestryOutcome o);

}  // namespace dvt::core
