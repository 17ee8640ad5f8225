// Fuzz target: a whole pack file (objects/pack.hpp): header, footer and index through read_pack_index, then every
// record the index names through read_record (record header, decompression, id check), as fsck, gc and a pull read a
// pack that came from a peer. The bytes are put in a memfd, so the same pread paths run as for a file on disk.
// The footer's SHA-256 of the index is recomputed before the read (when the footer's offset and count describe an
// index inside the input), as an attacker who builds a hostile pack would: otherwise the fuzzer could never change an
// index entry. (The comparison itself is tested by "every damaged byte of a pack is detected" in test_pack.cpp.)
// Record ids are not fixed up: a record that does not hash to its id is refused, all read_record can do with it.
// Properties: an accepted index is sorted and unique, and every record it names lies between the header and the
// index; the index and footer end exactly at the end of the pack.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

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

// The input with its footer's index checksum made right, if the footer places an index inside the input.
std::vector<std::uint8_t> with_index_checksum(const std::uint8_t* data, std::size_t size) {
    using namespace dvt::objects;
    std::vector<std::uint8_t> b(data, data + size);
    if (size < kFooterSize) return b;
    std::uint8_t* foot = b.data() + size - kFooterSize;
    std::uint64_t index_offset = dvt::load_u64(foot + 8), count = dvt::load_u64(foot + 16);
    std::uint64_t room = size - kFooterSize;
    if (index_offset > room || count > (room - index_offset) / kIndexEntrySize) return b;
    auto sum = dvt::sha256(b.data() + index_offset, static_cast<std::size_t>(count * kIndexEntrySize));
    std::memcpy(foot + 32, sum.bytes.data(), 32);
    return b;
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
    auto pack = with_index_checksum(data, size);
    load(fd, pack.data(), pack.size());
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
