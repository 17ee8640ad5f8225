#include "core/history.hpp"

#include <deque>
#include <map>
#include <queue>
#include <set>

#include "core/revision.hpp"

namespace dvt::core {

void walk_history(Repository& repo, const std::vector<Hash32>& starts, const std::function<bool(const LogEntry&)>& visit) {
    auto cmp = [](const LogEntry& a, const LogEntry& b) {
        if (a.commit.time != b.commit.time) return a.commit.time < b.commit.time;
        return a.id < b.id;
    };
    std::priority_queue<LogEntry, std::vector<LogEntry>, decltype(cmp)> q(cmp);
    std::set<Hash32> seen;
    const auto shallow = repo.shallow();
    for (const auto& s : starts)
        if (seen.insert(s).second) q.push(LogEntry{s, load_commit(repo, s)});
    while (!q.empty()) {
        LogEntry e = q.top();
        q.pop();
        if (!visit(e)) return;
        bool boundary = shallow.count(e.id) > 0;  // its parents were not fetched: history ends here if absent
        for (const auto& p : e.commit.parents)
            if ((!boundary || repo.store().has_commit(p)) && seen.insert(p).second) q.push(LogEntry{p, load_commit(repo, p)});
    }
}

std::vector<Hash32> root_commits(Repository& repo) {
    std::set<Hash32> roots;
    auto& refs = repo.refs();
    if (auto h = refs.head(); h.commit) roots.insert(*h.commit);
    for (const char* prefix : {"refs/heads/", "refs/tags/", "refs/remotes/"})
        for (const auto& [name, id] : refs.list(prefix)) roots.insert(id);
    for (const auto& name : refs.reflog_names())
        for (const auto& e : refs.reflog(name)) {
            if (e.new_id) roots.insert(*e.new_id);
            if (e.old_id) roots.insert(*e.old_id);
        }
    return {roots.begin(), roots.end()};
}

std::vector<Hash32> reachable_commits(Repository& repo) {
    std::set<Hash32> seen;
    std::vector<Hash32> stack;
    for (const auto& r : root_commits(repo))
        if (repo.store().has_commit(r) && seen.insert(r).second) stack.push_back(r);
    while (!stack.empty()) {
        Hash32 id = stack.back();
        stack.pop_back();
        auto c = repo.store().read_commit(id);
        if (!c) continue;
        for (const auto& p : c->parents)
            if (repo.store().has_commit(p) && seen.insert(p).second) stack.push_back(p);
    }
    return {seen.begin(), seen.end()};
}

bool is_ancestor(Repository& repo, const Hash32& ancestor, const Hash32& of) {
    std::set<Hash32> seen{of};
    std::vector<Hash32> stack{of};
    while (!stack.empty()) {
        Hash32 c = stack.back();
        stack.pop_back();
        if (c == ancestor) return true;
        auto commit = repo.store().read_commit(c);  // nullopt past a shallow boundary
        if (!commit) continue;
        for (const auto& p : commit->parents)
            if (seen.insert(p).second) stack.push_back(p);
    }
    return false;
}

AncestryResult find_ancestor(Repository& repo, const Hash32& ancestor, const Hash32& of,
                             const std::function<std::optional<objects::Commit>(const Hash32&)>& fetch_missing,
                             const AncestryLimits& limits) {
    AncestryResult r;
    if (of == ancestor) {
        r.outcome = AncestryOutcome::found;
        return r;
    }
    // child[id]: the commit through which `id` was first reached (breadth first: a shortest path back to `of`)
    std::map<Hash32, Hash32> child;
    std::set<Hash32> missing;  // commits that were not in this repository (fetched, or not available)
    std::deque<Hash32> queue{of};
    child.emplace(of, of);
    auto path = [&] {  // counts the commits strictly between `ancestor` and `of`
        for (Hash32 c = child.at(ancestor); c != of; c = child.at(c)) {
            ++r.between;
            if (missing.count(c)) ++r.between_missing;
        }
    };
    while (!queue.empty()) {
        Hash32 id = queue.front();
        queue.pop_front();
        std::optional<objects::Commit> c = repo.store().read_commit(id);
        if (!c) {
            missing.insert(id);
            if (r.fetched >= limits.max_fetched) {
                r.outcome = AncestryOutcome::limit;
                return r;
            }
            c = fetch_missing(id);
            if (!c) {
                ++r.unavailable;
                continue;
            }
            ++r.fetched;
        }
        if (limits.not_before && c->time < *limits.not_before && !c->parents.empty()) {
            ++r.too_old;
            continue;
        }
        for (const auto& p : c->parents) {
            if (child.count(p)) continue;
            if (child.size() >= limits.max_seen) {
                r.outcome = AncestryOutcome::limit;
                return r;
            }
            child.emplace(p, id);
            if (p == ancestor) {
                path();
                r.outcome = AncestryOutcome::found;
                return r;
            }
            queue.push_back(p);
        }
    }
    r.outcome = r.unavailable ? AncestryOutcome::incomplete
                : r.too_old   ? AncestryOutcome::too_old
                              : AncestryOutcome::not_descendant;
    return r;
}

const char* to_string(AncestryOutcome o) {
    switch (o) {
        case AncestryOutcome::found: return "found";
        case AncestryOutcome::not_descendant: return "not_descendant";
        case AncestryOutcome::limit: return "limit";
        case AncestryOutcome::incomplete: return "incomplete";
        case AncestryOutcome::too_old: return "too_old";
    }
    return "?";
}

}  // namespace dvt::core
