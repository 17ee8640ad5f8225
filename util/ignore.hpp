#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dvt::util {

// Rules from .dvtignore files (gitignore syntax), decided the way git decides.
class IgnoreRules {
public:
    // Parse the text of one ignore file held in directory `base` (relative to the work-tree root, '/' separators,
    // "" for the root). Supports comments, blank lines, "\#"/"\!" escapes, trailing-space trimming (unless
    // escaped), '!' negation, trailing '/' (directories only), anchoring by a leading or inner '/', wildcards,
    // character classes and "**". Accepts LF and CRLF line endings. Never throws on odd patterns: a pattern that
    // cannot be understood (unterminated '[', trailing '\', nothing left after '!' or '/') is skipped.
    void add_file(std::string_view base, std::string_view text);

    // True when `path` (relative to the work-tree root, '/' separators, no leading or trailing '/') is ignored.
    // `is_dir` tells whether the path is a directory. The last matching pattern wins; files added later take
    // precedence over earlier ones; a file's patterns apply only to paths strictly below its base. Any path with
    // a ".dvt" or ".git" component is always ignored. A path under an ignored directory is ignored, whatever
    // negations say. The empty path (the root) is never ignored.
    bool is_ignored(std::string_view path, bool is_dir) const;

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
    // Decide `path` by the patterns alone (no parent-directory or always-ignored handling).
    bool matches_rules(std::string_view path, bool is_dir) const;

    std::vector<RuleFile> m_files;
};

// Match `text` against the gitignore-style glob `pattern` (case-sensitive). '*' matches any run of characters and
// '?' any one character, neither matching '/'. "[abc]", "[a-z]", "[!a]", "[^a]" and "[[:alpha:]]"-style classes
// match one character other than '/'. '\' makes the next character literal. "**" is special only as a whole
// segment: a leading "**/" matches in all directories, a trailing "/**" matches everything inside, "/**/" matches
// zero or more directories, and a pattern of just "**" matches everything; elsewhere "**" acts like '*'.
// A malformed pattern (unterminated '[' or trailing '\') matches nothing. Never throws.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace dvt::util
