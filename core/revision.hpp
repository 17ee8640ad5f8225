// Revision names: a full commit id, a unique prefix (>= 4 hex digits), a branch, a tag, HEAD, refs/..., each
// optionally followed by ~N, ^ or ^N (Nth parent). Ambiguity is ErrorKind::usage, an unknown name not_found.
#pragma once

#include <string>

#include "core/repository.hpp"

namespace dvt::core {

Hash32 resolve_commit(Repository& repo, const std::string& rev);
objects::Commit load_commit(Repository& repo, const Hash32& id);  // throws not_found / corrupt

}  // namespace dvt::core
