#include "util/ignore.hpp"

#include <cctype>
#include <cstddef>

namespace dvt::util {

namespace {

constexpr std::size_t npos = std::string_view::npos;

// Whether `ch` belongs to the POSIX class `name` ("alpha", "digit", ...). `known` is cleared for unknown names.
bool in_posix_class(std::string_view name, char ch, bool& known) {
    const auto uch = static_cast<unsigned char>(ch);
    known = true;
    if (name == "alnum") return std::isalnum(uch) != 0;
    if (name == "alpha") return std::isalpha(uch) != 0;
    if (name == "blank") return uch == ' ' || uch == '\t';
    if (name == "cntrl") return std::iscntrl(uch) != 0;
    if (name == "digit") return std::isdigit(uch) != 0;
    if (name == "graph") return std::isgraph(uch) != 0;
    if (name == "lower") return std::islower(uch) != 0;
    if (name == "print") return std::isprint(uch) != 0;
    if (name == "punct") return std::ispunct(uch) != 0;
    if (name == "space") return std::isspace(uch) != 0;
    if (name == "upper") return std::isupper(uch) != 0;
    if (name == "xdigit") return std::isxdigit(uch) != 0;
    known = false;
    return false;
}

// Parse the bracket expression whose '[' is at pattern[pos] and test `ch` against it. Sets `matched` and returns
// the index just past the closing ']', or npos when the expression is malformed. Never matches '/'.
std::size_t match_class(std::string_view pattern, std::size_t pos, char ch, bool& matched) {
    std::size_t i = pos + 1;
    bool negate = false;
    if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
        negate = true;
        ++i;
    }
    bool hit = false;
    bool first = true;
    while (true) {
        if (i >= pattern.size()) return npos;
        char lo = pattern[i];
        if (lo == ']' && !first) {
            ++i;
            break;
        }
        first = false;
        if (lo == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
            const std::size_t close = pattern.find(":]", i + 2);
            if (close == npos) return npos;
            bool known = false;
            if (in_posix_class(pattern.substr(i + 2, close - (i + 2)), ch, known)) hit = true;
            if (!known) return npos;
            i = close + 2;
            continue;
        }
        if (lo == '\\') {
            if (i + 1 >= pattern.size()) return npos;
            lo = pattern[++i];
        }
        ++i;
        char hi = lo;
        if (i + 1 < pattern.size() && pattern[i] == '-' && pattern[i + 1] != ']') {
            std::size_t j = i + 1;
            if (pattern[j] == '\\') {
                if (j + 1 >= pattern.size()) return npos;
                ++j;
            }
            hi = pattern[j];
            i = j + 1;
        }
        const auto uch = static_cast<unsigned char>(ch);
        if (static_cast<unsigned char>(lo) <= uch && uch <= static_cast<unsigned char>(hi)) hit = true;
    }
    matched = ch != '/' && hit != negate;
    return i;
}

// Backtracking glob matcher over whole strings, memoising failed (pattern, text) positions. A run of stars at pattern
// position p tries its candidate end positions t, t+1, ... in a loop; when that loop fails, every (p, i) it passed is
// marked failed too, and a later loop for the same run stops at the first marked position (its candidates from there
// on were all tried). So each (position, text offset) pair is worked on once: time and memory are
// O(pattern length x text length), and the recursion depth grows with the number of star runs, not the text length.
// (Without that, "*a*a*a...b" against a long name of 'a's took seconds per match: issue #15, found by fuzz/ignore.cpp.)
class GlobMatcher {
public:
    GlobMatcher(std::string_view pattern, std::string_view text) : m_pattern(pattern), m_text(text) {}

    bool try_match(std::size_t p, std::size_t t) {
        if (failed(p, t)) return false;
        const bool ok = match(p, t);
        if (!ok) mark_failed(p, t);
        return ok;
    }

private:
    // The memo is made when the first star is reached: a pattern whose literal prefix already fails costs nothing.
    bool failed(std::size_t p, std::size_t t) const {
        return !m_failed.empty() && m_failed[p * (m_text.size() + 1) + t];
    }
    void mark_failed(std::size_t p, std::size_t t) {
        if (!m_failed.empty()) m_failed[p * (m_text.size() + 1) + t] = true;
    }

    bool match(std::size_t p, std::size_t t) {
        const std::size_t np = m_pattern.size();
        const std::size_t nt = m_text.size();
        while (p < np) {
            const char pc = m_pattern[p];
            if (pc == '*') return match_star(p, t);
            if (t >= nt) return false;
            const char tc = m_text[t];
            if (pc == '?') {
                if (tc == '/') return false;
                ++p;
            } else if (pc == '[') {
                bool matched = false;
                const std::size_t end = match_class(m_pattern, p, tc, matched);
                if (end == npos || !matched) return false;
                p = end;
            } else if (pc == '\\') {
                if (p + 1 >= np || m_pattern[p + 1] != tc) return false;
                p += 2;
            } else {
                if (pc != tc) return false;
                ++p;
            }
            ++t;
        }
        return t == nt;
    }

