// Fuzz target: the stat cache file (objects::StatCacheReader), as found in .dvt/stat-cache after a crash, a bad disk
// or a hand edit. Properties: reading never throws and never allocates beyond one block; the rows it hands out have
// paths of 1 to 4,095 bytes without NUL, strictly increasing in tree order; find() agrees with a sequential read.
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fuzz/fuzz.hpp"
#include "objects/limits.hpp"
#include "objects/stat_cache.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    int fd = ::memfd_create("stat-cache", MFD_CLOEXEC);
    if (fd < 0) return 0;
    std::size_t off = 0;
    while (off < size) {
        ssize_t k = ::write(fd, data + off, size - off);
        if (k <= 0) break;
        off += static_cast<std::size_t>(k);
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    std::vector<std::string> paths;
    {
        objects::StatCacheReader r(path);
        while (const auto* row = r.next()) {
            fuzz::require(!row->path.empty() && row->path.size() <= objects::kMaxPathLength,
                          "stat cache: a path of a bad length");
            fuzz::require(row->path.find('\0') == std::string::npos, "stat cache: a path with NUL");
            fuzz::require(paths.empty() || objects::tree_order_less(paths.back(), row->path),
                          "stat cache: rows out of tree order");
            paths.push_back(row->path);
        }
    }
    if (!paths.empty()) fuzz::note_accepted();
    {
        objects::StatCacheReader r(path);
        for (const auto& p : paths) {
            const auto* row = r.find(p);
            fuzz::require(row && row->path == p, "stat cache: find() missed a row a sequential read gave");
        }
    }
    ::close(fd);
    return 0;
}
