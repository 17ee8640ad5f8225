// Fuzz target: file objects (objects::FileObject::decode), the manifest of a file's chunks.
// Properties: an accepted manifest is canonical (re-encodes to the same bytes), has no empty chunk, and its chunk
// sizes add up to its size.
#include <algorithm>

#include "fuzz/fuzz.hpp"
#include "objects/object.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    auto in = fuzz::bytes(data, size);
    objects::FileObject f;
    if (!fuzz::accepted([&] { f = objects::FileObject::decode(in); })) return 0;
    std::uint64_t sum = 0;
    for (const auto& c : f.chunks) {
        fuzz::require(c.size > 0, "file: accepted an empty chunk");
        sum += c.size;
    }
    fuzz::require(sum == f.size, "file: chunk sizes do not add up to the file size");
    Bytes again = f.encode();
    fuzz::require(again.size() == size && std::equal(again.begin(), again.end(), data),
                  "file: decode accepted a non-canonical encoding");
    return 0;
}
