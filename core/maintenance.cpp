#include "core/maintenance.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <optional>
#include <mutex>
#include <set>
#include <thread>

#include "core/clone_state.hpp"
#include "core/history.hpp"
#include "core/named_packs.hpp"
#include "core/revision.hpp"
#include "core/tree_fold.hpp"
#include "core/version.hpp"
#include "objects/limits.hpp"
#include "util/error.hpp"

namespace dvt::core {

using namespace dvt::objects;
namespace fs = std::filesystem;

namespace {

std::size_t remove_temp_files(Repository& repo) {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& dir : {repo.dvt_dir() / "tmp", repo.dvt_dir() / "packs", repo.dvt_dir() / "commits",
                            repo.dvt_dir()}) {
        // best effort: a directory that cannot be listed (or stops listing) just keeps its temp files
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            if (!it->path().filename().string().starts_with(".tmp-")) continue;
            std::error_code rec;
            if (fs::remove(it->path(), rec)) ++n;
        }
    }
    for (auto it = fs::recursive_directory_iterator(repo.dvt_dir() / "refs", ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->path().filename().string().starts_with(".tmp-")) {
            fs::remove(it->path(), ec);
            ++n;
        }
    }
    return n;
}

// Removes `path` (a file, or an empty directory standing in its place). Returns nullopt if nothing was removed, else
// the bytes that freed: its size if it was a regular file whose size could be read, else 0 (never the
// (uintmax_t)-1 that file_size() reports on error).
std::optional<std::uint64_t> remove_counting(const fs::path& path) {
    std::error_code ec;
    auto st = fs::symlink_status(path, ec);
    std::uint64_t size = 0;
    if (!ec && fs::is_regular_file(st)) {
        auto n = fs::file_size(path, ec);
        if (!ec) size = n;
    }
    if (!fs::remove(path, ec)) return std::nullopt;
    return size;
}

std::vector<std::pair<Hash32, fs::path>> pack_files(Repository& repo, std::vector<std::string>* strays) {
    std::vector<std::pair<Hash32, fs::path>> out;
    std::error_code ec;
    const fs::path& dir = repo.store().packs_dir();
    fs::directory_iterator it(dir, ec), end;
    if (ec) return out;  // a packs/ that cannot be opened lists as empty (as it always did)
    for (; !ec && it != end; it.increment(ec)) {
        const auto& de = *it;
        auto name = de.path().filename().string();
        if (name.starts_with(".tmp-")) continue;
        auto h = name.size() == 69 && name.ends_with(".pack") ? Hash32::from_hex(name.substr(0, 64)) : std::nullopt;
        if (h)
            out.emplace_back(*h, de.path());
        else if (strays)
            strays->push_back(name);
    }
    if (ec) throw_error_code(ec, "cannot list " + dir.string());  // failed part-way: a partial list would mislead
    return out;
}

}  // namespace

