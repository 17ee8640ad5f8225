#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dvt::util {

// Rules from .dvtignore files (gitignore syntax), decided the way git decides.
class IgnoreRules {
public:
    static constexpr std::size_t kMaxPatternLength = 4096;  // bytes, like PATH_MAX

    // Parse the text of one ignore file held in directory `base` (relative to the work-tree root, '/' separators,
    // "" for the root). Supports comments, blank lines, "\#"/"\!" escapes, trailing-space trimming (unless
    // escaped), '!' negation, trailing '/' (directories only), anchoring by a leading or inner '/', wildcards,
    // character classes and "**". Accepts LF and CRLF line endings. Never throws on odd patterns: a pattern that
    // cannot be understood (unterminated '[', trailing '\', nothing left after '!' or '/') is skipped, and so is a
    // pattern longer than kMaxPatternLength bytes (a .dvtignore comes with any version pulled: matching costs
    // pattern length x path length, so a hostile one must not make every scanned path expensive).
    void add_file(std::string_view base, std::string_view text);

    // True when `path` (relative to the work-tree root, '/' separators, no leading or trailing '/') is ignored.
    // `is_dir` tells whether the path is a directory. The last matching pattern wins; files added later take
    // precedence over earlier ones; a file's patterns apply only to paths strictly below its base. Any path with
    // a ".dvt" or ".git" component is always ignored. A path under an ignored directory is ignored, whatever
    // negations say. The empty path (the root) is never ignored.
    bool is_ignored(std::string_view path, bool is_dir) const;

    // is_ignored for a top-down walk that does not enter ignored directories (the work-tree scan): the caller has
    // already found every parent directory of `path` not ignored, so they are not matched again. Same answer as
    // is_ignored for every path such a walk reaches (a file's rules never apply to its own directory or above, so
    // files added on the way down cannot change a parent's answer); is_ignored re-matches each parent, which costs
    // path depth x patterns per path.
    bool is_ignored_in_walk(std::string_view path, bool is_dir) const;

private:
    struct Pattern {
        std::string glob;       // without the leading '!', leading '/' and trailing '/'
        bool negated = false;   // written with a leading '!'
        bool dir_only = false;  // written with a trailing '/'
        bool anchored = false;  // contained a '/' at the start or in the middle: match the path relative to the base
    };
    struct RuleFile {
        std::string base;  // normalised: no leading or trailing '/', "" for the root
        std::vector<Pattern> patterns;
    };

    // Parse one line; returns false when the line holds no usable pattern.
    static bool parse_line(std::string_view line, Pattern& out);
    bool decide(std::string_view path, bool is_dir, bool check_parents) const;
    // Decide `path` by the patterns alone (no parent-directory or always-ignored handling).
    bool matches_rules(std::string_view path, bool is_dir) const;

    std::vector<RuleFile> m_files;
};

// Match `text` against the gitignore-style glob `pattern` (case-sensitive). '*' matches any run of characters and
// '?' any one character, neither matching '/'. "[abc]", "[a-z]", "[!a]", "[^a]" and "[[:alpha:]]"-style classes
// match one character other than '/'. '\' makes the next character literal. "**" is special only as a whole
// segment: a leading "**/" matches in all directories, a trailing "/**" matches everything inside, "/**/" matches
// zero or more directories, and a pattern of just "**" matches everything; elsewhere "**" acts like '*'.
// A malformed pattern (unterminated '[' or trailing '\') matches nothing. Never throws. Time and memory are at most
// proportional to pattern length x text length (one bit each when the pattern has a '*').
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace dvt::util