    // The stars starting at p match text[t, i) for each candidate i in turn (see the class comment for the marks).
    bool match_star(std::size_t p, std::size_t t) {
        const std::size_t np = m_pattern.size();
        const std::size_t nt = m_text.size();
        if (m_failed.empty()) m_failed.assign((np + 1) * (nt + 1), false);
        std::size_t stars_end = p;
        while (stars_end < np && m_pattern[stars_end] == '*') ++stars_end;
        const bool segment_start = p == 0 || m_pattern[p - 1] == '/';
        const bool segment_end = stars_end == np || m_pattern[stars_end] == '/';
        const bool whole_segment = stars_end - p >= 2 && segment_start && segment_end;
        // "**" trailing (or alone): everything that is left, slashes included.
        if (whole_segment && stars_end == np) return true;
        // "**/": zero or more whole directories, i.e. resume at t or at the start of any later segment; an ordinary
        // star (a non-segment "**" acts the same): any run of characters within one segment.
        const std::size_t resume = whole_segment ? stars_end + 1 : stars_end;
        std::size_t i = t;
        for (;;) {
            if (failed(p, i)) break;  // tried from i before: every candidate from i on failed
            if (try_match(resume, i)) return true;
            std::size_t next;
            if (whole_segment) {
                const std::size_t slash = m_text.find('/', i);
                if (slash == npos) break;
                next = slash + 1;
            } else {
                if (i >= nt || m_text[i] == '/') break;
                next = i + 1;
            }
            i = next;
        }
        // Every candidate from t to i failed, so the stars started at any of them fail too.
        for (std::size_t j = t;;) {
            mark_failed(p, j);
            if (j == i) break;
            j = whole_segment ? m_text.find('/', j) + 1 : j + 1;
        }
        return false;
    }

    std::string_view m_pattern;
    std::string_view m_text;
    std::vector<bool> m_failed;  // (pattern position, text position) known not to match; empty until a star
};

// Whether the glob is well formed: no trailing lone '\' and every '[' closed.
bool is_valid_glob(std::string_view glob) {
    for (std::size_t i = 0; i < glob.size();) {
        if (glob[i] == '\\') {
            if (i + 1 >= glob.size()) return false;
            i += 2;
        } else if (glob[i] == '[') {
            bool matched = false;
            const std::size_t end = match_class(glob, i, 'a', matched);
            if (end == npos) return false;
            i = end;
        } else {
            ++i;
        }
    }
    return true;
}

// Drop trailing spaces that are not escaped with '\'.
std::string_view trim_trailing_spaces(std::string_view line) {
    std::size_t keep = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            keep = i + 1;
        } else if (line[i] != ' ') {
            keep = i + 1;
        }
    }
    return line.substr(0, keep);
}

// Strip leading "./" and surrounding '/' from a directory or path; "." becomes "".
std::string_view normalise_path(std::string_view path) {
    while (path.starts_with("./")) path.remove_prefix(2);
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (path == ".") return {};
    return path;
}

bool is_always_ignored_name(std::string_view name) { return name == ".dvt" || name == ".git"; }

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
    GlobMatcher matcher(pattern, text);
    return matcher.try_match(0, 0);
}

bool IgnoreRules::parse_line(std::string_view line, Pattern& out) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') return false;
    line = trim_trailing_spaces(line);
    if (line.empty()) return false;
    out = Pattern{};
    if (line.front() == '!') {
        out.negated = true;
        line.remove_prefix(1);
    }
    if (!line.empty() && line.back() == '/') {
        out.dir_only = true;
        line.remove_suffix(1);
    }
    if (line.find('/') != npos) {
        out.anchored = true;
        if (line.front() == '/') line.remove_prefix(1);
    }
    if (line.empty() || line.size() > kMaxPatternLength || !is_valid_glob(line)) return false;
    out.glob = std::string(line);
    return true;
}

void IgnoreRules::add_file(std::string_view base, std::string_view text) {
    RuleFile file;
    file.base = std::string(normalise_path(base));
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte-order mark
    while (!text.empty()) {
        const std::size_t eol = text.find('\n');
        const std::string_view line = text.substr(0, eol);
        text = eol == npos ? std::string_view{} : text.substr(eol + 1);
        Pattern pattern;
        if (parse_line(line, pattern)) file.patterns.push_back(std::move(pattern));
    }
    m_files.push_back(std::move(file));
}

bool IgnoreRules::matches_rules(std::string_view path, bool is_dir) const {
    for (auto file = m_files.rbegin(); file != m_files.rend(); ++file) {
        std::string_view rel = path;
        if (!file->base.empty()) {
            const std::string_view base = file->base;
            if (path.size() <= base.size() || !path.starts_with(base) || path[base.size()] != '/') continue;
            rel = path.substr(base.size() + 1);
        }
        const std::size_t slash = rel.rfind('/');
        const std::string_view name = slash == npos ? rel : rel.substr(slash + 1);
        for (auto pattern = file->patterns.rbegin(); pattern != file->patterns.rend(); ++pattern) {
            if (pattern->dir_only && !is_dir) continue;
            if (glob_match(pattern->glob, pattern->anchored ? rel : name)) return !pattern->negated;
        }
    }
    return false;
}

bool IgnoreRules::is_ignored(std::string_view path, bool is_dir) const { return decide(path, is_dir, true); }

bool IgnoreRules::is_ignored_in_walk(std::string_view path, bool is_dir) const { return decide(path, is_dir, false); }

bool IgnoreRules::decide(std::string_view path, bool is_dir, bool check_parents) const {
    path = normalise_path(path);
    if (path.empty()) return false;
    // Always-ignored names anywhere in the path.
    for (std::size_t start = 0; start <= path.size();) {
        std::size_t end = path.find('/', start);
        if (end == npos) end = path.size();
        if (is_always_ignored_name(path.substr(start, end - start))) return true;
        start = end + 1;
    }
    // An ignored ancestor directory hides everything below it, as git never looks inside it.
    if (check_parents) {
        for (std::size_t slash = path.find('/'); slash != npos; slash = path.find('/', slash + 1))
            if (matches_rules(path.substr(0, slash), true)) return true;
    }
    return matches_rules(path, is_dir);
}

}  // namespace dvt::util