namespace {

// Every check of fsck (the repair, if any, is done by the caller).
FsckResult check_repository(Repository& repo) {
    FsckResult r;
    std::mutex mu;
    auto problem = [&](std::string what, std::string msg) {
        std::lock_guard g(mu);
        r.problems.push_back(FsckProblem{std::move(what), std::move(msg)});
    };

    // 0. The refs and what they reach, read before anything else. fsck takes no lock: a commit or pull running
    //    meanwhile writes its packs (and their index rows) and its commit file before it moves a ref (docs/format.md,
    //    "Write ordering"), so everything these commits need is on disk before the listings below, and a version that
    //    appears meanwhile is simply not checked this time (it used to be found half-listed: "tree is missing").
    std::optional<Hash32> head_commit;
    std::optional<std::string> head_error;
    try {
        head_commit = repo.refs().head().commit;
    } catch (const Error& e) {
        head_error = e.what();
    }
    std::vector<std::pair<std::string, Hash32>> ref_list;
    for (const char* prefix : {"refs/heads/", "refs/tags/", "refs/remotes/"})
        for (auto& named : repo.refs().list(prefix)) ref_list.push_back(std::move(named));
    const std::vector<Hash32> reachable = reachable_commits(repo);

    // 1. every pack: id (merkle root) matches the name, index is sound, every record decodes to its id
    std::vector<std::string> strays;
    auto packs = pack_files(repo, &strays);
    for (const auto& s : strays) problem("file packs/" + s, "unexpected file in the pack directory");
    std::atomic<std::size_t> next{0};
    std::map<Hash32, std::set<Hash32>> pack_objects;  // objects each good pack holds
    ChunkCache chain_cache(64u << 20);               // delta bases decoded (each verified against its id)
    auto check_pack = [&] {
        Bytes out;
        for (std::size_t i = next++; i < packs.size(); i = next++) {
            const auto& [id, path] = packs[i];
            std::string what = "pack " + id.hex();
            try {
                util::Fd fd = util::open_read(path);
                std::uint64_t len = util::file_size(fd.get());
                if (compute_pack_id(fd.get(), len) != id) {
                    problem(what, "content does not match its id (the pack file is damaged)");
                    continue;
                }
                PackIndex pi = read_pack_index(fd.get(), path.string());
                std::set<Hash32> ids;
                std::size_t bad = 0;
                // a delta's chain: its bases in this pack first (sorted by id), else wherever the index says
                auto find = [&](const Hash32& bid) -> std::optional<RecordAt> {
                    auto it = std::lower_bound(pi.entries.begin(), pi.entries.end(), bid,
                                               [](const PackEntry& x, const Hash32& h) { return x.id < h; });
                    if (it != pi.entries.end() && it->id == bid) return RecordAt{fd.get(), *it, what};
                    return repo.store().record_at(bid);
                };
                for (const auto& e : pi.entries) {
                    try {
                        if (is_delta(e.compression)) {
                            try {
                                read_chain(RecordAt{fd.get(), e, what}, find, out, &chain_cache);
                            } catch (const Error& err) {
                                // A base that is not here: a clone or pull of some versions fetches whole packs
                                // whose other deltas may need bases only older versions name. The pack's bytes are
                                // verified by its id; a version that reaches this chunk is checked in step 4.
                                if (err.kind() != ErrorKind::not_found) throw;
                            }
                        } else {
                            read_record(fd.get(), e, out, what);
                        }
                        ids.insert(e.id);
                    } catch (const Error& err) {
                        ++bad;
                        problem("object " + e.id.hex(), err.what());
                    }
                }
                std::lock_guard g(mu);
                r.packs++;
                r.objects += pi.entries.size() - bad;
                r.bytes += len;
                pack_objects[id] = std::move(ids);
            } catch (const Error& err) {
                problem(what, err.what());
            }
        }
    };
    {
        std::vector<std::thread> ts;
        unsigned n = std::max(1u, std::thread::hardware_concurrency());
        for (unsigned t = 1; t < n; ++t) ts.emplace_back(check_pack);
        check_pack();
        for (auto& t : ts) t.join();
    }
    // A pack a reachable commit names must be indexed (its objects are read through the index). Not every pack: one
    // a commit running meanwhile has just sealed is indexed a moment later (reconcile() indexes any other).
    std::set<Hash32> named_by_reachable;
    for (const auto& cid : reachable) {
        try {
            if (auto c = repo.store().read_commit(cid))
                for (const auto& p : c->packs) named_by_reachable.insert(p.id);
        } catch (const Error&) {
            // a damaged commit file: reported in step 2
        }
    }
    for (const auto& [id, path] : packs)
        if (pack_objects.count(id) && named_by_reachable.count(id) && !repo.store().pack_by_id(id))
            problem("pack " + id.hex(), "not in the index database (run 'dvt fsck --repair')");

    // 1b. partial packs: every indexed object decodes to its id; the pack index (fetched first, checked against the
    //     footer's SHA-256) tells which objects the missing part holds
    std::map<Hash32, Hash32> not_fetched_in;  // object -> partial pack whose index lists it
    std::vector<Hash32> index_absent;         // partial packs without their index (fetched through a locator)
    for (const auto& info : repo.store().packs()) {
        if (!info.partial) continue;
        std::string what = "partial pack " + info.ref.id.hex();
        ++r.partial_packs;
        std::set<Hash32> ids;
        try {
            util::Fd fd = util::open_read(repo.store().partial_path(info.ref.id));
            std::optional<PackIndex> read;
            try {
                read = read_pack_index(fd.get(), what);
            } catch (const Error& e) {
                if (e.kind() != ErrorKind::corrupt) throw;
            }
            if (!read) {
                // its index was not fetched (a pull of some paths through a locator fetches only the byte ranges
                // on them): the objects indexed decode to their ids; which others the pack holds is not known
                // here, so an absent object of a version naming it counts as not fetched
                index_absent.push_back(info.ref.id);
                Bytes out;
                for (const auto& oid : repo.store().objects_in_pack(info.num)) {
                    auto loc = repo.store().locate(oid);
                    if (!loc || loc->pack_num != info.num) continue;
                    try {
                        repo.store().read_at(*loc, out);
                        ids.insert(oid);
                        ++r.objects;
                    } catch (const Error& err) {
                        problem("object " + oid.hex(), err.what());
                    }
                }
                pack_objects[info.ref.id] = std::move(ids);
                continue;
            }
            PackIndex pi = std::move(*read);
            if (pi.length != info.ref.length || pi.index_offset != info.ref.index_offset)
                problem(what, "its index does not match the length and index offset recorded for it");
            Bytes out;
            auto rows = repo.store().objects_in_pack(info.num);
            std::set<Hash32> indexed(rows.begin(), rows.end());
            for (const auto& e : pi.entries) {
                if (!indexed.count(e.id)) {
                    not_fetched_in.emplace(e.id, info.ref.id);
                    continue;
                }
                try {
                    if (is_delta(e.compression))
                        read_chain(RecordAt{fd.get(), e, what},
                                   [&](const Hash32& bid) { return repo.store().record_at(bid); }, out, &chain_cache);
                    else
                        read_record(fd.get(), e, out, what);
                    ids.insert(e.id);
                    ++r.objects;
                } catch (const Error& err) {
                    problem("object " + e.id.hex(), err.what());
                }
            }
        } catch (const Error& err) {
            problem(what, err.what());
        }
        pack_objects[info.ref.id] = std::move(ids);
    }

    // 2. every commit file
    std::set<Hash32> good_commits;
    for (const auto& c : repo.store().list_commits()) {
        try {
            repo.store().read_commit(c);
            good_commits.insert(c);
            ++r.commits;
        } catch (const Error& e) {
            problem("commit " + c.hex(), e.what());
        }
    }

    // 3. refs and HEAD (as read in step 0) name existing commits
    if (head_error) problem("ref HEAD", *head_error);
    if (head_commit && !good_commits.count(*head_commit))
        problem("ref HEAD", "names missing or damaged commit " + head_commit->hex());
    for (const auto& [name, id] : ref_list)
        if (!good_commits.count(id)) problem("ref " + name, "names missing or damaged commit " + id.hex());

    // 4. everything reachable is present and lives in a pack its commit names. An object may live in several packs
    //    (two publishers committed the same file; a pull brought both versions): a commit is fine if it names any one
    //    of them. So what an object needs is a set of alternatives (Holders: the packs that hold it), and a commit must
    //    name one pack of every Holders its tree needs. The index keeps one row per object, so the holders come from
    //    the pack indexes read in step 1, not from the index.
    using Holders = std::vector<Hash32>;  // sorted pack ids
    using Need = std::set<Holders>;
    std::vector<std::pair<Hash32, Hash32>> object_pack;  // (object, pack holding it), sorted: 64 bytes an object
    for (const auto& [pid, ids] : pack_objects)
        for (const auto& obj : ids) object_pack.emplace_back(obj, pid);
    std::sort(object_pack.begin(), object_pack.end());
    std::map<Hash32, Need> tree_packs, file_packs;  // memo: packs an object and its children need
    std::set<Hash32> counted_not_fetched;
    // An object that is absent only because it lies in the part of a partial pack that was not fetched.
    std::sort(index_absent.begin(), index_absent.end());
    auto held = [&](const Hash32& obj) {
        auto it = std::lower_bound(object_pack.begin(), object_pack.end(), std::pair<Hash32, Hash32>{obj, Hash32{}});
        return it != object_pack.end() && it->first == obj;
    };
    auto not_fetched = [&](const Hash32& obj) {
        // absent while a partial pack whose index was not fetched may hold it: counted as not fetched
        if (!not_fetched_in.count(obj) && (index_absent.empty() || held(obj))) return false;
        if (counted_not_fetched.insert(obj).second) ++r.objects_not_fetched;
        return true;
    };
    // The packs holding `obj` (verified there in step 1), or the partial pack whose unfetched part holds it.
    auto pack_of = [&](const Hash32& obj) -> std::optional<Holders> {
        auto it0 = std::lower_bound(object_pack.begin(), object_pack.end(), std::pair<Hash32, Hash32>{obj, Hash32{}});
        Holders h;
        for (auto it = it0; it != object_pack.end() && it->first == obj; ++it) h.push_back(it->second);
        if (!h.empty()) return h;
        if (auto it = not_fetched_in.find(obj); it != not_fetched_in.end()) return Holders{it->second};
        if (!index_absent.empty()) return index_absent;  // one of them may hold it (not fetched)
        return std::nullopt;
    };
    std::map<Hash32, std::uint64_t> file_sizes;  // memo: size of each file object read
    std::set<Hash32> failed_trees;               // memo: trees reported missing, damaged or too deep
    // The packs a file object and its chunks need (nullopt: reported as missing or damaged).
    auto visit_file = [&](const TreeEntry& e) -> const Need* {
        if (auto it = file_packs.find(e.id); it != file_packs.end()) {
            if (auto s = file_sizes.find(e.id); s != file_sizes.end() && s->second != e.size)
                problem("object " + e.id.hex(), "file size differs from its tree entry");
            return &it->second;
        }
        Need fneed;
        auto fp = pack_of(e.id);
        if (!fp) {
            problem("object " + e.id.hex(), "file object of '" + e.name + "' is missing or damaged");
            return nullptr;
        }
        fneed.insert(*fp);
        if (not_fetched(e.id)) return &(file_packs[e.id] = std::move(fneed));
        try {
            FileObject f = repo.store().read_file_object(e.id);
            file_sizes[e.id] = f.size;
            if (f.size != e.size) problem("object " + e.id.hex(), "file size differs from its tree entry");
            std::set<Hash32> seen;
            for (const auto& c : f.chunks) {
                if (!seen.insert(c.id).second) continue;
                auto cp = pack_of(c.id);
                if (cp) not_fetched(c.id);
                if (!cp) {
                    problem("object " + c.id.hex(), "chunk of '" + e.name + "' is missing or damaged");
                    continue;
                }
                fneed.insert(*cp);
                auto loc = repo.store().locate(c.id);
                if (loc && (loc->entry.type != ObjectType::chunk || loc->entry.raw_len != c.size))
                    problem("object " + c.id.hex(), "chunk of '" + e.name + "' is " + std::to_string(loc->entry.raw_len) +
                                                        " bytes, its file object says " + std::to_string(c.size));
                // a delta chunk needs its whole chain, which must lie in packs the commit names too
                if (loc && is_delta(loc->entry.compression)) {
                    try {
                        for (const auto& b : repo.store().delta_chain(*loc)) {
                            auto bp = pack_of(b.entry.id);
                            if (!bp) {
                                problem("object " + b.entry.id.hex(), "delta base of chunk " + c.id.hex() + " of '" +
                                                                          e.name + "' is missing or damaged");
                                break;
                            }
                            fneed.insert(*bp);
                        }
                    } catch (const Error& err) {
                        problem("object " + c.id.hex(), err.what());
                    }
                }
            }
        } catch (const Error& err) {
            problem("object " + e.id.hex(), err.what());
        }
        return &(file_packs[e.id] = std::move(fneed));
    };
    // The packs a tree and everything below it need (nullptr: reported as missing, damaged or too deep), each
    // distinct tree once (core/tree_fold.hpp).
    auto open_tree = [&](const Hash32& tid) -> std::optional<std::pair<Tree, Need>> {
        if (failed_trees.count(tid)) return std::nullopt;
        auto tp = pack_of(tid);
        if (!tp) {
            problem("object " + tid.hex(), "tree is missing or damaged");
            failed_trees.insert(tid);
            return std::nullopt;
        }
        if (not_fetched(tid)) {
            tree_packs[tid] = Need{*tp};
            return std::nullopt;
        }
        try {
            return std::pair<Tree, Need>{repo.store().read_tree(tid), Need{*tp}};
        } catch (const Error& e) {
            problem("object " + tid.hex(), e.what());
            failed_trees.insert(tid);
            return std::nullopt;
        }
    };
    auto add_entry = [&](Need& need, const Hash32&, const TreeEntry& e, const Need* sub) {
        if (sub) need.insert(sub->begin(), sub->end());
        else if (e.kind == EntryKind::file || e.kind == EntryKind::executable)
            if (const auto* fneed = visit_file(e)) need.insert(fneed->begin(), fneed->end());
    };
    auto visit_tree = [&](const Hash32& root) -> const Need* {
        return fold_tree(root, tree_packs, open_tree, add_entry, [&](const std::vector<Hash32>& stack) {
            problem("object " + root.hex(), "directories nest deeper than the limit of " +
                                                std::to_string(kMaxTreeDepth) + " (docs/format.md, \"Limits\")");
            failed_trees.insert(stack.begin(), stack.end());
        });
    };
    TreeShapes shapes;  // memo of measure_commit, shared by all commits
    std::set<Hash32> shallow;
    try {
        shallow = repo.shallow();
    } catch (const Error& e) {
        problem("file shallow", e.what());
    }
    r.shallow_commits = shallow.size();
    for (const auto& cid : reachable) {
        if (!good_commits.count(cid)) {
            problem("commit " + cid.hex(), "reachable but missing or damaged");
            continue;
        }
        ++r.reachable_commits;
        Commit c = *repo.store().read_commit(cid);
        for (const auto& p : c.parents)
            if (!good_commits.count(p) && !(shallow.count(cid) && !repo.store().has_commit(p)))
                problem("commit " + cid.hex(), "parent " + p.hex() + " is missing or damaged");
        const auto* need = visit_tree(c.tree);
        if (!need) continue;
        try {  // the rules of a whole version: limits, directory sizes, the commit's files and bytes
            measure_commit(StoreObjects(repo.store()), c, &shapes);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::not_found) problem("commit " + cid.hex(), e.what());  // absent: reported above
        }
        std::set<Hash32> named;
        for (const auto& p : c.packs) {
            auto info = repo.store().pack_by_id(p.id);
            // the locator's pack is a fetching aid, not part of the version (nothing of it counts as holding the
            // version's objects): a whole pull does not fetch it, a pull of some paths may hold part of it
            // (docs/format.md, "Locator")
            const bool locator_pack = c.locator && p.id == c.locator->pack;
            if (!locator_pack) named.insert(p.id);
            if (locator_pack && (!info || info->partial)) continue;
            if (!pack_objects.count(p.id)) problem("commit " + cid.hex(), "names pack " + p.id.hex() + " which is missing or damaged");
            else if (info && (info->ref.length != p.length || info->ref.index_offset != p.index_offset))
                problem("commit " + cid.hex(), "pack " + p.id.hex() + " length or index offset differs");
        }
        for (const auto& alternatives : *need)
            if (std::none_of(alternatives.begin(), alternatives.end(), [&](const Hash32& p) { return named.count(p) > 0; }))
                problem("commit " + cid.hex(), "does not name pack " + alternatives.front().hex() +
                                                   (alternatives.size() > 1 ? " (nor any other pack)" : "") +
                                                   " that holds its objects");
    }
    std::sort(r.problems.begin(), r.problems.end(),
              [](const FsckProblem& a, const FsckProblem& b) { return a.what < b.what; });
    return r;
}

