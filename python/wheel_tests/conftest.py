"""The wheel's tests run in a fresh virtual environment where only the installed
wheel provides faultline (scripts/test sets it up): a small C library compiled
here, and a time limit on every test."""
import os
import pathlib
import sys
import subprocess

import pytest

LIBRARY_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes through NULL: its own frame, so that a walked backtrace names it and its caller. */
__attribute__((noinline)) int wheel_fault(int x) {
    *(volatile int *)0 = x;
    return x;
}

/* x < 0: SIGSEGV at 0x0; x == 0: abort(); x >= 100: exit(x - 100); else x * x. */
int mixed(int x) {
    if (x < 0) return wheel_fault(x) + 1;
    if (x == 0) abort();
    if (x >= 100) exit(x - 100);
    return x * x;
}

static int mapped(const char *name, const char *inside) {
    char line[4096];
    int found = -1;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL) return -2;
    while (fgets(line, sizeof line, maps) != NULL) {
        if (strstr(line, name) == NULL) continue;
        found = strstr(line, inside) != NULL;
        if (found) break;
    }
    fclose(maps);
    return found;
}

static int running(const char *suffix) {
    char path[4096];
    ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
    if (length < 0) return -1;
    path[length] = 0;
    size_t n = strlen(suffix);
    return (size_t)length >= n && strcmp(path + length - n, suffix) == 0;
}

/* Where this process got its pieces from: 1 the wheel, 0 elsewhere, -1 not there.
   0: libunwind, 1: libffi, 2: the program is the wheel's faultline-helper, 3: its faultline. */
int from_wheel(int what) {
    switch (what) {
    case 0: return mapped("libunwind", "/site-packages/faultline/_lib/libunwind.so.8");
    case 1: return mapped("libffi", "/site-packages/faultline.libs/libffi");
    case 2: return running("/site-packages/faultline/_bin/faultline-helper");
    case 3: return running("/site-packages/faultline/_bin/faultline");
    default: return -3;
    }
}
"""


@pytest.fixture(scope="session")
def library(tmp_path_factory):
    """libwheeltest.so, compiled with the machine's cc."""
    folder = tmp_path_factory.mktemp("library")
    (folder / "wheeltest.c").write_text(LIBRARY_SOURCE)
    path = folder / "libwheeltest.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-fno-omit-frame-pointer", "-o", str(path),
                    str(folder / "wheeltest.c")], check=True, timeout=120)
    return str(path)


def pytest_configure(config):
    config.addinivalue_line("markers", "alarm(seconds): this test's time limit (default 60 s)")


sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from time_limit import time_limit_fixture  # noqa: E402

time_limit = time_limit_fixture(60)
