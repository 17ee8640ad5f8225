// core::find_ancestor: the bounded ancestry walk a pull across a gap uses (docs/transport.md, "Pull across a gap").
// Commits the repository lacks come from a callback; here a map of commits that exist only in memory (their ids are
// arbitrary: the walk trusts the callback to have verified them).
#include <catch2/catch.hpp>

#include <map>

#include "core/history.hpp"
#include "core_fixture.hpp"

using namespace dvt;
using core::AncestryOutcome;

namespace {

Hash32 fake_id(const std::string& name) { return sha256("fake commit " + name); }

// A repository with A <- B <- C on main, and commits "elsewhere" served by fetch().
struct Gap {
    test::CoreRepo r{"ancestry"};
    Hash32 a, b, c;
    std::map<Hash32, objects::Commit> remote;
    std::map<Hash32, int> asked;  // how often fetch() was asked for each id
    std::set<Hash32> unavailable;
    Gap() {
        r.write("data.txt", "one\n");
        a = r.commit("A");
        r.write("data.txt", "two\n");
        b = r.commit("B");
        r.write("data.txt", "three\n");
        c = r.commit("C");
    }
    Hash32 add(const std::string& name, std::vector<Hash32> parents) {
        objects::Commit k;
        k.parents = std::move(parents);
        k.message = name;
        Hash32 id = fake_id(name);
        remote[id] = k;
        return id;
    }
    // n commits on top of `base`, named prefix1..prefixN; returns the last
    Hash32 chain(const std::string& prefix, Hash32 base, int n) {
        for (int i = 1; i <= n; ++i) base = add(prefix + std::to_string(i), {base});
        return base;
    }
    std::function<std::optional<objects::Commit>(const Hash32&)> fetch() {
        return [this](const Hash32& id) -> std::optional<objects::Commit> {
            ++asked[id];
            if (unavailable.count(id)) return std::nullopt;
            auto it = remote.find(id);
            if (it == remote.end()) return std::nullopt;
            return it->second;
        };
    }
    core::AncestryResult walk(const Hash32& ancestor, const Hash32& of, core::AncestryLimits limits = {}) {
        return core::find_ancestor(*r.repo, ancestor, of, fetch(), limits);
    }
};

}  // namespace

TEST_CASE("find_ancestor: local history needs no fetch", "[ancestry]") {
    Gap g;
    auto res = g.walk(g.a, g.c);
    CHECK(res.outcome == AncestryOutcome::found);
    CHECK(res.fetched == 0);
    CHECK(res.between == 1);  // B
    CHECK(res.between_missing == 0);
    CHECK(g.asked.empty());
    CHECK(g.walk(g.c, g.c).outcome == AncestryOutcome::found);
    // A does not descend from C: the walk from A reaches the root (A itself) without meeting C
    auto back = g.walk(g.c, g.a);
    CHECK(back.outcome == AncestryOutcome::not_descendant);
    CHECK(g.asked.empty());
}

TEST_CASE("find_ancestor: across a gap of commits not here", "[ancestry]") {
    Gap g;
    Hash32 top = g.chain("x", g.c, 30);  // x1 (parent C) .. x30
    auto res = g.walk(g.c, top);
    CHECK(res.outcome == AncestryOutcome::found);
    CHECK(res.fetched == 30);  // x30 itself is not here either in this test
    CHECK(res.between == 29);
    CHECK(res.between_missing == 29);
    CHECK(res.unavailable == 0);
    for (const auto& [id, n] : g.asked) CHECK(n == 1);  // each commit fetched once
    // an older ancestor is found through C and B, which are here
    auto deeper = g.walk(g.a, top);
    CHECK(deeper.outcome == AncestryOutcome::found);
    CHECK(deeper.between == 31);
    CHECK(deeper.between_missing == 29);
}

TEST_CASE("find_ancestor: a chain longer than the bound stops with 'limit'", "[ancestry]") {
    Gap g;
    Hash32 top = g.chain("x", g.c, 50);
    core::AncestryLimits lim;
    lim.max_fetched = 10;
    auto res = g.walk(g.c, top, lim);
    CHECK(res.outcome == AncestryOutcome::limit);
    CHECK(res.fetched == 10);
    CHECK(g.asked.size() == 10);  // the 11th commit was never asked for
    lim.max_fetched = 50;         // exactly enough
    CHECK(g.walk(g.c, top, lim).outcome == AncestryOutcome::found);
    lim.max_fetched = 49;
    CHECK(g.walk(g.c, top, lim).outcome == AncestryOutcome::limit);
}