// Why commit `id` is broken (missing, damaged, or a version that fails core::check_version), or nullopt if it is
// sound. A newer format (unsupported) is not broken: it is left alone. Other errors (io, ...) are thrown.
std::optional<std::string> broken_reason(Repository& repo, const Hash32& id) {
    if (!repo.store().has_commit(id)) return "the commit is missing";
    std::optional<objects::Commit> c;
    try {
        c = repo.store().read_commit(id);
        if (!c) return "the commit is missing";
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::corrupt) return std::string(e.what());
        if (e.kind() == ErrorKind::unsupported) return std::nullopt;
        throw;
    }
    StoreObjects stored(repo.store());
    std::unique_ptr<NamedPackObjects> objs;
    try {
        objs = std::make_unique<NamedPackObjects>(stored, repo.store(), *c);
        VersionCheckOptions o;
        o.require_chunks = false;  // chunks a partial pull did not fetch are fine (their lengths are still checked)
        check_version(*objs, *c, o);
    } catch (const Error& e) {
        if (objs && objs->not_fetched()) return std::nullopt;  // partly fetched: not judged, left alone
        if (e.kind() == ErrorKind::corrupt || e.kind() == ErrorKind::not_found) return std::string(e.what());
        if (e.kind() == ErrorKind::unsupported) return std::nullopt;
        throw;
    }
    return std::nullopt;
}

