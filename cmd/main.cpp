// The dvt binary: everything lives in libdvt; this only hands over argv.
#include <iostream>

#include "cmd/cli.hpp"

int main(int argc, char** argv) { return dvt::cmd::run(argc, argv, std::cout, std::cerr); }
