# SPDX-License-Identifier: MIT
"""The C extension shmbus._shmbus, linked against libbus.

Where libbus comes from, first found wins:
  SHMBUS_BUILD_DIR   a CMake build tree of this repository (its libbus/
                     and the source tree's include/), with an RPATH to it
  pkg-config bus     an installed libbus (cmake --install)
"""
import os
import shlex
import subprocess

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = sorted(os.path.join("src", name)
                 for name in os.listdir(os.path.join(HERE, "src"))
                 if name.endswith(".c"))


def source_of(build):
    """The source tree a CMake build tree was configured from."""
    with open(os.path.join(build, "CMakeCache.txt")) as cache:
        for line in cache:
            if line.startswith("CMAKE_HOME_DIRECTORY:"):
                return line.split("=", 1)[1].strip()
    raise SystemExit(f"{build}: no CMAKE_HOME_DIRECTORY in CMakeCache.txt")


def from_build_tree(build):
    build = os.path.abspath(build)
    libdir = os.path.join(build, "libbus")
    if not os.path.exists(os.path.join(libdir, "libbus.so")):
        raise SystemExit(f"SHMBUS_BUILD_DIR={build}: no libbus/libbus.so "
                         "there; build the repository with CMake first")
    return dict(include_dirs=[os.path.join(source_of(build), "include")],
                library_dirs=[libdir], runtime_library_dirs=[libdir],
                libraries=["bus"])


def from_pkg_config():
    try:
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "bus"],
                               capture_output=True, text=True, check=True)
        libdir = subprocess.run(["pkg-config", "--variable=libdir", "bus"],
                                capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit("shmbus: libbus not found: install it (cmake "
                         "--install build) so that `pkg-config bus` "
                         "works, or set SHMBUS_BUILD_DIR to a CMake "
                         "build directory of shmbus")
    libdir = os.path.normpath(libdir) if libdir else ""
    options = dict(include_dirs=[], library_dirs=[], libraries=[],
                   runtime_library_dirs=[libdir] if libdir else [])
    for flag in shlex.split(flags.stdout):
        if flag.startswith("-I"):
            options["include_dirs"].append(flag[2:])
        elif flag.startswith("-L"):
            options["library_dirs"].append(flag[2:])
        elif flag.startswith("-l"):
            options["libraries"].append(flag[2:])
    return options


build_dir = os.environ.get("SHMBUS_BUILD_DIR")
libbus = from_build_tree(build_dir) if build_dir else from_pkg_config()

setup(ext_modules=[Extension(
    "shmbus._shmbus", SOURCES,
    define_macros=[("_GNU_SOURCE", None)],
    extra_compile_args=["-std=gnu11", "-fvisibility=hidden"],
    **libbus)])
