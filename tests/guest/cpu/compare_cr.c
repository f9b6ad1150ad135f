/* Compares into every CR field, with XER[SO] copied into CR, and the CR
 * logic instructions, mcrf, mcrxr, mtcrf masks.
 * Prints: op inputs -> cr (xer) */
#include "rt.h"

static const u32 vals[] = {
	0x00000000, 0x00000001, 0x7fffffff, 0x80000000, 0xffffffff,
	0x00007fff, 0xffff8000, 0x00008000, 0x12345678,
};

#define CMP(fn, insn)                                                          \
	static u32 fn(u32 a, u32 b, u32 xer)                                   \
	{                                                                      \
		u32 c;                                                         \
		asm volatile("mtxer %3\n\tmtcrf 0xff, %4\n\t" insn "\n\tmfcr %0" \
			     : "=&r"(c)                                         \
			     : "r"(a), "r"(b), "r"(xer), "r"(0x33333333)         \
			     : "xer", "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); \
		return c;                                                      \
	}
CMP(c_cmpw0, "cmpw 0, %1, %2") CMP(c_cmpw7, "cmpw 7, %1, %2")
CMP(c_cmplw3, "cmplw 3, %1, %2") CMP(c_cmplw0, "cmplw %1, %2")
CMP(c_cmpwi, "cmpwi 1, %1, -1") CMP(c_cmpwi2, "cmpwi 6, %1, 0x7fff")
CMP(c_cmplwi, "cmplwi 2, %1, 0xffff") CMP(c_cmplwi2, "cmplwi 5, %1, 0")

struct cmp {
	const char *name;
	u32 (*fn)(u32, u32, u32);
};
static const struct cmp cmps[] = {
	{ "cmpw0", c_cmpw0 }, { "cmpw7", c_cmpw7 }, { "cmplw3", c_cmplw3 },
	{ "cmplw0", c_cmplw0 }, { "cmpwi", c_cmpwi }, { "cmpwi2", c_cmpwi2 },
	{ "cmplwi", c_cmplwi }, { "cmplwi2", c_cmplwi2 },
};

#define CRL(fn, insn)                                                          \
	static u32 fn(u32 cr)                                                  \
	{                                                                      \
		u32 c;                                                         \
		asm volatile("mtcrf 0xff, %1\n\t" insn "\n\tmfcr %0"            \
			     : "=&r"(c)                                         \
			     : "r"(cr)                                          \
			     : "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); \
		return c;                                                      \
	}
CRL(l_crand, "crand 0, 5, 31") CRL(l_cror, "cror 31, 0, 1")
CRL(l_crxor, "crxor 7, 7, 7") CRL(l_crnand, "crnand 12, 3, 17")
CRL(l_crnor, "crnor 20, 21, 22") CRL(l_creqv, "creqv 6, 6, 6")
CRL(l_crandc, "crandc 1, 2, 30") CRL(l_crorc, "crorc 29, 28, 4")
CRL(l_crset, "crset 15") CRL(l_crclr, "crclr 16")
CRL(l_mcrf, "mcrf 0, 7") CRL(l_mcrf2, "mcrf 5, 2") CRL(l_mcrf3, "mcrf 3, 3")
static const struct {
	const char *name;
	u32 (*fn)(u32);
} crls[] = {
	{ "crand", l_crand }, { "cror", l_cror }, { "crxor", l_crxor },
	{ "crnand", l_crnand }, { "crnor", l_crnor }, { "creqv", l_creqv },
	{ "crandc", l_crandc }, { "crorc", l_crorc }, { "crset", l_crset },
	{ "crclr", l_crclr }, { "mcrf", l_mcrf }, { "mcrf2", l_mcrf2 },
	{ "mcrf3", l_mcrf3 },
};
static const u32 crs[] = {
	0x00000000, 0xffffffff, 0x12345678, 0x87654321, 0xa5a5a5a5,
	0x0f0f0f0f, 0x80000001, 0x7ffffffe,
};

#define MTCRF(fn, mask)                                                        \
	static u32 fn(u32 cr, u32 v)                                           \
	{                                                                      \
		u32 c;                                                         \
		asm volatile("mtcrf 0xff, %1\n\tmtcrf " #mask ", %2\n\tmfcr %0" \
			     : "=&r"(c)                                         \
			     : "r"(cr), "r"(v)                                  \
			     : "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"); \
		return c;                                                      \
	}
MTCRF(m_01, 0x01) MTCRF(m_80, 0x80) MTCRF(m_5a, 0x5a) MTCRF(m_00, 0x00)

static void mcrxr(u32 cr, u32 xer, u32 *out)
{
	u32 c, x;
	asm volatile("mtcrf 0xff, %2\n\tmtxer %3\n\tmcrxr 4\n\tmfcr %0\n\tmfxer %1"
		     : "=&r"(c), "=&r"(x)
		     : "r"(cr), "r"(xer)
		     : "xer", "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7");
	out[0] = c;
	out[1] = x;
}

int main(void)
{
	static const u32 xers[] = { 0, 0x80000000 };
	for (unsigned o = 0; o < N_ELEMS(cmps); o++)
		for (unsigned i = 0; i < N_ELEMS(vals); i++)
			for (unsigned j = 0; j < N_ELEMS(vals); j++)
				for (unsigned k = 0; k < 2; k++) {
					u32 r[4] = { vals[i], vals[j], xers[k] };
					r[3] = cmps[o].fn(r[0], r[1], r[2]);
					put_line(cmps[o].name, 4, r);
				}
	for (unsigned o = 0; o < N_ELEMS(crls); o++)
		for (unsigned i = 0; i < N_ELEMS(crs); i++) {
			u32 r[2] = { crs[i], crls[o].fn(crs[i]) };
			put_line(crls[o].name, 2, r);
		}
	for (unsigned i = 0; i < N_ELEMS(crs); i++)
		for (unsigned j = 0; j < N_ELEMS(crs); j++) {
			u32 r[6] = { crs[i], crs[j], m_01(crs[i], crs[j]),
				     m_80(crs[i], crs[j]), m_5a(crs[i], crs[j]),
				     m_00(crs[i], crs[j]) };
			put_line("mtcrf", 6, r);
		}
	/* Only architected XER bits: QEMU keeps the reserved ones, a 750 does not. */
	static const u32 xin[] = { 0, 0xe0000000, 0xa000007f, 0x40000001, 0x20000010 };
	for (unsigned i = 0; i < N_ELEMS(crs); i++)
		for (unsigned j = 0; j < N_ELEMS(xin); j++) {
			u32 r[4] = { crs[i], xin[j] };
			mcrxr(crs[i], xin[j], r + 2);
			put_line("mcrxr", 4, r);
		}
	return 0;
}