TEST_CASE("find_ancestor: unrelated history walks to its root", "[ancestry]") {
    Gap g;
    Hash32 root = g.add("root", {});
    Hash32 top = g.chain("y", root, 5);
    auto res = g.walk(g.c, top);
    CHECK(res.outcome == AncestryOutcome::not_descendant);
    CHECK(res.fetched == 6);
    // a diverged branch: forks from A, so it does not contain C (nor B), and the walk ends at A's root locally
    Hash32 fork = g.chain("d", g.a, 3);
    auto div = g.walk(g.c, fork);
    CHECK(div.outcome == AncestryOutcome::not_descendant);
    CHECK(div.fetched == 3);
    CHECK(g.walk(g.a, fork).outcome == AncestryOutcome::found);
}

TEST_CASE("find_ancestor: a commit nobody provides makes the answer unknown, other lines still count", "[ancestry]") {
    Gap g;
    Hash32 mid = g.chain("x", g.c, 5);
    Hash32 top = g.chain("z", mid, 5);
    g.unavailable.insert(fake_id("x3"));
    auto res = g.walk(g.c, top);
    CHECK(res.outcome == AncestryOutcome::incomplete);
    CHECK(res.unavailable == 1);
    // a merge whose second parent reaches C by another line: found although the first line is cut
    Hash32 other = g.chain("o", g.c, 2);
    Hash32 merge = g.add("merge", {top, other});
    auto m = g.walk(g.c, merge);
    CHECK(m.outcome == AncestryOutcome::found);
    CHECK(m.between == 2);  // merge -> o2 -> o1 -> C
}

TEST_CASE("find_ancestor: a commit naming 1,024 parents is bounded by the ids queued", "[ancestry]") {
    Gap g;
    std::vector<Hash32> parents;
    for (int i = 0; i < 1024; ++i) parents.push_back(g.chain("w" + std::to_string(i) + "-", g.a, 1));
    Hash32 wide = g.add("wide", parents);
    core::AncestryLimits lim;
    lim.max_seen = 500;
    auto res = g.walk(g.c, wide, lim);
    CHECK(res.outcome == AncestryOutcome::limit);
    CHECK(res.fetched == 1);  // only the wide commit itself
    // with room for them, all 1,024 parents are fetched; each leads to A and on to its root without meeting C
    lim.max_seen = 1u << 18;
    auto all = g.walk(g.c, wide, lim);
    CHECK(all.outcome == AncestryOutcome::not_descendant);
    CHECK(all.fetched == 1025);
    // C among the parents is found when the parents are queued, without fetching any of them
    parents[1000] = g.c;
    Hash32 wide2 = g.add("wide2", parents);
    g.asked.clear();
    auto found = g.walk(g.c, wide2, lim);
    CHECK(found.outcome == AncestryOutcome::found);
    CHECK(found.between == 0);
    CHECK(g.asked.size() == 1);
}

TEST_CASE("find_ancestor: what fetch throws ends the walk", "[ancestry]") {
    Gap g;
    Hash32 top = g.chain("x", g.c, 3);
    auto throwing = [&](const Hash32& id) -> std::optional<objects::Commit> {
        if (id == fake_id("x2")) throw Error(ErrorKind::corrupt, "does not decode");
        return g.remote.at(id);
    };
    CHECK(test::kind_of([&] { core::find_ancestor(*g.r.repo, g.c, top, throwing); }) == ErrorKind::corrupt);
}

TEST_CASE("find_ancestor: lines of history older than not_before end there", "[ancestry]") {
    Gap g;
    // x1..x5 on top of C, dated 1000..5000; an older version o (dated 100) on another line from A
    Hash32 top = g.c;
    for (int i = 1; i <= 5; ++i) {
        top = g.add("x" + std::to_string(i), {top});
        g.remote[top].time = i * 1000;
    }
    core::AncestryLimits lim;
    lim.not_before = 500;  // x1 (1000) is still followed: C is found
    auto res = g.walk(g.c, top, lim);
    CHECK(res.outcome == AncestryOutcome::found);
    CHECK(res.too_old == 0);
    lim.not_before = 2500;  // x2 (2000) is fetched but its parents are not followed: C is never reached
    g.asked.clear();
    auto cut = g.walk(g.c, top, lim);
    CHECK(cut.outcome == AncestryOutcome::too_old);
    CHECK(cut.too_old == 1);
    CHECK(cut.fetched == 4);           // x5, x4, x3, x2
    CHECK(g.asked.count(fake_id("x1")) == 0);
    // an older version pulled "back": nothing is fetched beyond it
    Hash32 old = g.add("old", {fake_id("x1")});
    g.remote[old].time = 100;
    g.asked.clear();
    auto back = g.walk(top, old, lim);
    CHECK(back.outcome == AncestryOutcome::too_old);
    CHECK(back.fetched == 1);
    CHECK(g.asked.size() == 1);
    // a root is not "too old": unrelated history ending at a root is not_descendant
    Hash32 root = g.add("root", {});
    g.remote[root].time = 1;
    CHECK(g.walk(g.c, root, lim).outcome == AncestryOutcome::not_descendant);
}
