// Errors and exit codes: the one place that maps failure classes to process exit codes.
//
// Two tiers (see ARCHITECTURE.md): low-level code returns std::expected<T, Error> where "not found" or "corrupt" is an
// ordinary outcome; upper layers throw dvt::Error. The CLI has a single catch that prints `dvt: error: <message>` and
// exits with exit_code(kind). The numbers are a documented contract (docs/cli.md): never renumber, only append.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace dvt {

enum class ErrorKind {
    internal = 1,        // a bug or an unexpected system failure
    usage = 2,           // bad command line: unknown option, malformed argument, ambiguous revision
    not_a_repository = 3,
    not_found = 4,       // unknown revision, object, ref or path
    corrupt = 5,         // data failed verification (hash mismatch, malformed record, unsafe tree)
    conflict = 6,        // would overwrite uncommitted changes; ref changed under us; already exists
    lock_timeout = 7,    // waited for the repository lock and gave up
    unsupported = 8,     // repository or object format version this dvt does not know
    io = 9,              // the operating system refused a read or write (disk full, permission, ...)
    no_peers = 10,       // transport: nobody reachable had the data before the timeout
    hook_rejected = 11,  // a hook exited non-zero and aborted the command
    network = 12,        // transport: address in use, unreachable tracker, bad peer address
    nothing_to_do = 13,  // e.g. commit with no changes (like git's exit status 1, but distinct)
};

int exit_code(ErrorKind kind);
const char* kind_name(ErrorKind kind);

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), m_kind(kind) {}
    ErrorKind kind() const { return m_kind; }

private:
    ErrorKind m_kind;
};

// Foreign failures (errno, std::error_code from std::filesystem) are translated here, in the layer that called the
// foreign library, never left to escape as std::filesystem::filesystem_error. One map for both: ENOENT and ENOTDIR
// are not_found, everything else (EACCES, EPERM, EROFS, ENOSPC, EIO, EMFILE, ...) is io. The message is one line,
// "<what>: <strerror text>", so `what` should name the operation and the path ("cannot create /x/y").
ErrorKind error_kind_of_errno(int errnum);
ErrorKind error_kind_of(const std::error_code& ec);  // errno-valued (generic/system) codes as above; others io
[[noreturn]] void throw_error_code(const std::error_code& ec, const std::string& what);
[[noreturn]] void throw_errno(const std::string& what);  // throw_error_code for the current errno

}  // namespace dvt
