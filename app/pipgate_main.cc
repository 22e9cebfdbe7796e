#include "app/cli.h"

int main(int argc, char** argv) { return pipgate::app::run_cli(argc, argv); }
