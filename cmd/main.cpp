// The dvt binary: everything lives in libdvt; this raises the open-file limit and hands over argv.
#include <iostream>

#include "cmd/cli.hpp"
#include "util/fs.hpp"

int main(int argc, char** argv) {
    dvt::util::raise_open_file_limit();  // a bonus: dvt works within 1,024 descriptors without it
    return dvt::cmd::run(argc, argv, std::cout, std::cerr);
}
