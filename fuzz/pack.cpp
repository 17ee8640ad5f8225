// Fuzz target: a whole pack file (objects/pack.hpp): header, footer and index through read_pack_index, then every
// record the index names through read_record (record header, decompression, id check), as fsck, gc and a pull read a
// pack that came from a peer. The bytes are put in a memfd, so the same pread paths run as for a file on disk.
// Properties: an accepted index is sorted and unique, and every record it names lies between the header and the
// index; the index and footer end exactly at the end of the pack.
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/fuzz.hpp"
#include "objects/pack.hpp"

namespace {

int pack_fd() {
    static int fd = [] {
        int f = ::memfd_create("dvt-fuzz-pack", MFD_CLOEXEC);
        if (f < 0) {
            std::perror("memfd_create");
            std::abort();
        }
        return f;
    }();
    return fd;
}

void load(int fd, const std::uint8_t* data, std::size_t size) {
    if (::ftruncate(fd, 0) != 0) std::abort();
    std::size_t off = 0;
    while (off < size) {
        ssize_t n = ::pwrite(fd, data + off, size - off, static_cast<off_t>(off));
        if (n <= 0) std::abort();
        off += static_cast<std::size_t>(n);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    using namespace dvt::objects;
    int fd = pack_fd();
    load(fd, data, size);
    PackIndex pi;
    if (!fuzz::accepted([&] { pi = read_pack_index(fd, "fuzz pack"); })) return 0;
    fuzz::require(pi.length == size, "pack: index length differs from the file length");
    fuzz::require(pi.index_offset >= kPackHeaderSize &&
                      pi.index_offset + pi.entries.size() * kIndexEntrySize + kFooterSize == size,
                  "pack: index and footer do not end the pack");
    Bytes out;
    for (std::size_t i = 0; i < pi.entries.size(); ++i) {
        const auto& e = pi.entries[i];
        fuzz::require(i == 0 || pi.entries[i - 1].id < e.id, "pack: index not sorted or not unique");
        fuzz::require(e.offset >= kPackHeaderSize && e.offset + kRecordHeaderSize + e.stored_len <= pi.index_offset,
                      "pack: record outside the record area");
        if (fuzz::accepted([&] { read_record(fd, e, out, "fuzz pack"); }))
            fuzz::require(sha256(out.data(), out.size()) == e.id, "pack: record accepted although its id differs");
    }
    return 0;
}
