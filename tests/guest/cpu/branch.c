/* Conditional branches: every meaningful BO (with and without the hint
 * bits) against CR bits and CTR values, for bc, bcl, bclr, bclrl, bcctr
 * and bcctrl. Prints: op cr ctr_in -> taken ctr_out lr_delta
 * lr_delta is LR minus the address after the branch (0 when LR was set
 * by the link form), so the output does not depend on addresses. */
#include "rt.h"

/* bc BO,BI: taken -> t=1. LR after bcl compared to label 3 (after it). */
#define BC(fn, bo, bi, op)                                                     \
	static void fn(u32 cr, u32 ctr, u32 *out)                              \
	{                                                                      \
		u32 t, c, lr, ref;                                             \
		asm volatile("mtcrf 0xff, %4\n\tmtctr %5\n\t"                   \
			     "lis %3, 1f@ha\n\taddi %3, %3, 1f@l\n\tmtlr %3\n\t" \
			     "li %0, 0\n\t"                                    \
			     "lis %3, 3f@ha\n\taddi %3, %3, 3f@l\n\t"           \
			     op " " #bo ", " #bi ", 1f\n"                       \
			     "3:\tb 2f\n"                                      \
			     "1:\tli %0, 1\n"                                  \
			     "2:\tmfctr %1\n\tmflr %2"                          \
			     : "=&r"(t), "=&r"(c), "=&r"(lr), "=&b"(ref)         \
			     : "r"(cr), "r"(ctr)                                \
			     : "ctr", "lr", "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); \
		out[0] = t;                                                    \
		out[1] = c;                                                    \
		out[2] = lr - ref;                                             \
	}
/* bclr/bcctr: the target goes in LR or CTR. */
#define BREG(fn, bo, bi, op, reg)                                              \
	static void fn(u32 cr, u32 ctr, u32 *out)                              \
	{                                                                      \
		u32 t, c, lr, ref;                                             \
		asm volatile("mtcrf 0xff, %4\n\tmtctr %5\n\t"                   \
			     "lis %3, 1f@ha\n\taddi %3, %3, 1f@l\n\tmt" reg " %3\n\t" \
			     "li %0, 0\n\t"                                    \
			     "lis %3, 3f@ha\n\taddi %3, %3, 3f@l\n\t"           \
			     op " " #bo ", " #bi "\n"                           \
			     "3:\tb 2f\n"                                      \
			     "1:\tli %0, 1\n"                                  \
			     "2:\tmfctr %1\n\tmflr %2"                          \
			     : "=&r"(t), "=&r"(c), "=&r"(lr), "=&b"(ref)         \
			     : "r"(cr), "r"(ctr)                                \
			     : "ctr", "lr", "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); \
		out[0] = t;                                                    \
		out[1] = c;                                                    \
		out[2] = lr - ref;                                             \
	}

/* BO values: decrement-and-test forms, condition forms, always, with and
 * without the hint bit (gas rejects the reserved encodings 6, 7, 14, 15). */
#define FOR_BO(X, bi)                                                          \
	X(0, bi) X(1, bi) X(2, bi) X(3, bi) X(4, bi) X(5, bi) X(8, bi) X(9, bi)    \
	X(10, bi) X(11, bi) X(12, bi) X(13, bi) X(16, bi) X(17, bi) X(18, bi)       \
	X(19, bi) X(20, bi)
/* bcctr with BO[2]=0 is an invalid form: only the BO values with bit 2 set. */
#define FOR_BO_CTR(X, bi) X(4, bi) X(5, bi) X(12, bi) X(13, bi) X(20, bi)

#define DEF_BC(bo, bi) BC(bc_##bo##_##bi, bo, bi, "bc") BC(bcl_##bo##_##bi, bo, bi, "bcl")
#define DEF_LR(bo, bi) BREG(bclr_##bo##_##bi, bo, bi, "bclr", "lr") BREG(bclrl_##bo##_##bi, bo, bi, "bclrl", "lr")
#define DEF_CTR(bo, bi) BREG(bcctr_##bo##_##bi, bo, bi, "bcctr", "ctr") BREG(bcctrl_##bo##_##bi, bo, bi, "bcctrl", "ctr")
FOR_BO(DEF_BC, 2) FOR_BO(DEF_BC, 29)
FOR_BO(DEF_LR, 2) FOR_BO(DEF_LR, 29)
FOR_BO_CTR(DEF_CTR, 2) FOR_BO_CTR(DEF_CTR, 29)

struct br {
	const char *name;
	void (*fn)(u32, u32, u32 *);
};
#define E_BC(bo, bi) { "bc " #bo "," #bi, bc_##bo##_##bi }, { "bcl " #bo "," #bi, bcl_##bo##_##bi },
#define E_LR(bo, bi) { "bclr " #bo "," #bi, bclr_##bo##_##bi }, { "bclrl " #bo "," #bi, bclrl_##bo##_##bi },
#define E_CTR(bo, bi) { "bcctr " #bo "," #bi, bcctr_##bo##_##bi }, { "bcctrl " #bo "," #bi, bcctrl_##bo##_##bi },
static const struct br brs[] = {
	FOR_BO(E_BC, 2) FOR_BO(E_BC, 29) FOR_BO(E_LR, 2) FOR_BO(E_LR, 29)
	FOR_BO_CTR(E_CTR, 2) FOR_BO_CTR(E_CTR, 29)
};

static const u32 crs[] = { 0x00000000, 0x20000004, 0xffffffff, 0xdffffffb };
static const u32 ctrs[] = { 0, 1, 2, 0xffffffff, 0x80000000 };

/* A counted loop with bdnz and a call/return pair through bl/blr. */
static u32 __attribute__((noinline)) leaf(u32 x) { return x * 3 + 1; }

int main(void)
{
	for (unsigned b = 0; b < N_ELEMS(brs); b++)
		for (unsigned i = 0; i < N_ELEMS(crs); i++)
			for (unsigned j = 0; j < N_ELEMS(ctrs); j++) {
				u32 r[5] = { crs[i], ctrs[j] };
				brs[b].fn(r[0], r[1], r + 2);
				put_line(brs[b].name, 5, r);
			}
	u32 n = 0, acc = 0;
	asm volatile("li %1, 0\n\tmtctr %2\n1:\taddi %1, %1, 3\n\tbdnz 1b\n\tmfctr %0"
		     : "=r"(n), "=&r"(acc) : "r"(1000) : "ctr");
	u32 r[2] = { n, acc };
	put_line("bdnz-loop", 2, r);
	u32 x = 7;
	for (int i = 0; i < 10; i++)
		x = leaf(x);
	put_line("bl-blr", 1, &x);
	return 0;
}
