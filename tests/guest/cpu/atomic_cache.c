/* lwarx/stwcx. (success, failure without a reservation, reservation lost
 * to another stwcx.), dcbz on a 32-byte line from any EA inside it, the
 * cache hints and barriers as no-ops, and mftb going forward. */
#include "rt.h"

static u32 words[4] __attribute__((aligned(16)));
static u8 line[96] __attribute__((aligned(32)));

static u32 stwcx(u32 *p, u32 v)
{
	u32 cr;
	asm volatile("stwcx. %1, 0, %2\n\tmfcr %0" : "=r"(cr) : "r"(v), "r"(p) : "cr0", "memory");
	return cr >> 28;
}

static u32 lwarx(u32 *p)
{
	u32 v;
	asm volatile("lwarx %0, 0, %1" : "=r"(v) : "r"(p) : "memory");
	return v;
}

static void dump_line(const char *name, u32 off)
{
	u32 r[25];
	r[0] = off;
	for (int i = 0; i < 24; i++)
		r[1 + i] = (u32)line[4 * i] << 24 | (u32)line[4 * i + 1] << 16 |
			   (u32)line[4 * i + 2] << 8 | line[4 * i + 3];
	put_line(name, 25, r);
}

int main(void)
{
	u32 r[4];

	/* Clear any reservation first: stwcx. to a scratch word. */
	stwcx(&words[3], 0);

	words[0] = 5;
	r[0] = stwcx(&words[0], 6); /* no reservation: fails, CR0[EQ]=0 */
	r[1] = words[0];
	put_line("stwcx-no-resv", 2, r);

	r[0] = lwarx(&words[0]);
	r[1] = stwcx(&words[0], r[0] + 1); /* succeeds */
	r[2] = words[0];
	r[3] = stwcx(&words[0], 99); /* the reservation was consumed */
	put_line("lwarx-stwcx", 4, r);

	/* An atomic increment loop, the way compilers write it. */
	u32 old, tmp;
	asm volatile("1:\tlwarx %0, 0, %2\n\taddi %1, %0, 10\n\tstwcx. %1, 0, %2\n\tbne- 1b"
		     : "=&r"(old), "=&r"(tmp) : "r"(&words[1]) : "cr0", "memory");
	r[0] = old;
	r[1] = words[1];
	put_line("atomic-add", 2, r);

	/* XER[SO] is copied into CR0 by stwcx. */
	u32 cr;
	lwarx(&words[2]);
	asm volatile("lis 0, 0x8000\n\tmtxer 0\n\tstwcx. %1, 0, %2\n\tmfcr %0\n\tli 0, 0\n\tmtxer 0"
		     : "=r"(cr) : "r"(7), "r"(&words[2]) : "r0", "xer", "cr0", "memory");
	r[0] = cr >> 28;
	r[1] = words[2];
	put_line("stwcx-so", 2, r);

	static const u32 offs[] = { 32, 33, 40, 63, 64 };
	for (unsigned i = 0; i < N_ELEMS(offs); i++) {
		for (int j = 0; j < 96; j++)
			line[j] = (u8)(j + 1);
		asm volatile("dcbz 0, %0" : : "r"(line + offs[i]) : "memory");
		dump_line("dcbz", offs[i]);
	}
	/* dcbz with rA=0 form via rA+rB. */
	for (int j = 0; j < 96; j++)
		line[j] = 0x55;
	asm volatile("dcbz %0, %1" : : "b"(line), "r"(36) : "memory");
	dump_line("dcbz-x", 36);

	/* Hints and barriers change nothing visible. */
	for (int j = 0; j < 96; j++)
		line[j] = (u8)(0x80 | j);
	asm volatile("dcbf 0, %0\n\tdcbst 0, %0\n\tdcbt 0, %0\n\tdcbtst 0, %0\n\t"
		     "icbi 0, %0\n\tsync\n\teieio\n\tisync" : : "r"(line + 8) : "memory");
	dump_line("hints", 0);

	/* mftb: only monotonic, since the two clocks differ. */
	u32 hi1, lo1, hi2, lo2, ok = 1;
	for (int i = 0; i < 100; i++) {
		asm volatile("mftbu %0\n\tmftb %1" : "=r"(hi1), "=r"(lo1));
		for (volatile int k = 0; k < 50; k++)
			;
		asm volatile("mftbu %0\n\tmftb %1" : "=r"(hi2), "=r"(lo2));
		if (hi2 < hi1 || (hi2 == hi1 && lo2 < lo1))
			ok = 0;
	}
	put_line("mftb-monotonic", 1, &ok);
	return 0;
}
