"""Build the one C extension, ``dprof._native``, from every file in ``csrc/``.

Extra compiler flags come from ``DPROF_CFLAGS`` (CI sets ``-Werror`` there, and the
sanitizer build sets ``-fsanitize=address,undefined``); nothing is downloaded and no
other build system is called.

Where the extension cannot be built (not Linux, no working C compiler, or
``DPROF_NO_NATIVE=1`` at build time) the pure-Python package is installed instead,
with a warning saying why: dprof then runs on its fallbacks (see
docs/reliability.md, "No C extension needed"). ``DPROF_REQUIRE_NATIVE=1`` turns a
failed build back into an error (CI sets it, so that a broken build is never
shipped quietly).
"""
import glob
import os
import shlex
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

extra_compile_args = ["-std=c11", "-Wall", "-Wextra", "-Wno-missing-field-initializers",
                      "-fno-strict-aliasing", "-D_GNU_SOURCE"]
extra_link_args = ["-pthread"]
extra_compile_args += shlex.split(os.environ.get("DPROF_CFLAGS", ""))
extra_link_args += shlex.split(os.environ.get("DPROF_LDFLAGS", ""))

native = Extension(
    "dprof._native",
    sources=sorted(glob.glob("csrc/*.c")),
    depends=sorted(glob.glob("csrc/*.h")),
    include_dirs=["csrc"],
    extra_compile_args=extra_compile_args,
    extra_link_args=extra_link_args,
    libraries=["dl"],
)


def _flag(name):
    return os.environ.get(name, "").strip() not in ("", "0")


def _warn(why):
    bar = "=" * 78
    sys.stderr.write(f"\n{bar}\nWARNING: dprof is installed WITHOUT its C extension: {why}.\n"
                     "It runs on its pure-Python fallbacks (psutil resource sampler, Python "
                     "stack\nsampler; no allocation counter, memory sampler, cgroup reader "
                     "or built-in\nsort engines). See docs/reliability.md.\n{bar}\n\n"
                     .replace("{bar}", bar))


class OptionalBuildExt(build_ext):
    """build_ext that falls back to the pure-Python package unless told not to."""

    def run(self):
        try:
            super().run()
        except Exception as exc:      # no compiler at all (DistutilsPlatformError, ...)
            self._give_up(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:      # CompileError, LinkError, a compiler that exits 1
            self._give_up(exc)

    def _give_up(self, exc):
        if _flag("DPROF_REQUIRE_NATIVE"):
            raise exc
        _warn(f"building it failed ({type(exc).__name__}: {exc})")


def _skip_reason():
    if _flag("DPROF_NO_NATIVE"):
        return "DPROF_NO_NATIVE is set"
    if not sys.platform.startswith("linux"):
        return f"it reads /proc and builds on Linux only (this is {sys.platform})"
    return None


skip = _skip_reason()
if skip is not None:
    if _flag("DPROF_REQUIRE_NATIVE"):
        sys.exit(f"DPROF_REQUIRE_NATIVE is set but the extension cannot be built: {skip}")
    _warn(skip)
    setup()
else:
    setup(ext_modules=[native], cmdclass={"build_ext": OptionalBuildExt})
