// Fuzz target: dvt.lock (hooks::parse_lock_file; docs/hooks.md). A committed dvt.lock is attacker-controlled: it
// arrives with `git pull` and the git hooks `dvt hooks install` adds act on it.
// Properties: a lock file that parses and can be written again (format_lock_file refuses values it cannot write)
// parses back to the same content; the dataset directory it names is computed without failing; its peers and
// trackers are checked the way `dvt pull` checks them (usage errors only).
#include "fuzz/fuzz.hpp"
#include "hooks/lockfile.hpp"
#include "transport/endpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    hooks::LockFile l;
    if (!fuzz::accepted([&] { l = hooks::parse_lock_file(fuzz::text(data, size)); })) return 0;
    fuzz::require(l.commit.size() == 64, "lockfile: commit is not 64 hex digits");
    fuzz::require(!l.path.empty() && l.path[0] != '/', "lockfile: path is not relative");
    std::string text;
    if (fuzz::accepted([&] { text = hooks::format_lock_file(l); })) {
        hooks::LockFile again;
        fuzz::require(fuzz::accepted([&] { again = hooks::parse_lock_file(text); }),
                      "lockfile: a written lock file does not parse");
        fuzz::require(again.commit == l.commit && again.path == l.path && again.peers == l.peers &&
                          again.trackers == l.trackers,
                      "lockfile: format and parse changed the content");
    }
    fuzz::require(fuzz::accepted([&] { (void)hooks::dataset_dir("/repo/dvt.lock", l); }),
                  "lockfile: dataset_dir failed");
    auto usage_only = [](auto&& f) {
        try {
            f();
        } catch (const Error& e) {
            fuzz::require(e.kind() == ErrorKind::usage, "lockfile: a peer or tracker failed with another kind");
        }
    };
    for (const auto& p : l.peers) usage_only([&] { (void)transport::parse_endpoint(p, "peer address", false); });
    for (const auto& t : l.trackers) usage_only([&] { (void)transport::check_tracker_url(t); });
    return 0;
}
