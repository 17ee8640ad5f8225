#include <catch2/catch.hpp>

#include "util/ignore.hpp"

#include <string>

using dvt::util::glob_match;
using dvt::util::IgnoreRules;

namespace {

IgnoreRules root_rules(std::string_view text) {
    IgnoreRules rules;
    rules.add_file("", text);
    return rules;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// glob_match
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("glob_match: literal text must match exactly", "[ignore][glob]") {
    CHECK(glob_match("foo", "foo"));
    CHECK_FALSE(glob_match("foo", "fo"));
    CHECK_FALSE(glob_match("foo", "fooo"));
    CHECK_FALSE(glob_match("foo", "Foo"));
    CHECK(glob_match("a/b", "a/b"));
    CHECK_FALSE(glob_match("a/b", "a/c"));
    CHECK(glob_match("", ""));
    CHECK_FALSE(glob_match("", "a"));
}

TEST_CASE("glob_match: star matches any run within one segment but not a slash", "[ignore][glob]") {
    CHECK(glob_match("*", "anything"));
    CHECK(glob_match("*", ""));
    CHECK(glob_match("*.o", "main.o"));
    CHECK(glob_match("*.o", ".o"));
    CHECK_FALSE(glob_match("*.o", "main.c"));
    CHECK(glob_match("a*b*c", "aXXbYYc"));
    CHECK(glob_match("a*b*c", "abc"));
    CHECK_FALSE(glob_match("a*b*c", "acb"));
    CHECK_FALSE(glob_match("*", "a/b"));
    CHECK_FALSE(glob_match("*.o", "dir/main.o"));
    CHECK(glob_match("doc/*.txt", "doc/a.txt"));
    CHECK_FALSE(glob_match("doc/*.txt", "doc/sub/a.txt"));
    CHECK(glob_match("*/x", "a/x"));
    CHECK_FALSE(glob_match("*/x", "a/b/x"));
}

TEST_CASE("glob_match: question mark matches exactly one non-slash character", "[ignore][glob]") {
    CHECK(glob_match("?", "a"));
    CHECK_FALSE(glob_match("?", ""));
    CHECK_FALSE(glob_match("?", "ab"));
    CHECK(glob_match("file?.txt", "file1.txt"));
    CHECK_FALSE(glob_match("file?.txt", "file.txt"));
    CHECK_FALSE(glob_match("a?b", "a/b"));
}

TEST_CASE("glob_match: character classes with sets, ranges and negation", "[ignore][glob]") {
    CHECK(glob_match("[abc]", "a"));
    CHECK(glob_match("[abc]", "c"));
    CHECK_FALSE(glob_match("[abc]", "d"));
    CHECK(glob_match("[a-z]x", "qx"));
    CHECK_FALSE(glob_match("[a-z]x", "Qx"));
    CHECK(glob_match("v[0-9][0-9]", "v42"));
    CHECK_FALSE(glob_match("v[0-9][0-9]", "v4a"));
    CHECK(glob_match("[!a]", "b"));
    CHECK_FALSE(glob_match("[!a]", "a"));
    CHECK(glob_match("[^a-c]", "d"));
    CHECK_FALSE(glob_match("[^a-c]", "b"));
    CHECK(glob_match("[a-cx-z]", "y"));
    CHECK_FALSE(glob_match("[a-cx-z]", "m"));
}

TEST_CASE("glob_match: character class edge cases", "[ignore][glob]") {
    // ']' first in the set is literal.
    CHECK(glob_match("[]]", "]"));
    CHECK(glob_match("[]a]", "a"));
    CHECK(glob_match("[!]]", "x"));
    CHECK_FALSE(glob_match("[!]]", "]"));
    // '-' first or last is literal.
    CHECK(glob_match("[-a]", "-"));
    CHECK(glob_match("[a-]", "-"));
    CHECK_FALSE(glob_match("[a-]", "b"));
    // Escapes inside a class.
    CHECK(glob_match("[\\]]", "]"));
    CHECK(glob_match("[\\!]", "!"));
    // POSIX named classes.
    CHECK(glob_match("[[:digit:]]", "7"));
    CHECK_FALSE(glob_match("[[:digit:]]", "x"));
    CHECK(glob_match("[[:alpha:]_]*", "_private"));
    CHECK(glob_match("[[:upper:]]*", "README"));
    CHECK_FALSE(glob_match("[[:upper:]]*", "readme"));
    // A class never matches '/', even when negated.
    CHECK_FALSE(glob_match("a[!x]b", "a/b"));
    CHECK_FALSE(glob_match("a[/]b", "a/b"));
}

TEST_CASE("glob_match: backslash escapes special characters", "[ignore][glob]") {
    CHECK(glob_match("\\*", "*"));
    CHECK_FALSE(glob_match("\\*", "x"));
    CHECK(glob_match("\\?", "?"));
    CHECK_FALSE(glob_match("\\?", "x"));
    CHECK(glob_match("\\[a]", "[a]"));
    CHECK_FALSE(glob_match("\\[a]", "a"));
    CHECK(glob_match("\\\\", "\\"));
    CHECK(glob_match("\\#x", "#x"));
    CHECK(glob_match("a\\ ", "a "));
}

TEST_CASE("glob_match: malformed patterns match nothing", "[ignore][glob]") {
    CHECK_FALSE(glob_match("[abc", "a"));
    CHECK_FALSE(glob_match("[abc", "[abc"));
    CHECK_FALSE(glob_match("foo\\", "foo"));
    CHECK_FALSE(glob_match("foo\\", "foo\\"));
    CHECK_FALSE(glob_match("[[:nosuchclass:]]", "a"));
}

TEST_CASE("glob_match: leading **/ matches in all directories", "[ignore][glob]") {
    CHECK(glob_match("**/foo", "foo"));
    CHECK(glob_match("**/foo", "a/foo"));
    CHECK(glob_match("**/foo", "a/b/c/foo"));
    CHECK_FALSE(glob_match("**/foo", "a/xfoo"));
    CHECK_FALSE(glob_match("**/foo", "foo/bar"));
    CHECK(glob_match("**/foo/bar", "x/y/foo/bar"));
    CHECK(glob_match("**/foo/bar", "foo/bar"));
    CHECK_FALSE(glob_match("**/foo/bar", "foo/x/bar"));
}

TEST_CASE("glob_match: trailing /** matches everything inside", "[ignore][glob]") {
    CHECK(glob_match("abc/**", "abc/x"));
    CHECK(glob_match("abc/**", "abc/x/y/z"));
    CHECK_FALSE(glob_match("abc/**", "abc"));
    CHECK_FALSE(glob_match("abc/**", "abcd/x"));
    CHECK(glob_match("**", "a/b/c"));
}

TEST_CASE("glob_match: /**/ matches zero or more directories", "[ignore][glob]") {
    CHECK(glob_match("a/**/b", "a/b"));
    CHECK(glob_match("a/**/b", "a/x/b"));
    CHECK(glob_match("a/**/b", "a/x/y/b"));
    CHECK_FALSE(glob_match("a/**/b", "a/xb"));
    CHECK_FALSE(glob_match("a/**/b", "ab"));
    CHECK_FALSE(glob_match("a/**/b", "a/x/b/c"));
    CHECK(glob_match("a/**/**/b", "a/b"));
    CHECK(glob_match("a/**/b/**/c", "a/1/b/2/3/c"));
}

TEST_CASE("glob_match: ** that is not a whole segment acts like a single star", "[ignore][glob]") {
    CHECK(glob_match("a**b", "aXYb"));
    CHECK_FALSE(glob_match("a**b", "a/b"));
    CHECK(glob_match("**foo", "xfoo"));
    CHECK_FALSE(glob_match("**foo", "x/foo"));
    CHECK(glob_match("foo**/bar", "fooX/bar"));
    CHECK_FALSE(glob_match("foo**/bar", "foo/x/bar"));
}

TEST_CASE("glob_match: many stars do not blow up", "[ignore][glob]") {
    const std::string text(200, 'a');
    CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*b", text));
    CHECK(glob_match("*a*a*a*a*a*a*a*a*a*a*a*", text));
    CHECK_FALSE(glob_match("**/**/**/**/**/**/x", "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/y"));
}

// ---------------------------------------------------------------------------------------------------------------
// IgnoreRules
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("IgnoreRules: no rules ignores nothing but .dvt and .git", "[ignore]") {
    IgnoreRules rules;
    CHECK_FALSE(rules.is_ignored("a", false));
    CHECK_FALSE(rules.is_ignored("a/b/c.txt", false));
    CHECK_FALSE(rules.is_ignored("dir", true));
    CHECK(rules.is_ignored(".dvt", true));
    CHECK(rules.is_ignored(".git", true));
}

TEST_CASE("IgnoreRules: plain name matches files and directories at any depth", "[ignore]") {
    const auto rules = root_rules("foo\n");
    CHECK(rules.is_ignored("foo", false));
    CHECK(rules.is_ignored("foo", true));
    CHECK(rules.is_ignored("a/foo", false));
    CHECK(rules.is_ignored("a/b/c/foo", true));
    CHECK(rules.is_ignored("foo/inside.txt", false));  // parent directory foo is ignored
    CHECK_FALSE(rules.is_ignored("foobar", false));
    CHECK_FALSE(rules.is_ignored("xfoo", false));
    CHECK_FALSE(rules.is_ignored("a/foo.txt", false));
}

TEST_CASE("IgnoreRules: wildcard name matches at any depth", "[ignore]") {
    const auto rules = root_rules("*.o\n*.tmp\n");
    CHECK(rules.is_ignored("main.o", false));
    CHECK(rules.is_ignored("src/lib/util.o", false));
    CHECK(rules.is_ignored("x.tmp", false));
    CHECK_FALSE(rules.is_ignored("main.c", false));
    CHECK_FALSE(rules.is_ignored("src/main.oo", false));
}

TEST_CASE("IgnoreRules: leading slash anchors to the base directory", "[ignore]") {
    const auto rules = root_rules("/build\n");
    CHECK(rules.is_ignored("build", true));
    CHECK(rules.is_ignored("build", false));
    CHECK(rules.is_ignored("build/out.bin", false));
    CHECK_FALSE(rules.is_ignored("src/build", true));
    CHECK_FALSE(rules.is_ignored("src/build/out.bin", false));
}

TEST_CASE("IgnoreRules: slash in the middle anchors to the base directory", "[ignore]") {
    const auto rules = root_rules("doc/frotz\n");
    CHECK(rules.is_ignored("doc/frotz", true));
    CHECK(rules.is_ignored("doc/frotz/file", false));
    CHECK_FALSE(rules.is_ignored("a/doc/frotz", true));
    CHECK_FALSE(rules.is_ignored("doc", true));
    CHECK_FALSE(rules.is_ignored("frotz", false));
}

TEST_CASE("IgnoreRules: anchored pattern with star stays in one directory level", "[ignore]") {
    const auto rules = root_rules("doc/*.txt\n");
    CHECK(rules.is_ignored("doc/notes.txt", false));
    CHECK_FALSE(rules.is_ignored("doc/sub/notes.txt", false));
    CHECK_FALSE(rules.is_ignored("x/doc/notes.txt", false));
}

TEST_CASE("IgnoreRules: trailing slash matches directories only", "[ignore]") {
    const auto rules = root_rules("build/\n");
    CHECK(rules.is_ignored("build", true));
    CHECK_FALSE(rules.is_ignored("build", false));
    CHECK(rules.is_ignored("src/build", true));
    CHECK_FALSE(rules.is_ignored("src/build", false));
    // Everything under an ignored directory is ignored.
    CHECK(rules.is_ignored("build/a.o", false));
    CHECK(rules.is_ignored("src/build/deep/a.o", false));
    CHECK(rules.is_ignored("build/sub", true));
}

TEST_CASE("IgnoreRules: anchored directory-only pattern", "[ignore]") {
    const auto rules = root_rules("/out/gen/\n");
    CHECK(rules.is_ignored("out/gen", true));
    CHECK_FALSE(rules.is_ignored("out/gen", false));
    CHECK(rules.is_ignored("out/gen/x.c", false));
    CHECK_FALSE(rules.is_ignored("out", true));
    CHECK_FALSE(rules.is_ignored("a/out/gen", true));
}

TEST_CASE("IgnoreRules: negation un-ignores and the last matching pattern wins", "[ignore]") {
    SECTION("negation after the exclusion re-includes") {
        const auto rules = root_rules("*.log\n!keep.log\n");
        CHECK(rules.is_ignored("debug.log", false));
        CHECK(rules.is_ignored("a/debug.log", false));
        CHECK_FALSE(rules.is_ignored("keep.log", false));
        CHECK_FALSE(rules.is_ignored("a/keep.log", false));
    }
    SECTION("exclusion after the negation wins") {
        const auto rules = root_rules("!keep.log\n*.log\n");
        CHECK(rules.is_ignored("keep.log", false));
        CHECK(rules.is_ignored("debug.log", false));
    }
    SECTION("alternating patterns: only the last match counts") {
        const auto rules = root_rules("*.txt\n!*.txt\nsecret.txt\n");
        CHECK(rules.is_ignored("secret.txt", false));
        CHECK_FALSE(rules.is_ignored("public.txt", false));
    }
    SECTION("negation with nothing to undo leaves the path included") {
        const auto rules = root_rules("!foo\n");
        CHECK_FALSE(rules.is_ignored("foo", false));
    }
}

TEST_CASE("IgnoreRules: negation cannot re-include a file under an excluded directory", "[ignore]") {
    SECTION("directory excluded by name") {
        const auto rules = root_rules("build/\n!build/keep.txt\n");
        CHECK(rules.is_ignored("build", true));
        CHECK(rules.is_ignored("build/keep.txt", false));
    }
    SECTION("excluded grandparent") {
        const auto rules = root_rules("vendor\n!vendor/lib/keep.c\n!keep.c\n");
        CHECK(rules.is_ignored("vendor/lib/keep.c", false));
        CHECK(rules.is_ignored("vendor/lib", true));
        CHECK_FALSE(rules.is_ignored("src/keep.c", false));
    }
    SECTION("excluding the contents instead of the directory allows re-inclusion") {
        const auto rules = root_rules("build/*\n!build/keep.txt\n");
        CHECK_FALSE(rules.is_ignored("build", true));
        CHECK(rules.is_ignored("build/other.txt", false));
        CHECK_FALSE(rules.is_ignored("build/keep.txt", false));
    }
    SECTION("re-including the directory as well works") {
        const auto rules = root_rules("/build/*\n!/build/sub/\n/build/sub/*\n!/build/sub/keep\n");
        CHECK(rules.is_ignored("build/x", false));
        CHECK_FALSE(rules.is_ignored("build/sub", true));
        CHECK(rules.is_ignored("build/sub/y", false));
        CHECK_FALSE(rules.is_ignored("build/sub/keep", false));
    }
    SECTION("trailing /** excludes contents but not the directory itself") {
        const auto rules = root_rules("abc/**\n!abc/keep\n");
        CHECK_FALSE(rules.is_ignored("abc", true));
        CHECK(rules.is_ignored("abc/x", false));
        CHECK_FALSE(rules.is_ignored("abc/keep", false));
    }
}

TEST_CASE("IgnoreRules: a file's rules apply only below its base directory", "[ignore]") {
    IgnoreRules rules;
    rules.add_file("sub", "*.tmp\n/local\n");
    CHECK(rules.is_ignored("sub/a.tmp", false));
    CHECK(rules.is_ignored("sub/deeper/a.tmp", false));
    CHECK_FALSE(rules.is_ignored("a.tmp", false));
    CHECK_FALSE(rules.is_ignored("other/a.tmp", false));
    CHECK_FALSE(rules.is_ignored("subway/a.tmp", false));  // shares a prefix, but is not below "sub"
    // Anchored patterns are relative to the base.
    CHECK(rules.is_ignored("sub/local", true));
    CHECK_FALSE(rules.is_ignored("sub/x/local", true));
    CHECK_FALSE(rules.is_ignored("local", true));
}

TEST_CASE("IgnoreRules: a file's rules do not apply to its own directory", "[ignore]") {
    IgnoreRules rules;
    rules.add_file("sub", "*\n");
    CHECK_FALSE(rules.is_ignored("sub", true));
    CHECK(rules.is_ignored("sub/anything", false));
}

TEST_CASE("IgnoreRules: deeper files added later take precedence", "[ignore]") {
    IgnoreRules rules;
    rules.add_file("", "*.txt\n!important.cfg\n");
    rules.add_file("docs", "!*.txt\n*.cfg\n");
    CHECK(rules.is_ignored("notes.txt", false));
    CHECK(rules.is_ignored("src/notes.txt", false));
    CHECK_FALSE(rules.is_ignored("docs/notes.txt", false));
    CHECK_FALSE(rules.is_ignored("docs/deep/notes.txt", false));
    CHECK_FALSE(rules.is_ignored("important.cfg", false));
    CHECK(rules.is_ignored("docs/important.cfg", false));
}

TEST_CASE("IgnoreRules: an earlier file's match is used when the later file does not match", "[ignore]") {
    IgnoreRules rules;
    rules.add_file("", "*.bak\n");
    rules.add_file("a", "*.o\n");
    rules.add_file("a/b", "!keep.o\n");
    CHECK(rules.is_ignored("a/b/x.bak", false));
    CHECK(rules.is_ignored("a/b/x.o", false));
    CHECK_FALSE(rules.is_ignored("a/b/keep.o", false));
    CHECK(rules.is_ignored("a/keep.o", false));
}

TEST_CASE("IgnoreRules: a nested file cannot re-include under a directory excluded by a parent", "[ignore]") {
    IgnoreRules rules;
    rules.add_file("", "generated/\n");
    rules.add_file("generated", "!keep.txt\n");
    CHECK(rules.is_ignored("generated", true));
    CHECK(rules.is_ignored("generated/keep.txt", false));
}

TEST_CASE("IgnoreRules: base directory is normalised", "[ignore]") {
    IgnoreRules rules;
    rules.add_file("/sub/", "x\n");
    rules.add_file("./other", "y\n");
    rules.add_file(".", "z\n");
    CHECK(rules.is_ignored("sub/x", false));
    CHECK_FALSE(rules.is_ignored("x", false));
    CHECK(rules.is_ignored("other/y", false));
    CHECK(rules.is_ignored("deep/z", false));
}

TEST_CASE("IgnoreRules: leading **/ pattern matches in all directories", "[ignore]") {
    const auto rules = root_rules("**/logs\n**/cache/tmp\n");
    CHECK(rules.is_ignored("logs", true));
    CHECK(rules.is_ignored("a/b/logs", true));
    CHECK(rules.is_ignored("a/logs/x.log", false));
    CHECK(rules.is_ignored("cache/tmp", true));
    CHECK(rules.is_ignored("x/cache/tmp", true));
    CHECK_FALSE(rules.is_ignored("x/cache", true));
    CHECK_FALSE(rules.is_ignored("tmp", true));
}

TEST_CASE("IgnoreRules: trailing /** pattern matches everything inside", "[ignore]") {
    const auto rules = root_rules("data/**\n");
    CHECK_FALSE(rules.is_ignored("data", true));
    CHECK(rules.is_ignored("data/a", false));
    CHECK(rules.is_ignored("data/a/b/c", false));
    CHECK_FALSE(rules.is_ignored("x/data/a", false));
}

TEST_CASE("IgnoreRules: /**/ pattern matches zero or more directories", "[ignore]") {
    const auto rules = root_rules("a/**/b\n");
    CHECK(rules.is_ignored("a/b", false));
    CHECK(rules.is_ignored("a/x/b", false));
    CHECK(rules.is_ignored("a/x/y/b", true));
    CHECK(rules.is_ignored("a/x/b/inside", false));
    CHECK_FALSE(rules.is_ignored("x/a/b", false));
    CHECK_FALSE(rules.is_ignored("a/xb", false));
}

TEST_CASE("IgnoreRules: character classes in patterns", "[ignore]") {
    const auto rules = root_rules("*.[oa]\nlog[0-9]\n[!m]*.tmp\n");
    CHECK(rules.is_ignored("x.o", false));
    CHECK(rules.is_ignored("lib/x.a", false));
    CHECK_FALSE(rules.is_ignored("x.so", false));
    CHECK(rules.is_ignored("log3", false));
    CHECK_FALSE(rules.is_ignored("logx", false));
    CHECK(rules.is_ignored("a.tmp", false));
    CHECK_FALSE(rules.is_ignored("m.tmp", false));
}

TEST_CASE("IgnoreRules: comments and blank lines are skipped", "[ignore]") {
    const auto rules = root_rules("# a comment\n\n   \n#foo\nbar\n\n");
    CHECK_FALSE(rules.is_ignored("# a comment", false));
    CHECK_FALSE(rules.is_ignored("#foo", false));
    CHECK_FALSE(rules.is_ignored("foo", false));
    CHECK(rules.is_ignored("bar", false));
}

TEST_CASE("IgnoreRules: escaped hash and exclamation mark are literal", "[ignore]") {
    const auto rules = root_rules("\\#notes\n\\!important\n");
    CHECK(rules.is_ignored("#notes", false));
    CHECK(rules.is_ignored("!important", false));
    CHECK_FALSE(rules.is_ignored("important", false));
    CHECK_FALSE(rules.is_ignored("notes", false));
}

TEST_CASE("IgnoreRules: trailing spaces are trimmed unless escaped", "[ignore]") {
    const auto rules = root_rules("foo   \nbar\\ \nbaz\\  \n");
    CHECK(rules.is_ignored("foo", false));
    CHECK_FALSE(rules.is_ignored("foo   ", false));
    CHECK(rules.is_ignored("bar ", false));
    CHECK_FALSE(rules.is_ignored("bar", false));
    CHECK(rules.is_ignored("baz ", false));
    CHECK_FALSE(rules.is_ignored("baz  ", false));
}

TEST_CASE("IgnoreRules: CRLF line endings", "[ignore]") {
    const auto rules = root_rules("# comment\r\n*.o\r\nbuild/\r\n!keep.o\r\n\r\n");
    CHECK(rules.is_ignored("a.o", false));
    CHECK_FALSE(rules.is_ignored("keep.o", false));
    CHECK(rules.is_ignored("build", true));
    CHECK_FALSE(rules.is_ignored("build", false));
}

TEST_CASE("IgnoreRules: last line without a newline and a byte-order mark", "[ignore]") {
    const auto rules = root_rules("\xEF\xBB\xBF" "first\nlast");
    CHECK(rules.is_ignored("first", false));
    CHECK(rules.is_ignored("last", false));
}

TEST_CASE("IgnoreRules: malformed patterns are skipped without throwing", "[ignore]") {
    IgnoreRules rules;
    REQUIRE_NOTHROW(rules.add_file("", "[abc\nfoo\\\n!\n/\n!/\n[[:bogus:]]\nok\n"));
    CHECK(rules.is_ignored("ok", false));
    CHECK_FALSE(rules.is_ignored("[abc", false));
    CHECK_FALSE(rules.is_ignored("a", false));
    CHECK_FALSE(rules.is_ignored("foo", false));
    CHECK_FALSE(rules.is_ignored("foo\\", false));
    CHECK_FALSE(rules.is_ignored("x/y", false));
}

TEST_CASE("IgnoreRules: .dvt and .git are always ignored at any depth", "[ignore]") {
    const auto rules = root_rules("!.git\n!.dvt\n!**\n");
    CHECK(rules.is_ignored(".dvt", true));
    CHECK(rules.is_ignored(".git", true));
    CHECK(rules.is_ignored(".git", false));  // a .git file (worktree/submodule link)
    CHECK(rules.is_ignored(".dvt/objects/ab/cdef", false));
    CHECK(rules.is_ignored("sub/.git", true));
    CHECK(rules.is_ignored("sub/.git/HEAD", false));
    CHECK(rules.is_ignored("a/b/.dvt", false));
    CHECK_FALSE(rules.is_ignored(".gitignore", false));
    CHECK_FALSE(rules.is_ignored(".github", true));
    CHECK_FALSE(rules.is_ignored(".dvtignore", false));
    CHECK_FALSE(rules.is_ignored("x.git", false));
}

TEST_CASE("IgnoreRules: root path is never ignored", "[ignore]") {
    const auto rules = root_rules("*\n");
    CHECK_FALSE(rules.is_ignored("", true));
    CHECK(rules.is_ignored("anything", false));
}

TEST_CASE("IgnoreRules: direct deep query agrees with a top-down walk", "[ignore]") {
    const auto rules = root_rules("node_modules/\n!node_modules/keep/\n*.min.js\n");
    // Walking top-down, a caller would stop at node_modules; a direct query must say the same.
    CHECK(rules.is_ignored("node_modules", true));
    CHECK(rules.is_ignored("node_modules/keep", true));
    CHECK(rules.is_ignored("node_modules/keep/index.js", false));
    CHECK(rules.is_ignored("web/app.min.js", false));
    CHECK_FALSE(rules.is_ignored("web/app.js", false));
}
