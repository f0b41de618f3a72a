"""Build lenet's extension: the Cython binding src/lenet/engine/_core.pyx with the C core in csrc/.

OpenMP is found by compiling and linking a tiny test program with each candidate flag set:
-fopenmp (gcc, clang), /openmp (MSVC), -Xpreprocessor -fopenmp -lomp (Apple clang with
libomp). When none works the build goes on serially and says so in one warning line.
Floating-point contraction (a * b + c fused into one rounding) is off: -ffp-contract=off
(clang, GCC off x86-64), /fp:precise (MSVC), so that every path through the core gives the same
bits under every compiler. GCC on x86-64 keeps its own default, -ffp-contract=fast: the AVX2/FMA
versions of its hot loops fuse there, and their results stay what they have always been.
Environment switches:
    LENET_NO_OPENMP=1     build serially even where OpenMP works
    LENET_MARCH_NATIVE=1  tune for this machine's CPU (local builds only: the result may not
                          run on another processor)
    LENET_NO_DISPATCH=1   compile the hot loops for any x86-64 CPU only, without the AVX2/FMA
                          versions chosen at load time (to test the portable path)
    LENET_DEBUG=1         keep debug information in the extension (a release build leaves it
                          out: -g0, about a fifth of the size)
    LENET_SANITIZE=1      instrument the extension with AddressSanitizer and UndefinedBehavior-
                          Sanitizer (for .ci/sanitize, which also says how to load it: Python
                          itself is not instrumented, so the ASan runtime must be preloaded)
"""

import os
import shlex
import shutil
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

C_SOURCES = [
    "conv.c",
    "pool.c",
    "dense.c",
    "activation.c",
    "rbf.c",
    "loss.c",
    "optim.c",
    "network.c",
    "threads.c",
    "drawing.c",
]

# LENET_SANITIZE=1: every out-of-bounds access and undefined behaviour (with a float converted
# to an int it does not fit, a NaN say, which "undefined" alone leaves out) aborts at once
# (-fno-sanitize-recover), with a readable stack (-g, frame pointers, and -O1, which inlines
# little and keeps every access the source makes). -O1 also halves the time the instrumented
# binding takes to compile; the optimised loops' results are what the ordinary builds test.
# -fno-wrapv (above) stays: with -fwrapv UBSan would not look for signed overflow.
SANITIZE_FLAGS = [
    "-fsanitize=address,undefined,float-cast-overflow",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g",
    "-O1",
]

OPENMP_TEST = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n > 0 && omp_get_max_threads() > 0 ? 0 : 1;
}
"""


def _homebrew_libomp():
    """Apple clang has no OpenMP runtime of its own; Homebrew's libomp supplies one."""
    for prefix in ("/opt/homebrew/opt/libomp", "/usr/local/opt/libomp"):
        if os.path.isdir(prefix):
            return (
                ["-Xpreprocessor", "-fopenmp", f"-I{prefix}/include"],
                [f"-L{prefix}/lib", "-lomp", f"-Wl,-rpath,{prefix}/lib"],
            )
    return (["-Xpreprocessor", "-fopenmp"], ["-lomp"])


def _openmp_candidates(compiler_type):
    if compiler_type == "msvc":
        return [(["/openmp"], [])]
    candidates = [(["-fopenmp"], ["-fopenmp"])]
    if sys.platform == "darwin":
        candidates.append(_homebrew_libomp())
    return candidates


# compiles only with GCC (not clang, which also defines __GNUC__) for x86-64
GCC_X86_64_TEST = r"""
#if !defined(__GNUC__) || defined(__clang__) || !defined(__x86_64__)
#error not GCC for x86-64
#endif
int main(void) { return 0; }
"""


def _compiles(compiler, program):
    """Does this compiler compile the test program?"""
    tmp = tempfile.mkdtemp(prefix="lenet-cc-")
    try:
        source = os.path.join(tmp, "cc_test.c")
        with open(source, "w") as f:
            f.write(program)
        compiler.compile([source], output_dir=tmp)
        return True
    except Exception:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _links_with(compiler, compile_flags, link_flags):
    """Can this compiler build and link the OpenMP test program with these flags?"""
    tmp = tempfile.mkdtemp(prefix="lenet-omp-")
    try:
        source = os.path.join(tmp, "omp_test.c")
        with open(source, "w") as f:
            f.write(OPENMP_TEST)
        objects = compiler.compile([source], output_dir=tmp, extra_postargs=compile_flags)
        # the environment's LDFLAGS too: flags in CFLAGS (sanitizers, coverage) may need them
        ldflags = shlex.split(os.environ.get("LDFLAGS", ""))
        compiler.link_executable(
            objects, "omp_test", output_dir=tmp, extra_postargs=link_flags + ldflags
        )
        return True
    except Exception:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    """build_ext that adds OpenMP flags when the compiler at hand can use them."""

    def build_extensions(self):
        compile_flags, link_flags = self._openmp_flags()
        if self.compiler.compiler_type == "msvc":
            # /fp:precise: no contraction (MSVC's default, said here so that it stays)
            compile_flags = compile_flags + ["/O2", "/fp:precise"]
        else:
            # the contraction rule (see the top of this file)
            if _compiles(self.compiler, GCC_X86_64_TEST):
                compile_flags = compile_flags + ["-ffp-contract=fast"]
            else:
                compile_flags = compile_flags + ["-ffp-contract=off"]
            # Python's own CFLAGS carry -fwrapv, which makes signed index arithmetic wrap and
            # stops GCC from vectorising the kernels' loops (measured: 6x slower convolutions);
            # the core never relies on signed overflow.
            # -fno-trapping-math (no code looks at floating-point exception flags) lets GCC
            # vectorise loops with selects around a division, like the float tanh.
            compile_flags = compile_flags + ["-O3", "-fno-wrapv", "-fno-trapping-math"]
            if os.environ.get("LENET_MARCH_NATIVE") == "1":
                compile_flags.append("-march=native")
            if os.environ.get("LENET_NO_DISPATCH") == "1":
                compile_flags.append("-DLENET_NO_DISPATCH")
            if os.environ.get("LENET_SANITIZE") == "1":
                compile_flags = compile_flags + SANITIZE_FLAGS
                link_flags = link_flags + SANITIZE_FLAGS
            elif os.environ.get("LENET_DEBUG") != "1":
                # Python's own CFLAGS ask for debug information (-g); a release build drops it
                # (the last -g flag wins)
                compile_flags.append("-g0")
        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args or []) + compile_flags
            ext.extra_link_args = list(ext.extra_link_args or []) + link_flags
        super().build_extensions()

    def _openmp_flags(self):
        if os.environ.get("LENET_NO_OPENMP") == "1":
            print("lenet: LENET_NO_OPENMP=1, building the C core serially")
            return [], []
        for compile_flags, link_flags in _openmp_candidates(self.compiler.compiler_type):
            if _links_with(self.compiler, compile_flags, link_flags):
                return compile_flags, link_flags
        self.warn(
            "lenet: no working OpenMP found for this compiler; "
            "building the C core serially (one thread); see docs/install.md"
        )
        return [], []


extension = Extension(
    "lenet.engine._core",
    sources=["src/lenet/engine/_core.pyx"] + [os.path.join("csrc", name) for name in C_SOURCES],
    include_dirs=["csrc", numpy.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
)

setup(
    ext_modules=cythonize([extension], language_level=3),
    cmdclass={"build_ext": BuildExt},
)
