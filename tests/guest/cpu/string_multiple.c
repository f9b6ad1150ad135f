/* lmw/stmw and the string instructions lswi/lswx/stswi/stswx with every
 * byte count 0..32 (lswx/stswx take it from XER[25:31]), including the
 * register wrap from r31 to r0. Prints the registers or memory after. */
#include "rt.h"

static u8 src[64], dst[64];

static void fill(void)
{
	for (int i = 0; i < 64; i++) {
		src[i] = (u8)(0xa0 + i);
		dst[i] = 0xee;
	}
}

static void dump_dst(const char *name, u32 n)
{
	u32 r[11];
	r[0] = n;
	for (int i = 0; i < 10; i++)
		r[1 + i] = (u32)dst[4 * i] << 24 | (u32)dst[4 * i + 1] << 16 |
			   (u32)dst[4 * i + 2] << 8 | dst[4 * i + 3];
	put_line(name, 11, r);
}

/* lswx into r24..r31: 8 registers hold all 32 bytes. Registers past the
 * count keep their value; the last partial register is zero-filled. */
static void t_lswx(u32 n)
{
	u32 out[8];
	u32 *po = out;
	asm volatile(
		"mtxer %2\n\t"
		"li 24, -1\n\tli 25, -1\n\tli 26, -1\n\tli 27, -1\n\t"
		"li 28, -1\n\tli 29, -1\n\tli 30, -1\n\tli 31, -1\n\t"
		"lswx 24, 0, %1\n\t"
		"stw 24, 0(%0)\n\tstw 25, 4(%0)\n\tstw 26, 8(%0)\n\tstw 27, 12(%0)\n\t"
		"stw 28, 16(%0)\n\tstw 29, 20(%0)\n\tstw 30, 24(%0)\n\tstw 31, 28(%0)"
		:
		: "b"(po), "r"(src), "r"(n)
		: "xer", "r24", "r25", "r26", "r27", "r28", "r29", "r30", "r31", "memory");
	u32 r[9];
	r[0] = n;
	for (int i = 0; i < 8; i++)
		r[1 + i] = out[i];
	put_line("lswx", 9, r);
}

static void t_stswx(u32 n)
{
	fill();
	asm volatile(
		"mtxer %1\n\t"
		"lis 24, 0x1112\n\tori 24, 24, 0x1314\n\tlis 25, 0x2122\n\tori 25, 25, 0x2324\n\t"
		"lis 26, 0x3132\n\tori 26, 26, 0x3334\n\tlis 27, 0x4142\n\tori 27, 27, 0x4344\n\t"
		"lis 28, 0x5152\n\tori 28, 28, 0x5354\n\tlis 29, 0x6162\n\tori 29, 29, 0x6364\n\t"
		"lis 30, 0x7172\n\tori 30, 30, 0x7374\n\tlis 31, 0x8182\n\tori 31, 31, 0x8384\n\t"
		"stswx 24, 0, %0"
		:
		: "r"(dst), "r"(n)
		: "xer", "r24", "r25", "r26", "r27", "r28", "r29", "r30", "r31", "memory");
	dump_dst("stswx", n);
}

/* lswi/stswi: NB is an immediate; a few counts, with wrap for lswi 29. */
#define LSWI(fn, nb)                                                           \
	static void fn(void)                                                   \
	{                                                                      \
		u32 out[4];                                                    \
		u32 *po = out;                                                 \
		asm volatile("li 28, -1\n\tli 29, -1\n\tli 30, -1\n\tli 31, -1\n\t" \
			     "lswi 28, %1, " #nb "\n\t"                         \
			     "stw 28, 0(%0)\n\tstw 29, 4(%0)\n\tstw 30, 8(%0)\n\tstw 31, 12(%0)" \
			     :                                                 \
			     : "b"(po), "b"(src)                                \
			     : "r28", "r29", "r30", "r31", "memory");           \
		u32 r[5] = { nb, out[0], out[1], out[2], out[3] };             \
		put_line("lswi", 5, r);                                        \
	}
LSWI(lswi1, 1) LSWI(lswi3, 3) LSWI(lswi4, 4) LSWI(lswi7, 7) LSWI(lswi13, 13) LSWI(lswi16, 16)

#define STSWI(fn, nb)                                                          \
	static void fn(void)                                                   \
	{                                                                      \
		fill();                                                        \
		asm volatile("lis 28, 0x1112\n\tori 28, 28, 0x1314\n\t"         \
			     "lis 29, 0x2122\n\tori 29, 29, 0x2324\n\t"          \
			     "lis 30, 0x3132\n\tori 30, 30, 0x3334\n\t"          \
			     "lis 31, 0x4142\n\tori 31, 31, 0x4344\n\t"          \
			     "stswi 28, %0, " #nb                               \
			     :                                                 \
			     : "b"(dst)                                         \
			     : "r28", "r29", "r30", "r31", "memory");           \
		dump_dst("stswi", nb);                                         \
	}
STSWI(stswi1, 1) STSWI(stswi2, 2) STSWI(stswi5, 5) STSWI(stswi11, 11) STSWI(stswi16, 16)

/* lswi/stswi wrap from r31 to r0: 16 bytes starting at r29. */
static void t_wrap(void)
{
	u32 out[4];
	u32 *po = out;
	asm volatile("lswi 29, %1, 16\n\t"
		     "stw 29, 0(%0)\n\tstw 30, 4(%0)\n\tstw 31, 8(%0)\n\tstw 0, 12(%0)"
		     :
		     : "b"(po), "b"(src)
		     : "r0", "r29", "r30", "r31", "memory");
	put_line("lswi-wrap", 4, out);
	fill();
	asm volatile("lis 29, 0x1112\n\tlis 30, 0x2122\n\tlis 31, 0x3132\n\tlis 0, 0x4142\n\t"
		     "stswi 29, %0, 15"
		     :
		     : "b"(dst)
		     : "r0", "r29", "r30", "r31", "memory");
	dump_dst("stswi-wrap", 15);
}

static void t_lmw_stmw(int misalign)
{
	u32 out[4];
	u8 *s = src + misalign, *d = dst + misalign;
	fill();
	asm volatile("lmw 28, 0(%1)\n\tstmw 28, 4(%2)\n\t"
		     "stw 28, 0(%0)\n\tstw 29, 4(%0)\n\tstw 30, 8(%0)\n\tstw 31, 12(%0)"
		     :
		     : "b"(out), "b"(s), "b"(d)
		     : "r28", "r29", "r30", "r31", "memory");
	put_line("lmw", 4, out);
	dump_dst("stmw", (u32)misalign);
}

int main(void)
{
	fill();
	for (u32 n = 0; n <= 32; n++)
		t_lswx(n);
	for (u32 n = 0; n <= 32; n++)
		t_stswx(n);
	lswi1(); lswi3(); lswi4(); lswi7(); lswi13(); lswi16();
	stswi1(); stswi2(); stswi5(); stswi11(); stswi16();
	t_wrap();
	t_lmw_stmw(0);
	return 0;
}
