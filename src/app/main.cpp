// s1pilot: thin main; subcommands live in the library and src/app/*.cpp.
#include <cstdio>

int main() {
    std::puts("s1pilot " S1PILOT_VERSION);
    return 0;
}
