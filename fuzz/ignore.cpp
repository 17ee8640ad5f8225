// Fuzz target: .dvtignore files (util/ignore.hpp: IgnoreRules and glob_match). A .dvtignore arrives with any version
// pulled into a work tree, and its patterns are matched against every path a commit or status scans.
//
// Input: the ignore file's text, then optionally a NUL byte and '\n'-separated paths to decide (a few fixed paths
// are always decided too). The text is added twice, for the root and for the directory "sub".
// Nothing here may throw (the header says so); properties: ".dvt" and ".git" components are always ignored, a path
// below an ignored directory is ignored, and is_ignored_in_walk (the scan's way) agrees with is_ignored.
#include <algorithm>
#include <vector>

#include "fuzz/fuzz.hpp"
#include "util/ignore.hpp"

namespace {

// A path as is_ignored expects it: relative, '/'-separated, no empty component.
bool well_formed(std::string_view p) {
    if (p.empty() || p.size() > 4096 || p.front() == '/' || p.back() == '/') return false;
    return p.find("//") == std::string_view::npos && p.find('\0') == std::string_view::npos;
}

std::vector<std::string_view> split_lines(std::string_view s, std::size_t max) {
    std::vector<std::string_view> out;
    while (!s.empty() && out.size() < max) {
        auto nl = s.find('\n');
        out.push_back(s.substr(0, nl));
        s = nl == std::string_view::npos ? std::string_view{} : s.substr(nl + 1);
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto nul = in.find('\0');
    std::string_view text = in.substr(0, nul);
    std::string_view path_text = nul == std::string_view::npos ? std::string_view{} : in.substr(nul + 1);

    util::IgnoreRules rules;
    rules.add_file("", text);  // never refuses: every input counts as taken
    fuzz::note_accepted();
    rules.add_file("sub", text);

    std::vector<std::string_view> paths = {"a", "a.txt", "dir/b.bin", "sub/x/y.tmp", "sub/.git/config", ".dvt"};
    for (auto p : split_lines(path_text, 32))
        if (well_formed(p)) paths.push_back(p);

    for (auto p : paths) {
        // The work-tree scan's way: parents top-down with is_ignored_in_walk, stopping at an ignored one.
        bool parent_ignored = false;
        for (auto slash = p.find('/'); slash != std::string_view::npos && !parent_ignored;
             slash = p.find('/', slash + 1))
            parent_ignored = rules.is_ignored_in_walk(p.substr(0, slash), true);
        // is_ignored matches every parent again (depth x the cost of a match): compared on paths of modest depth.
        const bool compare = std::count(p.begin(), p.end(), '/') < 64;
        for (bool is_dir : {false, true}) {
            const bool ignored = parent_ignored || rules.is_ignored_in_walk(p, is_dir);
            if (compare)
                fuzz::require(rules.is_ignored(p, is_dir) == ignored,
                              "ignore: is_ignored disagrees with a top-down walk (is_ignored_in_walk)");
            bool special = false;
            std::size_t start = 0;
            while (start <= p.size()) {
                auto end = std::min(p.find('/', start), p.size());
                auto comp = p.substr(start, end - start);
                if (comp == ".dvt" || comp == ".git") special = true;
                start = end + 1;
            }
            fuzz::require(!special || ignored, "ignore: a .dvt or .git path is not ignored");
        }
    }

    auto patterns = split_lines(text, 16);
    for (auto pat : patterns)
        for (std::size_t i = 0; i < paths.size() && i < 16; ++i) (void)util::glob_match(pat, paths[i]);
    return 0;
}
