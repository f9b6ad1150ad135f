/* Rotates and shifts: rlwinm/rlwnm/rlwimi with record forms over many
 * shift and mask choices, slw/srw/sraw/srawi with XER[CA] and shift
 * amounts past 31. Prints: op a b xer_in -> d xer_out cr_out */
#include "rt.h"

static const u32 vals[] = {
	0x00000000, 0x00000001, 0x7fffffff, 0x80000000, 0x80000001,
	0xffffffff, 0x12345678, 0xedcba987, 0x0000ffff, 0xffff0000,
};
static const u32 shifts[] = { 0, 1, 7, 16, 31, 32, 33, 63, 64, 0xffffffe1 };

#define BODY(insn, inputs)                                                     \
	u32 d, x, c;                                                           \
	asm volatile("mtxer %5\n\tmtcrf 0xff, %6\n\t" insn "\n\t"              \
		     "mfxer %1\n\tmfcr %2"                                      \
		     : "=&r"(d), "=&r"(x), "=&r"(c)                              \
		     : "r"(a), "r"(b), "r"(xer), "r"(0xa5a5a5a5)                 \
		     : "xer", "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); \
	out[0] = d;                                                            \
	out[1] = x;                                                            \
	out[2] = c;

#define OPX(fn, insn) \
	static void fn(u32 a, u32 b, u32 xer, u32 *out) { BODY(insn, 0) }
/* rlwimi reads its destination: seed it with b. */
#define OPM(fn, insn)                                                          \
	static void fn(u32 a, u32 b, u32 xer, u32 *out)                        \
	{                                                                      \
		u32 d = b, x, c;                                               \
		asm volatile("mtxer %4\n\tmtcrf 0xff, %5\n\t" insn "\n\t"      \
			     "mfxer %1\n\tmfcr %2"                              \
			     : "+&r"(d), "=&r"(x), "=&r"(c)                      \
			     : "r"(a), "r"(xer), "r"(0xa5a5a5a5)                 \
			     : "xer", "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); \
		out[0] = d;                                                    \
		out[1] = x;                                                    \
		out[2] = c;                                                    \
	}

OPX(t_slw, "slw %0, %3, %4") OPX(t_slw_r, "slw. %0, %3, %4")
OPX(t_srw, "srw %0, %3, %4") OPX(t_srw_r, "srw. %0, %3, %4")
OPX(t_sraw, "sraw %0, %3, %4") OPX(t_sraw_r, "sraw. %0, %3, %4")
OPX(t_rlwnm, "rlwnm %0, %3, %4, 0, 31") OPX(t_rlwnm2_r, "rlwnm. %0, %3, %4, 4, 27")
OPX(t_rlwnm3, "rlwnm %0, %3, %4, 28, 3") OPX(t_rlwnm4_r, "rlwnm. %0, %3, %4, 31, 31")
OPX(t_srawi0, "srawi %0, %3, 0") OPX(t_srawi1_r, "srawi. %0, %3, 1")
OPX(t_srawi16, "srawi %0, %3, 16") OPX(t_srawi31_r, "srawi. %0, %3, 31")
OPX(t_rlwinm0, "rlwinm %0, %3, 0, 0, 31") OPX(t_rlwinm1_r, "rlwinm. %0, %3, 1, 0, 30")
OPX(t_rlwinm2, "rlwinm %0, %3, 31, 1, 31") OPX(t_rlwinm3_r, "rlwinm. %0, %3, 8, 24, 7")
OPX(t_rlwinm4, "rlwinm %0, %3, 13, 5, 5") OPX(t_rlwinm5_r, "rlwinm. %0, %3, 16, 16, 15")
OPX(t_rlwinm6, "rlwinm %0, %3, 3, 30, 2") OPX(t_rlwinm7_r, "rlwinm. %0, %3, 24, 0, 0")
OPM(t_rlwimi0, "rlwimi %0, %3, 0, 0, 31") OPM(t_rlwimi1_r, "rlwimi. %0, %3, 4, 0, 27")
OPM(t_rlwimi2, "rlwimi %0, %3, 28, 8, 3") OPM(t_rlwimi3_r, "rlwimi. %0, %3, 16, 12, 19")
OPM(t_rlwimi4, "rlwimi %0, %3, 31, 31, 31") OPM(t_rlwimi5_r, "rlwimi. %0, %3, 1, 1, 0")

struct op {
	const char *name;
	void (*fn)(u32, u32, u32, u32 *);
	int shift; /* b is a shift amount */
};
#define S(n, f) { n, f, 1 }
#define V(n, f) { n, f, 0 }
static const struct op ops[] = {
	S("slw", t_slw), S("slw.", t_slw_r), S("srw", t_srw), S("srw.", t_srw_r),
	S("sraw", t_sraw), S("sraw.", t_sraw_r), S("rlwnm", t_rlwnm),
	S("rlwnm.2", t_rlwnm2_r), S("rlwnm3", t_rlwnm3), S("rlwnm.4", t_rlwnm4_r),
	V("srawi0", t_srawi0), V("srawi.1", t_srawi1_r), V("srawi16", t_srawi16),
	V("srawi.31", t_srawi31_r), V("rlwinm0", t_rlwinm0), V("rlwinm.1", t_rlwinm1_r),
	V("rlwinm2", t_rlwinm2), V("rlwinm.3", t_rlwinm3_r), V("rlwinm4", t_rlwinm4),
	V("rlwinm.5", t_rlwinm5_r), V("rlwinm6", t_rlwinm6), V("rlwinm.7", t_rlwinm7_r),
	V("rlwimi0", t_rlwimi0), V("rlwimi.1", t_rlwimi1_r), V("rlwimi2", t_rlwimi2),
	V("rlwimi.3", t_rlwimi3_r), V("rlwimi4", t_rlwimi4), V("rlwimi.5", t_rlwimi5_r),
};
static const u32 xers[] = { 0x00000000, 0xa0000000 };

int main(void)
{
	for (unsigned o = 0; o < N_ELEMS(ops); o++) {
		const u32 *bs = ops[o].shift ? shifts : vals;
		unsigned nb = ops[o].shift ? N_ELEMS(shifts) : N_ELEMS(vals);
		for (unsigned i = 0; i < N_ELEMS(vals); i++)
			for (unsigned j = 0; j < nb; j++)
				for (unsigned k = 0; k < N_ELEMS(xers); k++) {
					u32 r[6] = { vals[i], bs[j], xers[k] };
					ops[o].fn(r[0], r[1], r[2], r + 3);
					put_line(ops[o].name, 6, r);
				}
	}
	return 0;
}
