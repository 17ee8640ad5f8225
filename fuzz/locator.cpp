// Fuzz target: version locators (objects::Locator::decode; docs/format.md, "Locator"), as a puller reads them from a
// pack named by a commit nobody verified the intent of. Properties: a locator the decoder accepts is in canonical
// form (encoding it again gives the same bytes), its directories are in tree order, and every extent it accepts
// against a pack list lies within that list's packs' records.
#include <algorithm>

#include "fuzz/fuzz.hpp"
#include "objects/locator.hpp"
#include "objects/stat_cache.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    auto in = fuzz::bytes(data, size);
    objects::Locator l;
    if (!fuzz::accepted([&] { l = objects::Locator::decode(in, {}); })) return 0;
    for (std::size_t i = 1; i < l.dirs.size(); ++i)
        fuzz::require(objects::tree_order_less(l.dirs[i - 1].path, l.dirs[i].path), "locator: directories out of order");
    Bytes again = l.encode();  // must not throw for a locator the decoder accepted
    fuzz::require(again.size() == size && std::equal(again.begin(), again.end(), data),
                  "locator: decode accepted a non-canonical encoding");
    // the same bytes against two small packs (the ids of the seeds): whatever is accepted lies within them
    Hash32 one, two;
    one.bytes.fill(1);
    two.bytes.fill(2);
    std::vector<objects::PackRef> packs{{one, 1u << 20, 1u << 19}, {two, 1u << 16, 60000}};
    objects::Locator bounded;
    if (fuzz::accepted([&] { bounded = objects::Locator::decode(in, packs); }))
        for (const auto& d : bounded.dirs)
            for (const auto& x : d.extents) {
                fuzz::require(x.pack < bounded.packs.size(), "locator: accepted an extent naming no pack");
                const auto& ref = bounded.packs[x.pack] == one ? packs[0] : packs[1];
                fuzz::require(bounded.packs[x.pack] == ref.id && x.offset + x.length <= ref.index_offset,
                              "locator: accepted an extent outside its pack's records");
            }
    return 0;
}
