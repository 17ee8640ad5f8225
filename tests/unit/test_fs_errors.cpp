// Foreign failures become dvt::Error kinds where the foreign library is called: the errno / std::error_code map in
// util/error.hpp, and std::filesystem failures in refs/ and core/ surfacing as dvt::Error, never filesystem_error.
#include <catch2/catch.hpp>

#include <cerrno>
#include <filesystem>
#include <future>
#include <string>
#include <system_error>

#include "core/repository.hpp"
#include "refs/refs.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

using namespace dvt;
namespace fs = std::filesystem;

namespace {

// The dvt::Error thrown by f; fails the test if f throws anything else (a filesystem_error in particular) or nothing.
template <class F>
Error error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    } catch (const fs::filesystem_error& e) {
        FAIL("a std::filesystem::filesystem_error escaped: " << e.what());
    }
    FAIL("no error was thrown");
    throw;  // unreachable: FAIL throws
}

Error error_for(int errnum, const std::string& what) {
    return error_of([&] { throw_error_code(std::error_code(errnum, std::generic_category()), what); });
}

}  // namespace

TEST_CASE("errno values map to error kinds: missing paths are not_found, everything else io", "[util]") {
    CHECK(error_kind_of_errno(ENOENT) == ErrorKind::not_found);
    CHECK(error_kind_of_errno(ENOTDIR) == ErrorKind::not_found);
    for (int e : {EACCES, EPERM, EROFS, ENOSPC, EDQUOT, EIO, EMFILE, ENFILE, ENAMETOOLONG, ELOOP, EEXIST, ENOTEMPTY,
                  EINVAL})
        CHECK(error_kind_of_errno(e) == ErrorKind::io);
    // the same map through std::error_code, in either errno-valued category
    CHECK(error_kind_of(std::error_code(ENOENT, std::system_category())) == ErrorKind::not_found);
    CHECK(error_kind_of(std::make_error_code(std::errc::not_a_directory)) == ErrorKind::not_found);
    CHECK(error_kind_of(std::make_error_code(std::errc::permission_denied)) == ErrorKind::io);
    CHECK(error_kind_of(std::make_error_code(std::future_errc::no_state)) == ErrorKind::io);  // not an errno
}

TEST_CASE("throw_error_code throws one line naming the operation, the path and the system's reason", "[util]") {
    Error missing = error_for(ENOENT, "cannot open /some/where/file");
    CHECK(missing.kind() == ErrorKind::not_found);
    CHECK(std::string(missing.what()) ==
          "cannot open /some/where/file: " + std::error_code(ENOENT, std::generic_category()).message());

    Error denied = error_for(EACCES, "cannot create /ro/dir");
    CHECK(denied.kind() == ErrorKind::io);
    CHECK(std::string(denied.what()).find("/ro/dir") != std::string::npos);

    Error full = error_for(ENOSPC, "cannot write /full/disk/x");
    CHECK(full.kind() == ErrorKind::io);
    CHECK(std::string(full.what()).find("/full/disk/x") != std::string::npos);
    CHECK(std::string(full.what()).find('\n') == std::string::npos);

    errno = ENOENT;  // throw_errno uses the same map
    Error e = error_of([] { throw_errno("cannot open /gone"); });
    CHECK(e.kind() == ErrorKind::not_found);
    errno = ENOSPC;
    CHECK(error_of([] { throw_errno("cannot write /full"); }).kind() == ErrorKind::io);
}

TEST_CASE("path queries throw dvt::Error only for real failures", "[util]") {
    test::TempDir t("fs-errors");
    test::write_file(t.path / "file", {});
    CHECK(util::path_exists(t.path / "file"));
    CHECK_FALSE(util::path_is_directory(t.path / "file"));
    CHECK(util::path_is_directory(t.path));
    CHECK_FALSE(util::path_exists(t.path / "missing"));
    CHECK_FALSE(util::path_exists(t.path / "file" / "below"));  // ENOTDIR is "no", as with fs::exists
    CHECK_FALSE(util::path_is_directory(t.path / "file" / "below"));
}

TEST_CASE("a ref update whose directory cannot be created is a dvt::Error naming the path", "[util]") {
    test::TempDir t("fs-errors-refs");
    fs::create_directories(t.path / "refs/heads");
    util::atomic_write_file(t.path / "HEAD", "ref: refs/heads/main\n");
    util::atomic_write_file(t.path / "refs/heads/topic", std::string(64, 'a') + "\n");  // a branch "topic"...
    refs::RefStore r(t.path);
    Hash32 id;
    id.bytes.fill(7);
    // ...so "topic/x" needs refs/heads/topic to be a directory, and it is a regular file
    Error e = error_of([&] { r.update("refs/heads/topic/x", std::nullopt, id, "test"); });
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(std::string(e.what()).find((t.path / "refs/heads/topic").string()) != std::string::npos);
    CHECK(r.read("refs/heads/topic").has_value());  // nothing else changed

    // the reflog directory: logs/ is a regular file, so logs/refs/heads cannot be created
    util::atomic_write_file(t.path / "logs", "not a directory\n");
    Error log = error_of([&] { r.update("refs/heads/main", std::nullopt, id, "test"); });
    CHECK(log.kind() == ErrorKind::not_found);
    CHECK(std::string(log.what()).find("cannot create directory " + (t.path / "logs/refs/heads").string()) !=
          std::string::npos);
}

TEST_CASE("init below a regular file is a dvt::Error, not a filesystem_error", "[util]") {
    test::TempDir t("fs-errors-init");
    test::write_file(t.path / "plain", {});
    Error e = error_of([&] { (void)core::Repository::init(t.path / "plain" / "repo", {}); });
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(std::string(e.what()).find((t.path / "plain" / "repo").string()) != std::string::npos);
    CHECK_FALSE(util::path_exists(t.path / "plain" / "repo"));
}
