// Fuzz target: commit objects (objects::Commit::decode), the text a commit id names.
// Property: an accepted commit is canonical: encoding it again gives the same bytes. A commit that decodes but
// encodes differently has a second id for the same content (issue #15 item 5: an author time of "-0").
#include <algorithm>

#include "fuzz/fuzz.hpp"
#include "objects/object.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    auto in = fuzz::bytes(data, size);
    objects::Commit c;
    if (!fuzz::accepted([&] { c = objects::Commit::decode(in); })) return 0;
    for (std::size_t i = 0; i < c.packs.size(); ++i) {
        fuzz::require(c.packs[i].index_offset < c.packs[i].length, "commit: pack index offset out of range");
        fuzz::require(i == 0 || c.packs[i - 1].id < c.packs[i].id, "commit: pack list not sorted");
    }
    Bytes again;
    fuzz::require(fuzz::accepted([&] { again = c.encode(); }), "commit: an accepted commit does not encode");
    fuzz::require(again.size() == size && std::equal(again.begin(), again.end(), data),
                  "commit: decode accepted a non-canonical encoding");
    return 0;
}
