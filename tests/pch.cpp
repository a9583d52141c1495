// Precompiled headers for the test binaries are built here once and reused by all.
