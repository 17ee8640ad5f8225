// Fuzz target: tree objects (objects::Tree::decode), as read from a pack of a version nobody verified the intent of.
// Property: a tree the decoder accepts is in canonical form, so encoding it again gives the same bytes (a second
// encoding of the same tree would give the same content a second id).
#include <algorithm>

#include "fuzz/fuzz.hpp"
#include "objects/object.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    auto in = fuzz::bytes(data, size);
    objects::Tree t;
    if (!fuzz::accepted([&] { t = objects::Tree::decode(in); })) return 0;
    for (const auto& e : t.entries) {
        fuzz::require(objects::valid_entry_name(e.name), "tree: accepted an invalid entry name");
        fuzz::require(e.kind != objects::EntryKind::symlink || e.target.size() == e.size,
                      "tree: symlink size differs from its target's length");
    }
    Bytes again = t.encode();  // must not throw for a tree the decoder accepted
    fuzz::require(again.size() == size && std::equal(again.begin(), again.end(), data),
                  "tree: decode accepted a non-canonical encoding");
    return 0;
}
