/* FPU: every arithmetic, multiply-add, conversion, compare and move
 * instruction the 750 has, with the record form, over edge inputs
 * (zeros, denormals, infinities, quiet and signalling NaNs, values that
 * round or overflow in single precision) in each rounding mode.
 * FPSCR is reset to just the rounding mode before each operation, so
 * every line shows exactly the bits that operation set.
 * Prints: op rn a b [c] -> result(hi lo) fpscr cr */
#include "rt.h"

static const u64 vals[] = {
	0x0000000000000000ull, /* +0 */
	0x8000000000000000ull, /* -0 */
	0x3ff0000000000000ull, /* 1 */
	0xbff8000000000000ull, /* -1.5 */
	0x3fd5555555555555ull, /* 1/3 */
	0x4004000000000000ull, /* 2.5 */
	0x000fffffffffffffull, /* largest denormal */
	0x8000000000000001ull, /* -smallest denormal */
	0x7fefffffffffffffull, /* DBL_MAX */
	0x47efffffe0000000ull, /* FLT_MAX */
	0x47effffff0000000ull, /* rounds to FLT_MAX or overflows */
	0x3690000000000001ull, /* single denormal range */
	0x41dfffffffc00000ull, /* 2^31 - 1 */
	0xc1e0000000100000ull, /* -2^31 - 0.5 */
	0x7ff0000000000000ull, /* +inf */
	0xfff0000000000000ull, /* -inf */
	0x7ff8000000000001ull, /* qNaN */
	0xfff4000000000002ull, /* sNaN */
};
#define NV N_ELEMS(vals)

/* A short set for three-operand ops. */
static const u64 vals3[] = {
	0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull,
	0x3fd5555555555555ull, 0x000fffffffffffffull, 0x7fefffffffffffffull,
	0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000001ull,
	0xfff4000000000002ull, 0xbcb0000000000000ull,
};
#define NV3 N_ELEMS(vals3)

