#include "core/clone_state.hpp"

#include <cerrno>
#include <unistd.h>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace dvt::core {

namespace {

constexpr std::string_view kHeader = "dvt-clone 1\n";

std::filesystem::path mark_path(const std::filesystem::path& dvt_dir) { return dvt_dir / "clone"; }

}  // namespace

std::optional<Hash32> interrupted_clone(const std::filesystem::path& worktree) {
    auto p = mark_path(worktree / ".dvt");
    auto fd = util::try_open_read(p);
    if (!fd) return std::nullopt;
    std::optional<Hash32> id;
    if (util::file_size(fd->get()) == kHeader.size() + 65) {  // read only a mark's size (the file is not trusted)
        std::string text(kHeader.size() + 65, '\0');
        util::pread_all(fd->get(), text.data(), text.size(), 0, p.string());
        if (text.starts_with(kHeader) && text.back() == '\n')
            id = Hash32::from_hex(std::string_view(text).substr(kHeader.size(), 64));
    }
    if (!id) throw Error(ErrorKind::corrupt, p.string() + " is not a clone mark (\"dvt-clone 1\" and a commit id)");
    return id;
}

void mark_clone(const std::filesystem::path& dvt_dir, const Hash32& commit) {
    util::atomic_write_file(mark_path(dvt_dir), std::string(kHeader) + commit.hex() + "\n");
}

void unmark_clone(const std::filesystem::path& dvt_dir) {
    auto p = mark_path(dvt_dir);
    if (::unlink(p.c_str()) != 0) {
        if (errno == ENOENT) return;
        throw_errno("cannot remove " + p.string());
    }
    util::fsync_dir(dvt_dir);
}

}  // namespace dvt::core
