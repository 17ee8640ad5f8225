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

ErrorKind error_kind_of_errno(int errnum) {
    switch (errnum) {
    case ENOENT:
    case ENOTDIR: return ErrorKind::not_found;
    default: return ErrorKind::io;  // EACCES, EPERM, EROFS, ENOSPC, EDQUOT, EIO, EMFILE, ENFILE, ENAMETOOLONG, ELOOP, ...
    }
}

ErrorKind error_kind_of(const std::error_code& ec) {
    const auto& cat = ec.category();
    if (cat == std::generic_category() || cat == std::system_category()) return error_kind_of_errno(ec.value());
    return ErrorKind::io;
}

void throw_error_code(const std::error_code& ec, const std::string& what) {
    throw Error(error_kind_of(ec), what + ": " + ec.message());
}

void throw_errno(const std::string& what) {
    int e = errno;
    throw Error(error_kind_of_errno(e), what + ": " + std::strerror(e));
}

}  // namespace dvt