/* Runs "insn" with FPSCR = rn, reads the result, FPSCR and CR. */
#define FBODY(insn, ...)                                                       \
	double d, fs;                                                          \
	u32 c;                                                                 \
	asm volatile("mtfsf 0xff, %3\n\tmtcrf 0xff, %4\n\t" insn "\n\t"         \
		     "mffs %1\n\tmfcr %2"                                       \
		     : "=&d"(d), "=&d"(fs), "=&r"(c)                             \
		     : "d"(u2f(rn)), "r"(0), __VA_ARGS__                         \
		     : "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); \
	out[0] = f2u(d);                                                       \
	out[1] = f2u(fs);                                                      \
	out[2] = c;

#define F1(fn, op) static void fn(u64 rn, u64 a, u64 b, u64 c_, u64 *out) \
	{ (void)b; (void)c_; FBODY(op " %0, %5", "d"(u2f(a))) }
#define F2(fn, op) static void fn(u64 rn, u64 a, u64 b, u64 c_, u64 *out) \
	{ (void)c_; FBODY(op " %0, %5, %6", "d"(u2f(a)), "d"(u2f(b))) }
#define F3(fn, op) static void fn(u64 rn, u64 a, u64 b, u64 c_, u64 *out) \
	{ FBODY(op " %0, %5, %6, %7", "d"(u2f(a)), "d"(u2f(b)), "d"(u2f(c_))) }
/* Compares write a CR field, not an FPR: d is left as an input copy. */
#define FC(fn, op) static void fn(u64 rn, u64 a, u64 b, u64 c_, u64 *out) \
	{ (void)c_; FBODY("fmr %0, %5\n\t" op " %5, %6", "d"(u2f(a)), "d"(u2f(b))) }

#define F1R(base) F1(t_##base, #base) F1(t_##base##_r, #base ".")
#define F2R(base) F2(t_##base, #base) F2(t_##base##_r, #base ".")
#define F3R(base) F3(t_##base, #base) F3(t_##base##_r, #base ".")

F2R(fadd) F2R(fadds) F2R(fsub) F2R(fsubs) F2R(fmul) F2R(fmuls)
F2R(fdiv) F2R(fdivs)
F3R(fmadd) F3R(fmadds) F3R(fmsub) F3R(fmsubs) F3R(fnmadd) F3R(fnmadds)
F3R(fnmsub) F3R(fnmsubs) F3R(fsel)
F1R(fres) F1R(frsqrte) F1R(frsp) F1R(fctiw) F1R(fctiwz)
F1R(fabs) F1R(fnabs) F1R(fneg) F1R(fmr)
FC(t_fcmpu, "fcmpu 3,") FC(t_fcmpo, "fcmpo 5,")

typedef void (*f_fn)(u64, u64, u64, u64, u64 *);
struct op {
	const char *name;
	f_fn fn;
	int arity;
};
#define R1(b) { #b, t_##b, 1 }, { #b ".", t_##b##_r, 1 }
#define R2(b) { #b, t_##b, 2 }, { #b ".", t_##b##_r, 2 }
#define R3(b) { #b, t_##b, 3 }, { #b ".", t_##b##_r, 3 }
static const struct op ops[] = {
	R2(fadd), R2(fadds), R2(fsub), R2(fsubs), R2(fmul), R2(fmuls),
	R2(fdiv), R2(fdivs),
	R3(fmadd), R3(fmadds), R3(fmsub), R3(fmsubs), R3(fnmadd), R3(fnmadds),
	R3(fnmsub), R3(fnmsubs), R3(fsel),
	R1(fres), R1(frsqrte), R1(frsp), R1(fctiw), R1(fctiwz),
	R1(fabs), R1(fnabs), R1(fneg), R1(fmr),
	{ "fcmpu", t_fcmpu, 2 }, { "fcmpo", t_fcmpo, 2 },
};

static void line(const char *name, u64 rn, const u64 *in, int n, const u64 *out)
{
	u32 r[12];
	int k = 0;
	r[k++] = (u32)rn;
	for (int i = 0; i < n; i++) {
		r[k++] = (u32)(in[i] >> 32);
		r[k++] = (u32)in[i];
	}
	r[k++] = (u32)(out[0] >> 32);
	r[k++] = (u32)out[0];
	r[k++] = (u32)out[1];
	r[k++] = out[2];
	put_line(name, k, r);
}

/* The FPSCR control instructions, and sticky bits accumulating over a
 * sequence (FX set only on a new exception, VX summarising VX*). */
static void fpscr_ops(void)
{
	u64 out[3];
	double fs;
	u32 c;

#define FPSCR_SEQ(name, seq)                                                   \
	asm volatile("mtfsf 0xff, %2\n\tmtcrf 0xff, %3\n\t" seq "\n\tmffs %0\n\tmfcr %1" \
		     : "=&d"(fs), "=&r"(c)                                       \
		     : "d"(u2f(0)), "r"(0)                                       \
		     : "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); \
	out[0] = 0;                                                            \
	out[1] = f2u(fs);                                                      \
	out[2] = c;                                                            \
	line(name, 0, 0, 0, out);

	FPSCR_SEQ("mtfsfi-rn", "mtfsfi 7, 3")
	FPSCR_SEQ("mtfsfi-ox", "mtfsfi 0, 1")
	FPSCR_SEQ("mtfsfi-fx", "mtfsfi 0, 8")
	FPSCR_SEQ("mtfsfi.", "mtfsfi. 1, 0xf")
	FPSCR_SEQ("mtfsb1-vxsnan", "mtfsb1 7")
	FPSCR_SEQ("mtfsb1.-vxzdz", "mtfsb1. 10")
	FPSCR_SEQ("mtfsb1-fx", "mtfsb1 0")
	FPSCR_SEQ("mtfsb0-fx", "mtfsb1 7\n\tmtfsb0 0")
	FPSCR_SEQ("mtfsb0.-vxsnan", "mtfsb1 7\n\tmtfsb0. 7")
	FPSCR_SEQ("mtfsb1-vx", "mtfsb1 2")
	FPSCR_SEQ("mtfsb1-fex", "mtfsb1 1")
	FPSCR_SEQ("mcrfs", "mtfsb1 3\n\tmtfsb1 7\n\tmtfsb1 19\n\tmcrfs 2, 0\n\tmcrfs 3, 1\n\tmcrfs 4, 4")
	FPSCR_SEQ("mcrfs-vxsoft", "mtfsb1 21\n\tmcrfs 6, 5")
	FPSCR_SEQ("mffs.", "mtfsb1 3\n\tmffs. %0")
	/* FX is set only by a new exception bit, not by one already set. */
	FPSCR_SEQ("fx-sticky", "mtfsb1 3\n\tmtfsb0 0\n\tmtfsb1 3")
}

static void mtfsf_masks(void)
{
	static const u64 srcs[] = { 0x00000000ffffff00ull, 0xfff80000aaaaaa00ull, 0x0000000055555503ull };
	static const u32 masks[] = { 0x01, 0x80, 0x7e, 0x3c, 0xfe };
	for (unsigned i = 0; i < N_ELEMS(srcs); i++)
		for (unsigned m = 0; m < N_ELEMS(masks); m++) {
			double fs;
			u32 c;
			/* Field 7 (enables/RN) is left alone so no trap is enabled. */
			switch (masks[m]) {
#define MT(mask) case mask: asm volatile("mtfsf 0xff, %2\n\tmtcrf 0xff, %4\n\tmtfsf. " #mask ", %3\n\tmffs %0\n\tmfcr %1" \
		: "=&d"(fs), "=&r"(c) : "d"(u2f(0)), "d"(u2f(srcs[i])), "r"(0) \
		: "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); break;
			MT(0x01) MT(0x80) MT(0x7e) MT(0x3c) MT(0xfe)
			default:
				fs = 0;
				c = 0;
			}
			u64 out[3] = { srcs[i], f2u(fs), c };
			u64 in = masks[m];
			line("mtfsf.", 0, &in, 1, out);
		}
}

int main(void)
{
	for (u64 rn = 0; rn < 4; rn++)
		for (unsigned o = 0; o < N_ELEMS(ops); o++) {
			const struct op *op = &ops[o];
			u64 in[3], out[3];
			const u64 *v = op->arity == 3 ? vals3 : vals;
			unsigned n = op->arity == 3 ? NV3 : NV;
			/* Rounding modes only matter for rounding ops: moves once. */
			if (rn && (op->fn == t_fabs || op->fn == t_fneg || op->fn == t_fmr ||
				   op->fn == t_fnabs || op->fn == t_fsel))
				continue;
			for (unsigned i = 0; i < n; i++)
				for (unsigned j = 0; j < (op->arity > 1 ? n : 1); j++)
					for (unsigned k = 0; k < (op->arity > 2 ? n : 1); k++) {
						in[0] = v[i];
						in[1] = v[j];
						in[2] = v[k];
						op->fn(rn, in[0], in[1], in[2], out);
						line(op->name, rn, in, op->arity, out);
					}
		}
	fpscr_ops();
	mtfsf_masks();
	return 0;
}