// fsck --repair: makes broken versions unreachable (docs/cli.md, `dvt fsck`). Every commit a ref, HEAD or a reflog
// entry names is checked; a ref (or detached HEAD) naming a broken one goes back to the newest sound commit its
// reflog names, or is deleted (HEAD: back on refs/heads/main); then every reflog entry naming a broken commit is
// removed. gc then deletes what only those versions reached. Needs the write lock.
std::vector<FsckProblem> drop_broken_versions(Repository& repo) {
    std::map<Hash32, std::optional<std::string>> verdict;
    auto broken = [&](const Hash32& id) -> const std::optional<std::string>& {
        auto it = verdict.find(id);
        if (it == verdict.end()) it = verdict.emplace(id, broken_reason(repo, id)).first;
        return it->second;
    };
    bool any = false;
    for (const auto& id : root_commits(repo))
        if (broken(id)) any = true;
    if (!any) return {};

    std::vector<FsckProblem> dropped;
    auto& refs = repo.refs();
    // the newest sound commit a reflog names
    auto last_sound = [&](const std::string& ref) -> std::optional<Hash32> {
        auto log = refs.reflog(ref);
        for (auto it = log.rbegin(); it != log.rend(); ++it)
            if (it->new_id && !broken(*it->new_id)) return it->new_id;
        return std::nullopt;
    };
    auto describe = [&](const Hash32& id, const std::optional<Hash32>& to) {
        return "named broken version " + id.hex() + " (" + *broken(id) + "); " +
               (to ? "moved back to " + to->hex() : std::string("deleted"));
    };
    for (const char* prefix : {"refs/heads/", "refs/tags/", "refs/remotes/"})
        for (const auto& [name, id] : refs.list(prefix)) {
            if (!broken(id)) continue;
            auto to = last_sound(name);
            refs.update(name, id, to, "fsck --repair: dropped broken version " + id.hex());
            dropped.push_back(FsckProblem{"ref " + name, describe(id, to)});
        }
    auto head = refs.head();
    if (!head.branch_ref && head.commit && broken(*head.commit)) {
        auto to = last_sound("HEAD");
        if (to) refs.set_head_detached(*to, "fsck --repair: dropped broken version " + head.commit->hex());
        else refs.set_head_branch("refs/heads/main", "fsck --repair: dropped broken version " + head.commit->hex());
        dropped.push_back(FsckProblem{"ref HEAD", to ? describe(*head.commit, to)
                                                     : "named broken version " + head.commit->hex() + " (" +
                                                           *broken(*head.commit) + "); now on refs/heads/main"});
    }
    for (const auto& name : refs.reflog_names()) {
        auto n = refs.drop_reflog_entries(name, [&](const refs::ReflogEntry& e) {
            return (e.old_id && broken(*e.old_id)) || (e.new_id && broken(*e.new_id));
        });
        if (n) dropped.push_back(FsckProblem{"reflog " + name, std::to_string(n) + " entries naming broken versions removed"});
    }
    return dropped;
}

}  // namespace

