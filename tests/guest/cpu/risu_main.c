/* The C half of a RISU sequence: the generated assembly (risu_body) loads
 * every register, runs the random instructions, stores the whole register
 * state on the stack and calls risu_dump, which prints it and exits. */
#include "rt.h"

extern const u32 risu_mem[256];
void risu_body(void) __attribute__((noreturn));

/* The state block the epilogue stores (offsets in words). */
enum { S_GPR = 0, S_CR = 32, S_XER = 33, S_LR = 34, S_CTR = 35, S_FPSCR = 36, S_FPR = 38 };

static void named(const char *prefix, int n, int count, const u32 *vals)
{
	char name[4];
	name[0] = prefix[0];
	name[1] = (char)('0' + n / 10);
	name[2] = (char)('0' + n % 10);
	name[3] = 0;
	put_line(name, count, vals);
}

void risu_dump(const u32 *s)
{
	for (int i = 0; i < 32; i++)
		if (i != 1) /* the stack pointer differs between emulators */
			named("r", i, 1, &s[S_GPR + i]);
	put_line("cr", 1, &s[S_CR]);
	put_line("xer", 1, &s[S_XER]);
	put_line("lr", 1, &s[S_LR]);
	put_line("ctr", 1, &s[S_CTR]);
	put_line("fpscr", 1, &s[S_FPSCR + 1]);
	for (int i = 0; i < 32; i++)
		named("f", i, 2, &s[S_FPR + 2 * i]);
	for (int i = 0; i < 256; i += 8)
		named("m", i / 8, 8, &risu_mem[i]);
	rt_exit(0);
}

int main(void)
{
	risu_body();
}
