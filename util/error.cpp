#include "util/error.hpp"

#include <cerrno>
#include <cstring>

namespace dvt {

int exit_code(ErrorKind kind) { return static_cast<int>(kind); }

const char* kind_name(ErrorKind kind) {
    switch (kind) {
    case ErrorKind::internal: return "internal";
    case ErrorKind::usage: return "usage";
    case ErrorKind::not_a_repository: return "not_a_repository";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::corrupt: return "corrupt";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::lock_timeout: return "lock_timeout";
    case ErrorKind::unsupported: return "unsupported";
    case ErrorKind::io: return "io";
    case ErrorKind::no_peers: return "no_peers";
    case ErrorKind::hook_rejected: return "hook_rejected";
    case ErrorKind::network: return "network";
    case ErrorKind::nothing_to_do: return "nothing_to_do";
    }
    return "internal";
}

void throw_errno(const std::string& what) {
    int e = errno;
    ErrorKind kind = ErrorKind::io;
    if (e == ENOENT) kind = ErrorKind::not_found;
    throw Error(kind, what + ": " + std::strerror(e));
}

}  // namespace dvt
