// The driver that replays fuzz corpora without libFuzzer (docs/fuzzing.md): CTest runs each target, built with the
// normal compiler, over its checked-in corpus (fuzz/corpus/<target>/).
//
//   dvt_fuzz_<target> [--require-accepted] FILE|DIR...
//
// Arguments are files or directories (read recursively, in name order). A crash, an abort from a broken property or
// an exception other than dvt::Error ends the process; the input being replayed is named on stderr first. No input
// at all is a failure too, so a lost corpus does not pass silently, and with --require-accepted so is a corpus none
// of whose inputs the decoder accepts (a format changed and the corpus was not regenerated).
#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include "fuzz/fuzz.hpp"

namespace fs = std::filesystem;

namespace {

std::string g_current;

void on_fatal_signal(int sig) {
    const char prefix[] = "dvt fuzz replay: crashed on input ";
    (void)!::write(2, prefix, sizeof prefix - 1);
    (void)!::write(2, g_current.data(), g_current.size());
    (void)!::write(2, "\n", 1);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

}  // namespace

int main(int argc, char** argv) {
    int first = 1;
    bool require_accepted = false;
    if (argc > 1 && std::strcmp(argv[1], "--require-accepted") == 0) {
        require_accepted = true;
        ++first;
    }
    if (argc <= first) {
        std::fprintf(stderr, "usage: %s [--require-accepted] FILE|DIR...\n", argv[0]);
        return 2;
    }
    std::vector<fs::path> inputs;
    for (int i = first; i < argc; ++i) {
        fs::path p = argv[i];
        std::error_code ec;
        if (fs::is_directory(p, ec)) {
            for (const auto& e : fs::recursive_directory_iterator(p))
                if (e.is_regular_file()) inputs.push_back(e.path());
        } else if (fs::is_regular_file(p, ec)) {
            inputs.push_back(p);
        } else {
            std::fprintf(stderr, "%s: no such file or directory\n", argv[i]);
            return 2;
        }
    }
    std::sort(inputs.begin(), inputs.end());
    if (inputs.empty()) {
        std::fprintf(stderr, "no inputs to replay\n");
        return 1;
    }
    for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_fatal_signal);
    std::uint64_t bytes = 0, taken = 0;
    for (const auto& p : inputs) {
        g_current = p.string();
        std::ifstream in(p, std::ios::binary);
        std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in.good() && !in.eof()) {
            std::fprintf(stderr, "%s: cannot read\n", g_current.c_str());
            return 2;
        }
        bytes += data.size();
        const auto before = dvt::fuzz::accepted_count;
        LLVMFuzzerTestOneInput(data.data(), data.size());
        if (dvt::fuzz::accepted_count != before) ++taken;
    }
    std::printf("replayed %zu inputs (%llu bytes), %llu accepted by the decoder\n", inputs.size(),
                static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(taken));
    if (require_accepted && taken == 0) {
        std::fprintf(stderr, "no input was accepted: regenerate the corpus (fuzz/make_corpus.sh)?\n");
        return 1;
    }
    return 0;
}
