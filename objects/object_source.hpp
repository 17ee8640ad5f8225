// ObjectSource: where the object store turns for objects it does not hold (the seam for lazy reads: a mount or an
// HTTP reader plugs in a source that fetches the missing pieces from the swarm).
//
// Contract:
//  - ObjectStore::read() (and read_file_object / read_tree / ensure) asks the local store first; only for ids it does
//    not hold does it call fetch() of the source plugged in with ObjectStore::set_source(), then looks again.
//  - fetch() makes what it can of `ids` present by handing verified data to the store (install_packs,
//    add_verified_objects): the store still owns every write, and every read still verifies the bytes against the
//    id, whatever the source did. It returns normally when it delivered what it could; an id still missing afterwards
//    is ErrorKind::not_found for the reader. It may throw (no_peers, network, corrupt): the reader gets that error.
//  - Calls are serialised by the store (one fetch at a time); fetch() must not call back into read() for the same ids.
//  - fetch_ahead(ids, ahead) is fetch(ids) with a hint: `ahead` are ids a reader expects to need next (a sequential
//    read's read-ahead). A source may start fetching them in the background but must not wait for them, nor fail for
//    them; they become present (verified, through the store) only when a later call delivers them. The default
//    ignores the hint.
#pragma once

#include <vector>

#include "util/hash.hpp"

namespace dvt::objects {

class ObjectSource {
public:
    virtual ~ObjectSource() = default;
    virtual void fetch(const std::vector<Hash32>& ids) = 0;
    virtual void fetch_ahead(const std::vector<Hash32>& ids, const std::vector<Hash32>& ahead) {
        (void)ahead;
        fetch(ids);
    }
};

}  // namespace dvt::objects
