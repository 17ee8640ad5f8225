// What a seeder serves (transport/seeder.hpp), as the CLI reports it.
#pragma once

#include <cstddef>

namespace dvt::transport {

struct SeedCounts {
    std::size_t commits = 0, packs = 0, partial_packs = 0;
};

}  // namespace dvt::transport
