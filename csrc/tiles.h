/*
 * tiles.h -- vector types for the kernels' register tiles, over `real`.
 *
 * A kernel source includes this at the top of its part written over `real`, so it is read once
 * for float and once for double; it has no include guard.
 *
 * A register tile keeps several vectors of partial sums in registers while it streams over the
 * inputs, instead of loading and storing a sum for every multiply-add. GCC and clang get vector
 * types of one AVX register (8 floats or 4 doubles): the portable build splits them into SSE
 * halves, the AVX2 build (LENET_DISPATCH) keeps them whole. Other compilers get plain arrays of
 * LENET_LANES values with the same order of operations, so every tile gives the same sums.
 *
 * Every sum a tile computes has one fixed order, whichever tile, thread or batch split it falls
 * in: LENET_LANES interleaved partial sums, each added in the order of its terms, then those
 * partial sums in one fixed tree (lane_sum). So no result depends on the thread count.
 */

#if defined(__GNUC__) || defined(__clang__)
#ifndef LENET_VECTOR_TILES
#define LENET_VECTOR_TILES 1
#endif
/* one AVX register of reals, and the same read from or written to any real's address */
typedef real LENET_FN(vec) __attribute__((vector_size(32)));
typedef real LENET_FN(uvec) __attribute__((vector_size(32), aligned(sizeof(real)), may_alias));
#else
#ifndef LENET_VECTOR_TILES
#define LENET_VECTOR_TILES 0
#endif
#endif

/* reals in a vector (8 in the plain arrays of other compilers, for both types) */
#undef LENET_LANES
#if LENET_VECTOR_TILES && !LENET_IS_FLOAT
#define LENET_LANES 4
#else
#define LENET_LANES 8
#endif

#if LENET_VECTOR_TILES
/* v = p[0 .. L-1], p[0 .. L-1] = v, and every lane = s (an initialiser, not 0 + s, which
 * would turn -0 into +0 and cost an addition) */
#define LENET_VLOAD(p) (*(const LENET_FN(uvec) *)(p))
#define LENET_VSTORE(p, v) (*(LENET_FN(uvec) *)(p) = (v))
#undef LENET_VSPLAT
#if LENET_LANES == 8
#define LENET_VSPLAT(s) ((LENET_FN(vec)){(s), (s), (s), (s), (s), (s), (s), (s)})
#else
#define LENET_VSPLAT(s) ((LENET_FN(vec)){(s), (s), (s), (s)})
#endif
#endif

/* Half vectors: at level 0 on x86-64 (SSE2, sixteen 16-byte registers) the tiles run on
 * vectors of half the width, LENET_LANES / 2 reals, and sized for those registers
 * (LENET_HALVES(level)). GCC cannot keep a 32-byte vector in two SSE registers: without AVX it
 * keeps each one in memory and loads and stores its halves around every operation (measured:
 * the modern net's C3 60x slower than with AVX2). A sum's order does not depend on the width:
 * a position summed alone is summed alone, and lane l of L interleaved partial sums is the lane
 * l % (L/2) of half l / (L/2). */
#if LENET_VECTOR_TILES && defined(__x86_64__) && !defined(__AVX__)
#define LENET_HALF_TILES 1
#define LENET_HALVES(level) ((level) == 0)
typedef real LENET_FN(hvec) __attribute__((vector_size(16)));
typedef real LENET_FN(uhvec) __attribute__((vector_size(16), aligned(sizeof(real)), may_alias));
#define LENET_HLOAD(p) (*(const LENET_FN(uhvec) *)(p))
#define LENET_HSTORE(p, v) (*(LENET_FN(uhvec) *)(p) = (v))
#undef LENET_HSPLAT
#if LENET_LANES == 8
#define LENET_HSPLAT(s) ((LENET_FN(hvec)){(s), (s), (s), (s)})
#else
#define LENET_HSPLAT(s) ((LENET_FN(hvec)){(s), (s)})
#endif
#else
#define LENET_HALF_TILES 0
#define LENET_HALVES(level) 0
#endif
/* reals in a vector of the tiles at this level */
#define LENET_VL(level) (LENET_HALVES(level) ? LENET_LANES / 2 : LENET_LANES)

/* LENET_KEEP(v): keep the loaded vector v in a register. A vector loaded once for several
 * multiply-adds would otherwise be folded back into each of them as a memory operand, a load
 * each: the loads, not the multiply-adds, then set the pace (measured: 10 cycles instead of 6 for
 * ten multiply-adds sharing five shifted loads). An empty asm statement that "changes" v; it
 * emits no instruction. GCC accepts it for any x86 build (it splits v into SSE registers
 * otherwise); clang only where AVX is enabled, where v fits one register. */
#if LENET_VECTOR_TILES && (defined(__x86_64__) || defined(__i386__)) && \
    ((defined(__GNUC__) && !defined(__clang__)) || defined(__AVX__))
#define LENET_KEEP(v) __asm__("" : "+x"(v))
#else
#define LENET_KEEP(v) ((void)0)
#endif

/* The sum of L partial sums, in one fixed tree. */
LENET_INLINE real LENET_FN(lane_sum)(const real *a)
{
#if LENET_LANES == 8
    return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
#else
    return (a[0] + a[2]) + (a[1] + a[3]);
#endif
}
