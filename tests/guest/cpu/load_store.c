/* Every load and store form: D, update, indexed, update-indexed, byte
 * reversed, FP loads/stores (single conversion included), stfiwx.
 * Prints: op offset -> value, (base after update - base before).
 * Stores print the bytes around the target afterwards. */
#include "rt.h"

static u8 buf[256] __attribute__((aligned(32)));

static void fill(void)
{
	for (int i = 0; i < 256; i++)
		buf[i] = (u8)(i * 37 + 0x81);
}

static void dump(const char *name, u32 off, u32 v, u32 delta)
{
	u32 r[6];
	r[0] = off;
	r[1] = v;
	r[2] = delta;
	/* The 12 bytes from off - 4, as three words: stores spill nowhere. */
	for (int i = 0; i < 3; i++) {
		const u8 *p = buf + off - 4 + 4 * i;
		r[3 + i] = (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
	}
	put_line(name, 6, r);
}

/* Load, D form: "op d, 8(b)" with b = buf + off - 8. */
#define LD(fn, op)                                                             \
	static void fn(u32 off)                                                \
	{                                                                      \
		u32 d;                                                         \
		u8 *b = buf + off - 8, *b0 = b;                                \
		asm volatile(op " %0, 8(%1)" : "=&r"(d), "+b"(b) : : "memory");  \
		dump(#fn, off, d, (u32)(b - b0));                               \
	}
#define LDX(fn, op)                                                            \
	static void fn(u32 off)                                                \
	{                                                                      \
		u32 d;                                                         \
		u8 *b = buf, *b0 = b;                                          \
		asm volatile(op " %0, %1, %2" : "=&r"(d), "+b"(b) : "r"(off) : "memory"); \
		dump(#fn, off, d, (u32)(b - b0));                               \
	}
#define ST(fn, op)                                                             \
	static void fn(u32 off)                                                \
	{                                                                      \
		u8 *b = buf + off - 8, *b0 = b;                                \
		fill();                                                        \
		asm volatile(op " %1, 8(%0)" : "+b"(b) : "r"(0xc1c2c3c4) : "memory"); \
		dump(#fn, off, 0, (u32)(b - b0));                               \
	}
#define STX(fn, op)                                                            \
	static void fn(u32 off)                                                \
	{                                                                      \
		u8 *b = buf, *b0 = b;                                          \
		fill();                                                        \
		asm volatile(op " %1, %0, %2" : "+b"(b) : "r"(0xc1c2c3c4), "r"(off) : "memory"); \
		dump(#fn, off, 0, (u32)(b - b0));                               \
	}

LD(lbz, "lbz") LD(lbzu, "lbzu") LD(lhz, "lhz") LD(lhzu, "lhzu")
LD(lha, "lha") LD(lhau, "lhau") LD(lwz, "lwz") LD(lwzu, "lwzu")
LDX(lbzx, "lbzx") LDX(lbzux, "lbzux") LDX(lhzx, "lhzx") LDX(lhzux, "lhzux")
LDX(lhax, "lhax") LDX(lhaux, "lhaux") LDX(lwzx, "lwzx") LDX(lwzux, "lwzux")
LDX(lhbrx, "lhbrx") LDX(lwbrx, "lwbrx")
ST(stb, "stb") ST(stbu, "stbu") ST(sth, "sth") ST(sthu, "sthu")
ST(stw, "stw") ST(stwu, "stwu")
STX(stbx, "stbx") STX(stbux, "stbux") STX(sthx, "sthx") STX(sthux, "sthux")
STX(stwx, "stwx") STX(stwux, "stwux") STX(sthbrx, "sthbrx") STX(stwbrx, "stwbrx")

/* FP loads go through an FPR and come back with stfd (bit-exact). */
#define LDF(fn, op, x)                                                         \
	static void fn(u32 off)                                                \
	{                                                                      \
		u64 d;                                                         \
		u8 *b = x ? buf : buf + off - 8, *b0 = b;                      \
		double f;                                                      \
		if (x)                                                         \
			asm volatile(op " %0, %1, %2" : "=&f"(f), "+b"(b) : "r"(off) : "memory"); \
		else                                                           \
			asm volatile(op " %0, 8(%1)" : "=&f"(f), "+b"(b) : : "memory"); \
		d = f2u(f);                                                    \
		u32 r[2] = { (u32)(d >> 32), (u32)d };                         \
		dump(#fn, off, r[0], (u32)(b - b0));                            \
		put_line(#fn "-lo", 1, r + 1);                                 \
	}
LDF(lfs, "lfs", 0) LDF(lfsu, "lfsu", 0) LDF(lfd, "lfd", 0) LDF(lfdu, "lfdu", 0)
LDF(lfsx, "lfsx", 1) LDF(lfsux, "lfsux", 1) LDF(lfdx, "lfdx", 1) LDF(lfdux, "lfdux", 1)

#define STF(fn, op, x, bits)                                                   \
	static void fn(u32 off)                                                \
	{                                                                      \
		u8 *b = x ? buf : buf + off - 8, *b0 = b;                      \
		double f = u2f(bits);                                          \
		fill();                                                        \
		if (x)                                                         \
			asm volatile(op " %1, %0, %2" : "+b"(b) : "f"(f), "r"(off) : "memory"); \
		else                                                           \
			asm volatile(op " %1, 8(%0)" : "+b"(b) : "f"(f) : "memory"); \
		dump(#fn, off, 0, (u32)(b - b0));                               \
	}
/* Doubles that stfs must round/truncate: 1/3, a denormal single, a NaN, big. */
STF(stfs_third, "stfs", 0, 0x3fd5555555555555ull)
STF(stfs_denorm, "stfs", 0, 0x3690000000000001ull)
STF(stfs_snan, "stfs", 0, 0x7ff4000000000001ull)
STF(stfs_big, "stfs", 0, 0x47f0000000000000ull)
STF(stfsu, "stfsu", 0, 0xc00921fb54442d18ull)
STF(stfsx, "stfsx", 1, 0x3ff0000000000001ull)
STF(stfsux, "stfsux", 1, 0x8000000000000000ull)
STF(stfd, "stfd", 0, 0x0123456789abcdefull)
STF(stfdu, "stfdu", 0, 0xfff8000000000123ull)
STF(stfdx, "stfdx", 1, 0x7ff0000000000000ull)
STF(stfdux, "stfdux", 1, 0x000fffffffffffffull)
STF(stfiwx, "stfiwx", 1, 0x89abcdef01234567ull)

typedef void (*t_fn)(u32);
static const t_fn tests[] = {
	lbz, lbzu, lhz, lhzu, lha, lhau, lwz, lwzu, lbzx, lbzux, lhzx,
	lhzux, lhax, lhaux, lwzx, lwzux, lhbrx, lwbrx, stb, stbu, sth, sthu,
	stw, stwu, stbx, stbux, sthx, sthux, stwx, stwux, sthbrx, stwbrx,
	lfs, lfsu, lfd, lfdu, lfsx, lfsux, lfdx, lfdux, stfs_third,
	stfs_denorm, stfs_snan, stfs_big, stfsu, stfsx, stfsux, stfd, stfdu,
	stfdx, stfdux, stfiwx,
};
/* Aligned, misaligned and word-crossing offsets (user mode allows them). */
static const u32 offs[] = { 16, 17, 18, 19, 20, 30, 31, 33, 63, 64, 100 };

int main(void)
{
	for (unsigned t = 0; t < N_ELEMS(tests); t++)
		for (unsigned o = 0; o < N_ELEMS(offs); o++) {
			fill();
			tests[t](offs[o]);
		}
	return 0;
}
