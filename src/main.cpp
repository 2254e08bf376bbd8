#include "cli/app.hpp"

int main(int argc, char** argv) { return nself::cli::run(argc, argv); }
