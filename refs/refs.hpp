// Refs, HEAD and reflogs (docs/format.md, "Refs").
//
//   .dvt/HEAD                 "ref: refs/heads/<name>\n" (on a branch) or "<commit id>\n" (detached)
//   .dvt/refs/heads/<name>    "<commit id>\n"            .dvt/refs/tags/<name>  likewise
//   .dvt/logs/<ref>           reflog: one line per update "<old> <new> <unix-time> <who>\t<message>\n"
//
// Contract: every update is a compare-and-swap. The caller holds the repository write lock; update() re-reads the
// current value and fails with ErrorKind::conflict if it differs from `expected`, then writes the new value with
// temp file + fsync + rename (+ fsync of the directory) and appends to the reflog. A crash leaves either the old or
// the new value. A ref only ever names a commit whose file was fsynced before the update.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/hash.hpp"

namespace dvt::refs {

struct Head {
    std::optional<std::string> branch_ref;  // "refs/heads/main" when on a branch
    std::optional<Hash32> commit;           // what HEAD resolves to (nullopt on an unborn branch)
};

struct ReflogEntry {
    std::optional<Hash32> old_id, new_id;
    std::int64_t time = 0;
    std::string message;
};

bool valid_ref_name(std::string_view name);  // the part after refs/heads/ or refs/tags/

class RefStore {
public:
    explicit RefStore(std::filesystem::path dvt_dir);

    std::optional<Hash32> read(const std::string& ref) const;  // "refs/heads/x", "refs/tags/x"
    Head head() const;
    // All refs under prefix ("refs/heads/", "refs/tags/"), sorted by name.
    std::vector<std::pair<std::string, Hash32>> list(const std::string& prefix) const;

    // CAS update. expected = nullopt means "must not exist"; new_value = nullopt deletes the ref.
    void update(const std::string& ref, std::optional<Hash32> expected, std::optional<Hash32> new_value,
                const std::string& message);
    void set_head_branch(const std::string& ref, const std::string& message);
    void set_head_detached(const Hash32& id, const std::string& message);
    // Moves whatever HEAD points at (the branch, or HEAD itself when detached).
    void advance_head(std::optional<Hash32> expected, const Hash32& new_value, const std::string& message);

    std::vector<ReflogEntry> reflog(const std::string& ref) const;  // "HEAD" or a ref; oldest first
    // Removes the entries of `ref`'s reflog for which `drop` is true (lines that do not parse stay), rewriting the file
    // atomically; returns how many went. For `fsck --repair`, which drops broken versions (core/maintenance.hpp).
    std::size_t drop_reflog_entries(const std::string& ref, const std::function<bool(const ReflogEntry&)>& drop);
    std::vector<std::string> reflog_names() const;

private:
    std::filesystem::path path_of(const std::string& ref) const;
    void append_reflog(const std::string& ref, std::optional<Hash32> old_id, std::optional<Hash32> new_id,
                       const std::string& message) const;
    std::filesystem::path m_dir;
};

}  // namespace dvt::refs
