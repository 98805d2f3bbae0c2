"""Build the one C extension, ``dprof._native``, from every file in ``csrc/``.

Extra compiler flags come from ``DPROF_CFLAGS`` (CI sets ``-Werror`` there, and the
sanitizer build sets ``-fsanitize=address,undefined``); nothing is downloaded and no
other build system is called.
"""
import glob
import os
import shlex

from setuptools import Extension, setup

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

setup(ext_modules=[native])
