/* Integer arithmetic and logic: every record (.) and overflow (o) form,
 * over edge operands and each interesting incoming XER[SO/OV/CA].
 * Prints: op a b xer_in -> d xer_out cr_out */
#include "rt.h"

static const u32 vals[] = {
	0x00000000, 0x00000001, 0x00000002, 0x7fffffff, 0x80000000,
	0x80000001, 0xffffffff, 0xfffffffe, 0x12345678, 0xedcba987,
	0x0000ffff, 0xffff8000, 0x00010000, 0x40000000,
};
/* SO, OV, CA are XER bits 0, 1, 2 (from the top). */
static const u32 xers[] = { 0x00000000, 0x20000000, 0xe0000000, 0x80000000 };

typedef void (*op2_fn)(u32 a, u32 b, u32 xer, u32 *out);

/* Runs one instruction with XER and CR set up, then reads back d, XER, CR. */
#define OP2(fn, insn)                                                         \
	static void fn(u32 a, u32 b, u32 xer, u32 *out)                       \
	{                                                                      \
		u32 d, x, c;                                                   \
		asm volatile("mtxer %5\n\tmtcrf 0xff, %6\n\t" insn " %0, %3, %4\n\t" \
			     "mfxer %1\n\tmfcr %2"                             \
			     : "=&r"(d), "=&r"(x), "=&r"(c)                     \
			     : "r"(a), "r"(b), "r"(xer), "r"(0x5a5a5a5a)        \
			     : "xer", "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); \
		out[0] = d;                                                    \
		out[1] = x;                                                    \
		out[2] = c;                                                    \
	}
#define OP1(fn, insn)                                                         \
	static void fn(u32 a, u32 b, u32 xer, u32 *out)                       \
	{                                                                      \
		u32 d, x, c;                                                   \
		(void)b;                                                       \
		asm volatile("mtxer %4\n\tmtcrf 0xff, %5\n\t" insn " %0, %3\n\t" \
			     "mfxer %1\n\tmfcr %2"                             \
			     : "=&r"(d), "=&r"(x), "=&r"(c)                     \
			     : "r"(a), "r"(xer), "r"(0x5a5a5a5a)                \
			     : "xer", "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); \
		out[0] = d;                                                    \
		out[1] = x;                                                    \
		out[2] = c;                                                    \
	}
/* Immediate forms: the immediate is part of the mnemonic string. */
#define OPI(fn, insn)                                                         \
	static void fn(u32 a, u32 b, u32 xer, u32 *out)                       \
	{                                                                      \
		u32 d, x, c;                                                   \
		(void)b;                                                       \
		asm volatile("mtxer %4\n\tmtcrf 0xff, %5\n\t" insn "\n\t"       \
			     "mfxer %1\n\tmfcr %2"                             \
			     : "=&b"(d), "=&r"(x), "=&r"(c)                     \
			     : "b"(a), "r"(xer), "r"(0x5a5a5a5a)                \
			     : "xer", "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); \
		out[0] = d;                                                    \
		out[1] = x;                                                    \
		out[2] = c;                                                    \
	}

#define XO4(base)                                      \
	OP2(t_##base, #base)                           \
	OP2(t_##base##_r, #base ".")                   \
	OP2(t_##base##o, #base "o")                    \
	OP2(t_##base##o_r, #base "o.")
#define XO4_1(base)                                    \
	OP1(t_##base, #base)                           \
	OP1(t_##base##_r, #base ".")                   \
	OP1(t_##base##o, #base "o")                    \
	OP1(t_##base##o_r, #base "o.")
#define X2(base)                                       \
	OP2(t_##base, #base)                           \
	OP2(t_##base##_r, #base ".")
#define X1(base)                                       \
	OP1(t_##base, #base)                           \
	OP1(t_##base##_r, #base ".")

XO4(add) XO4(addc) XO4(adde) XO4(subf) XO4(subfc) XO4(subfe)
XO4(mullw) XO4(divw) XO4(divwu)
XO4_1(addme) XO4_1(addze) XO4_1(subfme) XO4_1(subfze) XO4_1(neg)
X2(mulhw) X2(mulhwu)
X2(and) X2(or) X2(xor) X2(nand) X2(nor) X2(eqv) X2(andc) X2(orc)
X1(extsb) X1(extsh) X1(cntlzw)

OPI(t_addi, "addi %0, %3, -32768")
OPI(t_addi2, "addi %0, %3, 0x7fff")
OPI(t_addis, "addis %0, %3, -1")
OPI(t_addis2, "addis %0, %3, 0x7fff")
OPI(t_addic, "addic %0, %3, -1")
OPI(t_addic2, "addic %0, %3, 1")
OPI(t_addic_r, "addic. %0, %3, -32768")
OPI(t_subfic, "subfic %0, %3, 0")
OPI(t_subfic2, "subfic %0, %3, -1")
OPI(t_subfic3, "subfic %0, %3, 0x1234")
OPI(t_mulli, "mulli %0, %3, -7")
OPI(t_mulli2, "mulli %0, %3, 0x7fff")
OPI(t_andi_r, "andi. %0, %3, 0x8001")
OPI(t_andis_r, "andis. %0, %3, 0x8001")
OPI(t_ori, "ori %0, %3, 0x8001")
OPI(t_oris, "oris %0, %3, 0x8001")
OPI(t_xori, "xori %0, %3, 0xffff")
OPI(t_xoris, "xoris %0, %3, 0xffff")

struct op {
	const char *name;
	op2_fn fn;
	int unary;
};

#define E4(base) { #base, t_##base, 0 }, { #base ".", t_##base##_r, 0 }, \
	{ #base "o", t_##base##o, 0 }, { #base "o.", t_##base##o_r, 0 }
#define E4_1(base) { #base, t_##base, 1 }, { #base ".", t_##base##_r, 1 }, \
	{ #base "o", t_##base##o, 1 }, { #base "o.", t_##base##o_r, 1 }
#define E2(base) { #base, t_##base, 0 }, { #base ".", t_##base##_r, 0 }
#define E1(base) { #base, t_##base, 1 }, { #base ".", t_##base##_r, 1 }
#define EI(name) { #name, t_##name, 1 }

static const struct op ops[] = {
	E4(add), E4(addc), E4(adde), E4(subf), E4(subfc), E4(subfe),
	E4(mullw), E4(divw), E4(divwu),
	E4_1(addme), E4_1(addze), E4_1(subfme), E4_1(subfze), E4_1(neg),
	E2(mulhw), E2(mulhwu),
	E2(and), E2(or), E2(xor), E2(nand), E2(nor), E2(eqv), E2(andc), E2(orc),
	E1(extsb), E1(extsh), E1(cntlzw),
	EI(addi), EI(addi2), EI(addis), EI(addis2), EI(addic), EI(addic2),
	EI(addic_r), EI(subfic), EI(subfic2), EI(subfic3), EI(mulli), EI(mulli2),
	EI(andi_r), EI(andis_r), EI(ori), EI(oris), EI(xori), EI(xoris),
};

int main(void)
{
	for (unsigned o = 0; o < N_ELEMS(ops); o++) {
		unsigned nb = ops[o].unary ? 1 : N_ELEMS(vals);
		for (unsigned i = 0; i < N_ELEMS(vals); i++)
			for (unsigned j = 0; j < nb; j++)
				for (unsigned k = 0; k < N_ELEMS(xers); k++) {
					u32 r[7];
					r[0] = vals[i];
					r[1] = ops[o].unary ? 0 : vals[j];
					r[2] = xers[k];
					ops[o].fn(r[0], r[1], r[2], r + 3);
					put_line(ops[o].name, 6, r);
				}
	}
	return 0;
}