FsckResult fsck(Repository& repo, const FsckOptions& opts) {
    if (!opts.repair) return check_repository(repo);
    auto lock = repo.write_lock();
    remove_temp_files(repo);
    repo.store().forget_open_packs();
    repo.store().clear_index();
    std::size_t reindexed = repo.store().reconcile();
    FsckResult r = check_repository(repo);
    if (!r.problems.empty()) {
        auto dropped = drop_broken_versions(repo);
        if (!dropped.empty()) {
            r = check_repository(repo);  // what is left, now that nothing reaches the broken versions
            r.dropped = std::move(dropped);
        }
    }
    r.reindexed_packs = reindexed;
    return r;
}

GcResult gc(Repository& repo) {
    auto lock = repo.write_lock();
    GcResult r;
    auto reachable = reachable_commits(repo);
    std::set<Hash32> keep_commits(reachable.begin(), reachable.end());
    std::set<Hash32> keep_packs;
    for (const auto& c : reachable)
        for (const auto& p : load_commit(repo, c).packs) keep_packs.insert(p.id);

    // 1. unreachable commits (no ref can name them, so deleting them first never leaves a dangling ref)
    for (const auto& c : repo.store().list_commits()) {
        if (keep_commits.count(c)) continue;
        std::error_code ec;
        if (fs::remove(repo.store().commit_path(c), ec)) ++r.commits_removed;
    }
    util::fsync_dir(repo.dvt_dir() / "commits");

    // 2. index: forget doomed packs, then re-point objects that also live in kept packs
    auto files = pack_files(repo, nullptr);
    std::vector<std::pair<Hash32, fs::path>> doomed;
    for (const auto& f : files) {
        if (keep_packs.count(f.first)) {
            ++r.packs_kept;
        } else {
            doomed.push_back(f);
            ++r.packs_removed;
        }
    }
    if (!doomed.empty()) {
        std::vector<Hash32> ids;
        for (const auto& [id, path] : doomed) ids.push_back(id);
        repo.store().forget_packs(ids);  // one transaction, which also re-points objects and empties file_packs
    }
    // 3. the doomed pack files themselves
    repo.store().forget_open_packs();
    for (const auto& [id, path] : doomed) r.bytes_freed += remove_counting(path).value_or(0);
    if (!doomed.empty()) util::fsync_dir(repo.store().packs_dir());

    // 4. partial packs no reachable commit names: rows first, then files (with their resume data). Not while a pull
    //    holds the pull lock: the commit that will name the packs it is fetching is not written yet.
    std::set<Hash32> partial_doomed;
    auto pull_lock = repo.store().try_lock_pull();
    // an interrupted clone (core/clone_state.hpp) has no commit naming its partial packs yet: they wait for its resume
    bool pull_running = !pull_lock || interrupted_clone(repo.root()).has_value();
    std::error_code ec;
    if (!pull_running) {
        for (const auto& info : repo.store().packs())
            if (info.partial && !keep_packs.count(info.ref.id)) partial_doomed.insert(info.ref.id);
        // a partial/ that cannot be listed only means no orphaned partial files are found this time
        for (fs::directory_iterator it(repo.store().partial_dir(), ec), end; !ec && it != end; it.increment(ec)) {
            auto name = it->path().filename().string();
            auto h = name.size() >= 64 ? Hash32::from_hex(name.substr(0, 64)) : std::nullopt;
            if (h && !keep_packs.count(*h)) partial_doomed.insert(*h);
        }
    }
    if (!partial_doomed.empty()) {
        repo.store().forget_partial_packs({partial_doomed.begin(), partial_doomed.end()});
        repo.store().forget_open_packs();
        for (const auto& id : partial_doomed) {
            if (auto freed = remove_counting(repo.store().partial_path(id))) {
                ++r.partial_removed;
                r.bytes_freed += *freed;
            }
            fs::remove(repo.store().resume_path(id), ec);
        }
    }
    r.temp_files_removed = remove_temp_files(repo);
    // temp files of resume data a killed pull left behind (transport/resume_writer): only while no pull runs (the pull
    // lock is held here) and no interrupted clone waits for its resume
    if (!pull_running)
        for (fs::directory_iterator it(repo.store().partial_dir(), ec), end; !ec && it != end; it.increment(ec)) {
            if (!it->path().filename().string().starts_with(".tmp-")) continue;
            std::error_code rec;
            if (fs::remove(it->path(), rec)) ++r.temp_files_removed;
        }
    return r;
}

}  // namespace dvt::core
