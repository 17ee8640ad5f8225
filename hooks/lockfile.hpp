// dvt.lock: the dataset version a code commit uses, written by `dvt pin` into the git work tree and committed to
// git; read by `dvt pull` (no arguments), `dvt verify` and the git hooks `dvt hooks install` adds.
//
// Grammar (UTF-8 text, one item per line, '#' comment lines and blank lines ignored; docs/hooks.md):
//   dvt-lock 1                      first item: format version; another number is refused (unsupported)
//   commit <64 lowercase hex>       exactly once: the dataset commit id (also its swarm address)
//   path <relative path>            exactly once: the dataset's work tree, relative to the lock file's directory,
//                                   '/'-separated ("." when it is that directory); never absolute, never with a
//                                   '..' component, no control characters: a committed dvt.lock is written by
//                                   whoever wrote the code commit, so it cannot point outside its own directory
//                                   (dataset_dir() also refuses a symlink on the way that leads outside)
//   peer <IP:PORT>                  zero or more: where to fetch it from
//   tracker <URL>                   zero or more
// Any other item is refused (unsupported): a newer dvt wrote it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dvt::hooks {

inline constexpr const char* kLockFileName = "dvt.lock";

struct LockFile {
    std::string commit;  // 64 hex
    std::string path;    // relative to the lock file's directory
    std::vector<std::string> peers, trackers;
};

LockFile parse_lock_file(const std::string& text);  // throws corrupt / unsupported

// Why `path` cannot be a lock file's dataset path (absolute, a '..' component, a control character, empty), or nullopt.
std::optional<std::string> lock_path_problem(const std::string& path);
std::string format_lock_file(const LockFile& lock);

// Where the lock file for `start` is: $DVT_PIN_FILE if set (relative to the current directory), else dvt.lock at
// the root of the git work tree around `start`; nullopt if there is neither.
std::optional<std::filesystem::path> lock_file_path(const std::filesystem::path& start);

LockFile read_lock_file(const std::filesystem::path& p);  // not_found if missing, corrupt / unsupported
void write_lock_file(const std::filesystem::path& p, const LockFile& lock);  // atomic

// The dataset directory a lock file names (absolute, normalised, not resolved). corrupt if the path is not allowed
// (lock_path_problem) or resolves, through a symlink, to a directory outside the lock file's directory (resolved).
std::filesystem::path dataset_dir(const std::filesystem::path& lock_path, const LockFile& lock);

}  // namespace dvt::hooks
