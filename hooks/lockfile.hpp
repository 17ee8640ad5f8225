// dvt.lock: the dataset version a code commit uses, written by `dvt pin` into the git work tree and committed to
// git; read by `dvt pull` (no arguments), `dvt verify` and the git hooks `dvt hooks install` adds.
//
// Grammar (UTF-8 text, one item per line, '#' comment lines and blank lines ignored; docs/hooks.md):
//   dvt-lock 1                      first item: format version; another number is refused (unsupported)
//   commit <64 lowercase hex>       exactly once: the dataset commit id (also its swarm address)
//   path <relative path>            exactly once: the dataset's work tree, relative to the lock file's directory,
//                                   '/'-separated ("." when it is that directory)
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
std::string format_lock_file(const LockFile& lock);

// Where the lock file for `start` is: $DVT_PIN_FILE if set (relative to the current directory), else dvt.lock at
// the root of the git work tree around `start`; nullopt if there is neither.
std::optional<std::filesystem::path> lock_file_path(const std::filesystem::path& start);

LockFile read_lock_file(const std::filesystem::path& p);  // not_found if missing, corrupt / unsupported
void write_lock_file(const std::filesystem::path& p, const LockFile& lock);  // atomic

// The dataset directory a lock file names (absolute, normalised).
std::filesystem::path dataset_dir(const std::filesystem::path& lock_path, const LockFile& lock);

}  // namespace dvt::hooks
