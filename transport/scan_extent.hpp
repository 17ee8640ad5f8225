// Reading a version through its locator, shared by the partial pull (transport/fetch.cpp, which defines these) and the
// lazy source (lazy_source.cpp).
#pragma once

#include <string>
#include <vector>

#include "objects/locator.hpp"
#include "objects/pack.hpp"
#include "objects/store.hpp"

namespace dvt::transport {

// The records of one locator extent (docs/format.md, "Locator"), read from `fd` (the pack's partial or complete
// file): each full record decoded and hashed (its id); a delta record's id is not known until it is decoded against
// its base, so it is returned with a zero id. A record reaching past the extent or a header breaking the limits is
// corrupt.
void scan_extent(int fd, const objects::LocatorExtent& x, const objects::LocatorDir& d, const std::string& what,
                 std::vector<objects::PackEntry>& out);

// The partial file of pack `ref` (.dvt/partial/), created, or extended to the pack's length, as a sparse file: a
// partial pack of a version read through its locator whose index was not fetched is then here for the checks of named
// packs (core/named_packs.hpp: its objects are those indexed).
void extend_partial(objects::ObjectStore& store, const objects::PackRef& ref);

}  // namespace dvt::transport
